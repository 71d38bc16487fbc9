"""The playbook format as a JSON Schema, generated from the pydantic model and the check registry.

Published as docs/playbook.schema.json (a test keeps it equal to :func:`schema_text`), so an editor validates a
playbook while it is written: put ``# yaml-language-server: $schema=<path or URL of the file>`` on its first
line. The schema knows each built-in check's parameters; templates (``"{{ ... }}"``) are accepted wherever a
value is, since they are only typed when the playbook loads.
"""

from __future__ import annotations

import json
from typing import Any

from ..checks import default_registry
from ..checks.registry import CheckRegistry
from ..models.playbook_format import PlaybookModel

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TEMPLATE: dict[str, Any] = {"type": "string", "pattern": r"\{\{", "description": "a template: {{ cel }}"}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "object": {"type": "object"},
    "objects": {"type": "array", "items": {"type": "object"}},
    "string": {"type": "string"},
    "regex": {"type": "string", "format": "regex"},
    "kind": {"type": "string"},
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "selector": {"type": ["object", "string"]},
    "number-map": {"type": "object", "additionalProperties": {"anyOf": [{"type": "number"}, _TEMPLATE]}},
}


def _param_schema(ptype: str, doc: str) -> dict[str, Any]:
    base = _PARAM_SCHEMAS[ptype]
    schema: dict[str, Any] = dict(base) if base.get("type") == "string" else {"anyOf": [base, _TEMPLATE]}
    if doc:
        schema["description"] = doc
    return schema


def json_schema(registry: CheckRegistry | None = None) -> dict[str, Any]:
    """The schema of one playbook document (checks and their parameters from ``registry``, default built-ins)."""
    registry = registry if registry is not None else default_registry()
    schema = PlaybookModel.model_json_schema(by_alias=True)
    check_model = schema["$defs"]["CheckSpecModel"]
    check_model["properties"]["use"]["enum"] = registry.names()
    check_model["allOf"] = [
        {
            "if": {"properties": {"use": {"const": d.name}}, "required": ["use"]},
            "then": {
                "properties": {
                    "with": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {k: _param_schema(p.type, p.doc) for k, p in d.params.items()},
                        "required": [k for k, p in d.params.items() if p.required],
                    }
                }
            },
        }
        for d in registry
    ]
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "kubewhy playbook",
        "description": "One playbook: one cause kubewhy can name (docs/playbooks.md).",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text(registry: CheckRegistry | None = None) -> str:
    """The schema as the file docs/playbook.schema.json holds it."""
    return json.dumps(json_schema(registry), indent=2, ensure_ascii=False) + "\n"
