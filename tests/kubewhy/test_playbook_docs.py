"""The playbook format's public description stays true: docs/playbooks.md against the registry, the model and
the expression helpers, and docs/playbook.schema.json against the generator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kubewhy.checks import default_registry
from kubewhy.expressions import FUNCTIONS
from kubewhy.models.playbook import API_VERSIONS
from kubewhy.models.playbook_format import PlaybookModel
from kubewhy.playbooks.schema import json_schema, schema_text

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEXT = (DOCS / "playbooks.md").read_text()
_ROW = re.compile(r"^\| `([^`]+)` \|(.*)$", re.MULTILINE)


def section(title: str) -> str:
    start = TEXT.index(f"\n## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end > 0 else None]


def model_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field's documented path: ``checks[].use``, ``fixes[].patch.target``."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        out.add(path)
        for arg in _nested(info.annotation):
            out |= model_fields(arg, path + ("[]." if _is_list(info.annotation) else "."))
    return out


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested(arg)]


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def test_every_check_and_parameter_is_documented_with_its_type_and_nothing_else() -> None:
    text = section("Built-in checks")
    documented = dict(re.findall(r"^### `([^`]+)`\n(.*?)(?=^### |\Z)", text, re.MULTILINE | re.DOTALL))
    registry = default_registry()
    assert sorted(documented) == registry.names()
    for definition in registry:
        rows = {
            name: [cell.strip() for cell in rest.split("|")[:2]]
            for name, rest in _ROW.findall(documented[definition.name])
        }
        declared = {k: [p.type, "yes" if p.required else "no"] for k, p in definition.params.items()}
        assert rows == declared, definition.name


def test_every_model_field_is_documented_and_nothing_else() -> None:
    documented = {name for name, _ in _ROW.findall(section("Fields"))}
    assert documented == model_fields(PlaybookModel)


def test_every_expression_helper_is_documented() -> None:
    text = section("Expressions and templates")
    for name in FUNCTIONS:
        assert f"`{name}(" in text, name


def test_the_published_schema_is_the_generated_one() -> None:
    assert (DOCS / "playbook.schema.json").read_text() == schema_text(), (
        "regenerate: python -c 'from kubewhy.playbooks.schema import schema_text; print(schema_text(), end=\"\")' "
        "> docs/playbook.schema.json"
    )


def test_the_schema_knows_the_version_the_checks_and_their_parameters() -> None:
    schema = json.loads(schema_text())
    assert schema["properties"]["apiVersion"]["const"] == API_VERSIONS[-1]
    assert "apiVersion" in schema["required"]
    check_model = schema["$defs"]["CheckSpecModel"]
    registry = default_registry()
    assert check_model["properties"]["use"]["enum"] == registry.names()
    rules = {r["if"]["properties"]["use"]["const"]: r["then"]["properties"]["with"] for r in check_model["allOf"]}
    assert rules["events"]["required"] == ["of"] and rules["events"]["additionalProperties"] is False
    assert set(rules["logs"]["properties"]) == {"pod", "container", "previous", "tail", "pattern"}
    assert json_schema(registry) == schema


def test_kubewhy_playbooks_schema_prints_the_published_schema(capsys: Any) -> None:
    from kubewhy import cli

    assert cli.main(["playbooks", "schema"], environ={}) == 0
    assert capsys.readouterr().out == (Path(__file__).parents[2] / "docs" / "playbook.schema.json").read_text()
