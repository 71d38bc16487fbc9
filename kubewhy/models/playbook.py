"""The playbook format (the product's public API): a pydantic schema, then compiled, frozen objects.

See docs/playbooks.md. Nothing past the loader sees raw YAML dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from .. import kinds
from ..expressions import Expr, Template
from .findings import STAGES

KIND_NAMES = kinds.TARGETS  # what applies_to may name: derived from the one kinds table (kubewhy/kinds.py)
Kind = kinds.AppliesToKind
Stage = Literal["pod", "owner", "node", "network", "control-plane"]
assert set(STAGES) == {"pod", "owner", "node", "network", "control-plane"}

IDENT = r"^[a-z][a-zA-Z0-9_]*$"
RESERVED = {"target", "now", "true", "false", "null", "in", "has", "size", "int", "double", "string"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CheckSpecModel(_Strict):
    id: str = Field(pattern=IDENT, description="name of the fact this check produces")
    use: str = Field(description="built-in check function")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[str] = Field(default_factory=list)
    timeout: float | None = Field(default=None, gt=0, le=120)


class VariableModel(_Strict):
    name: str = Field(pattern=IDENT)
    expression: str


class EachEvidenceModel(_Strict):
    each: str
    as_: str = Field(default="item", alias="as", pattern=IDENT)
    text: str


class PatchModel(_Strict):
    target: str = Field(description="KIND/NAMESPACE/NAME or KIND/NAME, a template")
    type: Literal["strategic", "merge", "json"] = "strategic"
    body: Any


class FixModel(_Strict):
    title: str
    command: str
    risk: Literal["low", "medium", "high"]
    why: str = ""
    does_not_fix: str = ""
    when: str | None = None
    patch: PatchModel | None = None


class PlaybookModel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str = ""
    applies_to: list[Kind] = Field(min_length=1)
    stage: Stage
    severity: Literal["critical", "warning", "info"]
    symptom: str = Field(description="CEL over `target`: cheap trigger, no API calls")
    checks: list[CheckSpecModel] = Field(default_factory=list)
    variables: list[VariableModel] = Field(default_factory=list)
    when: str = "true"
    summary: str
    evidence: list[Union[str, EachEvidenceModel]] = Field(default_factory=list)
    fixes: list[FixModel] = Field(default_factory=list)
    caused_by: list[str] = Field(default_factory=list, description="playbook ids that, if found too, explain this")
    chart: str | None = None


# ---- compiled form ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckSpec:
    id: str
    use: str
    params: dict[str, Any]  # values are literals or Templates
    needs: tuple[str, ...]
    timeout: float | None


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
