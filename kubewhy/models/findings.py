"""What a diagnosis returns: findings (causes with evidence and fixes), check results, and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from .target import Target

CheckStatus = Literal["ok", "failed", "skipped", "error", "timeout"]
# Why a check ended as it did, as a typed field (never read out of ``detail``'s text):
CheckReason = Literal[
    "no-prometheus",  # skipped: no Prometheus configured
    "no-data",  # skipped: Prometheus has no series for the query
    "skipped",  # skipped for another reason the check gives in ``detail``
    "needs-failed",  # skipped: a check it needs did not run
    "timeout",  # no answer within the deadline
    "bad-parameter",  # a rendered parameter does not have the type the check declares
    "backend-error",  # the cluster or Prometheus answered with an error, or not at all
    "check-error",  # the check itself raised
    "expression-error",  # a template or expression could not be evaluated
    "cause-found",  # <playbook>.when: the cause is proven
    "cause-absent",  # <playbook>.when: the cause is not present
]
CHECK_REASONS: tuple[str, ...] = get_args(CheckReason)
Severity = Literal["critical", "warning", "info"]
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
STAGES = ("pod", "owner", "node", "network", "control-plane")


@dataclass(frozen=True)
class Patch:
    """A structured API change a bot may apply after approval (and dry-run first). ``type="delete"`` deletes the
    object instead (``body``: the DeleteOptions, or None), through the same lifecycle."""

    kind: str
    name: str
    namespace: str | None
    type: Literal["strategic", "merge", "json", "delete"]
    body: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fix:
    title: str
    command: str
    risk: Literal["low", "medium", "high"]
    why: str = ""
    does_not_fix: str = ""
    patch: Patch | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"title": self.title, "command": self.command, "risk": self.risk, "why": self.why}
        if self.does_not_fix:
            d["does_not_fix"] = self.does_not_fix
        if self.patch:
            d["patch"] = self.patch.to_dict()
        return d


@dataclass(frozen=True)
class Finding:
    id: str  # playbook id
    title: str
    severity: Severity
    summary: str
    subject: str  # the object the finding is about, e.g. "pod/q1/app-x" (may differ from the target)
    stage: str
    evidence: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()
    caused_by: tuple[str, ...] = ()  # ids of findings this one is a consequence of
    source: str = ""  # playbook file
    chart: str | None = None  # name of a metric series worth charting

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "summary": self.summary,
            "subject": self.subject,
            "stage": self.stage,
            "evidence": list(self.evidence),
            "fixes": [f.to_dict() for f in self.fixes],
        }
        if self.caused_by:
            d["caused_by"] = list(self.caused_by)
        return d


@dataclass(frozen=True)
class CheckResult:
    id: str  # "<playbook>.<check>" (or the shared fact it produced)
    status: CheckStatus
    duration_ms: float
    detail: str = ""  # for people: what happened, with the endpoint or value involved
    reason: CheckReason | None = None  # for code: why it ended so (None for a plain "ok")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "status": self.status, "duration_ms": round(self.duration_ms, 1)}
        if self.detail:
            d["detail"] = self.detail
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass
class Report:
    target: Target
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    duration_ms: float = 0.0
    api_requests: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. "Prometheus not configured: metric checks skipped"

    @property
    def incomplete(self) -> list[CheckResult]:
        """The checks that could not complete (errors, timeouts): the diagnosis cannot vouch for health then."""
        return [c for c in self.checks if c.status in ("error", "timeout")]

    @property
    def healthy(self) -> bool:
        """Nothing found and every check completed; an incomplete diagnosis never claims health."""
        return not self.findings and not self.incomplete

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "healthy": self.healthy,
            "complete": not self.incomplete,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [c.to_dict() for c in self.checks],
            "duration_ms": round(self.duration_ms, 1),
            "api_requests": self.api_requests,
            "notes": self.notes,
        }
