"""The playbook format (the product's public API): compiled, frozen objects; the pydantic schema they are
validated with is :mod:`kubewhy.models.playbook_format` (imported only when a playbook file is parsed, not when
the compiled catalog comes from the cache). That module imports this one for the names both use (``IDENT``,
``ApiVersion``, ``Stage``), never the reverse: import the schema's models from it.

See docs/playbooks.md. Nothing past the loader sees raw YAML dicts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .. import kinds
from ..expressions import Expr, Template
from .findings import STAGES

KIND_NAMES = kinds.TARGETS  # what applies_to may name: derived from the one kinds table (kubewhy/kinds.py)
Stage = Literal["pod", "owner", "node", "network", "control-plane"]
assert set(STAGES) == {"pod", "owner", "node", "network", "control-plane"}

# The format's versions, newest last. A playbook names the one it is written for (``apiVersion:``); the loader
# refuses a missing or unknown one with the file and line (docs/playbooks.md, "Versions").
API_VERSIONS = ("kubewhy.io/v1",)
ApiVersion = Literal["kubewhy.io/v1"]
assert API_VERSIONS == ("kubewhy.io/v1",)

IDENT = r"^[a-z][a-zA-Z0-9_]*$"
RESERVED = {"target", "now", "true", "false", "null", "in", "has", "size", "int", "double", "string"}


# ---- compiled form ------------------------------------------------------------------------------------------


class CheckDefinition(Protocol):
    """What a compiled check needs of its registered definition (kubewhy.checks.registry.CheckDef)."""

    @property
    def name(self) -> str: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def fn(self) -> Callable[..., Awaitable[Any]]: ...

    def check_params(self, values: Mapping[str, Any]) -> str | None: ...


@dataclass(frozen=True)
class CheckSpec:
    id: str
    use: str
    params: dict[str, Any]  # values are literals or Templates
    needs: tuple[str, ...]
    timeout: float | None
    definition: CheckDefinition = field(compare=False)  # resolved against the loader's registry


@dataclass(frozen=True)
class EachEvidence:
    each: Expr
    as_: str
    text: Template


@dataclass(frozen=True)
class PatchSpec:
    target: Template
    type: str
    body: Any  # nested structure with Templates at the leaves


@dataclass(frozen=True)
class FixSpec:
    title: Template
    command: Template
    risk: str
    why: Template
    does_not_fix: str
    when: Expr | None
    patch: PatchSpec | None


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    description: str
    applies_to: tuple[str, ...]
    stage: str
    severity: str
    symptom: Expr
    checks: tuple[CheckSpec, ...]
    variables: tuple[tuple[str, Expr], ...]
    when: Expr
    summary: Template
    evidence: tuple[Template | EachEvidence, ...]
    fixes: tuple[FixSpec, ...]
    caused_by: tuple[str, ...]
    chart: str | None
    source: str = field(default="", compare=False)
    severity_if: tuple[tuple[Expr, str], ...] = ()
    settle: float | None = None  # seconds before a fix is verified (None: the deployment's default)


__all__ = [
    "API_VERSIONS",
    "IDENT",
    "KIND_NAMES",
    "RESERVED",
    "CheckDefinition",
    "CheckSpec",
    "EachEvidence",
    "FixSpec",
    "PatchSpec",
    "Playbook",
]
