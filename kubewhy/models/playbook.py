"""The playbook format (the product's public API): a pydantic schema, then compiled, frozen objects.

See docs/playbooks.md. Nothing past the loader sees raw YAML dicts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .. import kinds
from ..expressions import Expr, Template
from .findings import STAGES

KIND_NAMES = kinds.TARGETS  # what applies_to may name: derived from the one kinds table (kubewhy/kinds.py)
Kind = kinds.AppliesToKind
Stage = Literal["pod", "owner", "node", "network", "control-plane"]
assert set(STAGES) == {"pod", "owner", "node", "network", "control-plane"}

# The format's versions, newest last. A playbook names the one it is written for (``apiVersion:``); the loader
# refuses a missing or unknown one with the file and line (docs/playbooks.md, "Versions").
API_VERSIONS = ("kubewhy.io/v1",)
ApiVersion = Literal["kubewhy.io/v1"]
assert API_VERSIONS == ("kubewhy.io/v1",)

IDENT = r"^[a-z][a-zA-Z0-9_]*$"
RESERVED = {"target", "now", "true", "false", "null", "in", "has", "size", "int", "double", "string"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CheckSpecModel(_Strict):
    id: str = Field(pattern=IDENT, description="name of the fact this check produces, as expressions see it")
    use: str = Field(description="the check to run (a built-in check, see docs/playbooks.md)")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with",
                                  description="the check's parameters: literals or templates")
    needs: list[str] = Field(default_factory=list, description="ids of earlier checks whose facts this one uses")
    timeout: float | None = Field(default=None, gt=0, le=120, description="seconds (default: the check's own)")


class VariableModel(_Strict):
    name: str = Field(pattern=IDENT, description="the variable's name in later expressions")
    expression: str = Field(description="CEL, evaluated after the checks")


class EachEvidenceModel(_Strict):
    each: str = Field(description="CEL giving a list; one evidence line per element")
    as_: str = Field(default="item", alias="as", pattern=IDENT, description="the element's name in `text`")
    text: str = Field(description="template of one evidence line")


class PatchModel(_Strict):
    target: str = Field(description="KIND/NAMESPACE/NAME or KIND/NAME, a template")
    type: Literal["strategic", "merge", "json"] = Field(default="strategic", description="the patch type")
    body: Any = Field(description="the patch; strings may be templates")


class FixModel(_Strict):
    title: str = Field(description="template: what to do, in a few words")
    command: str = Field(description="template: the command that does it")
    risk: Literal["low", "medium", "high"] = Field(description="how risky applying the fix is")
    why: str = Field(default="", description="template: why it fixes the cause")
    does_not_fix: str = Field(default="", description="what this fix leaves broken")
    when: str | None = Field(default=None, description="CEL: offer this fix only when true")
    patch: PatchModel | None = Field(default=None, description="a structured change a bot can dry-run and apply")


class SeverityRuleModel(_Strict):
    when: str = Field(description="CEL over the checks and variables: this rule applies when true")
    severity: Literal["critical", "warning", "info"] = Field(description="the severity when the rule applies")


class PlaybookModel(_Strict):
    api_version: ApiVersion = Field(alias="apiVersion", description="the playbook format's version")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="stable id; a user playbook with a bundled "
                    "playbook's id replaces it")
    title: str = Field(description="the cause, in one line")
    description: str = Field(default="", description="longer explanation for readers of the playbook")
    applies_to: list[Kind] = Field(min_length=1, description="the kinds of object the playbook examines")
    stage: Stage = Field(description="investigation order: pod, owner, node, network, control-plane")
    severity: Literal["critical", "warning", "info"] = Field(description="how bad the cause is")
    severity_if: list[SeverityRuleModel] = Field(
        default_factory=list, description="rules that change the severity of a finding (now versus then): the "
        "first whose `when` is true wins, else `severity`")
    symptom: str = Field(description="CEL over `target`: cheap trigger, no API calls")
    checks: list[CheckSpecModel] = Field(default_factory=list, description="facts to gather, concurrently")
    variables: list[VariableModel] = Field(default_factory=list, description="named CEL expressions, in order")
    when: str = Field(default="true", description="CEL: the cause is proven when true")
    summary: str = Field(description="template: one or two sentences naming the cause")
    evidence: list[str | EachEvidenceModel] = Field(default_factory=list,
                                                          description="templates of lines a human can verify")
    fixes: list[FixModel] = Field(default_factory=list, description="what to do, safest first")
    caused_by: list[str] = Field(default_factory=list, description="playbook ids that, if found too, explain this")
    chart: str | None = Field(default=None, description="id of a prometheus check whose series is worth charting")


# ---- compiled form ------------------------------------------------------------------------------------------

class CheckDefinition(Protocol):
    """What a compiled check needs of its registered definition (kubewhy.checks.registry.CheckDef)."""

    @property
    def name(self) -> str: ...

    @property
    def timeout(self) -> float: ...

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
