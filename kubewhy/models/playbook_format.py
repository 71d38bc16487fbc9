"""The playbook format's schema: pydantic models a parsed playbook file is validated with (see
docs/playbooks.md). Only the loader imports this module, and only when it parses a file; the compiled objects
are in :mod:`kubewhy.models.playbook`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from .. import kinds
from .playbook import IDENT, ApiVersion, Stage


def check_applies_to(kind: str) -> str:
    """A playbook's ``applies_to`` entry, validated against the kinds table (pydantic calls this)."""
    if kind not in kinds.TARGETS:
        raise PydanticCustomError(
            "unknown_kind", f"unknown kind {kind!r} in applies_to; known: {', '.join(kinds.TARGETS)}"
        )
    return kind


# the type of one ``applies_to`` entry; the JSON Schema lists the kinds as an enum
Kind = Annotated[str, AfterValidator(check_applies_to), WithJsonSchema({"type": "string", "enum": list(kinds.TARGETS)})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CheckSpecModel(_Strict):
    id: str = Field(pattern=IDENT, description="name of the fact this check produces, as expressions see it")
    use: str = Field(description="the check to run (a built-in check, see docs/playbooks.md)")
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="the check's parameters: literals or templates"
    )
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
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="stable id; a user playbook with a bundled playbook's id replaces it",
    )
    title: str = Field(description="the cause, in one line")
    description: str = Field(default="", description="longer explanation for readers of the playbook")
    applies_to: list[Kind] = Field(min_length=1, description="the kinds of object the playbook examines")
    stage: Stage = Field(description="investigation order: pod, owner, node, network, control-plane")
    severity: Literal["critical", "warning", "info"] = Field(description="how bad the cause is")
    severity_if: list[SeverityRuleModel] = Field(
        default_factory=list,
        description="rules that change the severity of a finding (now versus then): the "
        "first whose `when` is true wins, else `severity`",
    )
    symptom: str = Field(description="CEL over `target`: cheap trigger, no API calls")
    checks: list[CheckSpecModel] = Field(default_factory=list, description="facts to gather, concurrently")
    variables: list[VariableModel] = Field(default_factory=list, description="named CEL expressions, in order")
    when: str = Field(default="true", description="CEL: the cause is proven when true")
    summary: str = Field(description="template: one or two sentences naming the cause")
    evidence: list[str | EachEvidenceModel] = Field(
        default_factory=list, description="templates of lines a human can verify"
    )
    fixes: list[FixModel] = Field(default_factory=list, description="what to do, safest first")
    caused_by: list[str] = Field(default_factory=list, description="playbook ids that, if found too, explain this")
    chart: str | None = Field(default=None, description="id of a prometheus check whose series is worth charting")
    settle: float | None = Field(
        default=None,
        ge=10,
        le=3600,
        description="seconds after one of this playbook's fixes is applied before the diagnosis runs again to "
        "verify it (default: KUBEWHY_VERIFY_AFTER, 2 minutes)",
    )


__all__ = [
    "CheckSpecModel",
    "EachEvidenceModel",
    "FixModel",
    "Kind",
    "PatchModel",
    "PlaybookModel",
    "VariableModel",
    "check_applies_to",
]
