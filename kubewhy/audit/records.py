"""What the audit log stores, as typed records at the boundary (no SQLAlchemy here).

Every record carries a client-generated idempotency ``key`` (a UUID): the database has a unique constraint on it,
so a write retried after an ambiguous failure, or re-imported from the fallback file, is stored once.
``at`` is when the action happened (not when the row was written: writes are deferred and may be retried).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

if TYPE_CHECKING:
    from ..models.findings import Report

Source = str  # "cli", "slack", "tui", "watcher", ... (free text so new front-ends need no migration)
AlertState = Literal["firing", "resolved"]
FixState = Literal["proposed", "approved", "declined", "applied", "failed"]
FixEventKind = Literal["approved", "declined", "dry_run", "applied", "failed"]
# the order in which a fix proposal's state may move (a late or re-imported event never moves it back)
FIX_STATE_RANK = {"proposed": 0, "approved": 1, "declined": 1, "applied": 2, "failed": 2}
INCIDENT_NAMESPACE = uuid.UUID("5b0e2c1e-7d4f-4c49-9d59-6b1c8a0c3f10")


def utcnow() -> datetime:
    return datetime.now(UTC)


def incident_key(ref: str) -> uuid.UUID:
    """Incidents are named by a human ``ref`` (``INC-42``); their key derives from it, so every writer agrees."""
    return uuid.uuid5(INCIDENT_NAMESPACE, ref)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: uuid.UUID = Field(default_factory=uuid.uuid4)
    at: datetime = Field(default_factory=utcnow)


class IncidentOpened(_Record):
    type: Literal["incident_opened"] = "incident_opened"
    ref: str = Field(min_length=1, max_length=64)
    title: str
    actor: str = ""
    source: Source = "cli"
    summary: str = ""


class IncidentResolved(_Record):
    type: Literal["incident_resolved"] = "incident_resolved"
    ref: str
    actor: str = ""
    summary: str | None = None


class DiagnosisRecord(_Record):
    type: Literal["diagnosis"] = "diagnosis"
    actor: str = ""
    source: Source = "cli"
    channel: str | None = None  # Slack channel, TUI session, watcher name
    target_kind: str
    target_namespace: str | None = None
    target_name: str
    healthy: bool
    finding_ids: list[str] = []
    findings: list[dict[str, Any]] = []
    duration_ms: float = 0.0
    api_requests: int = 0
    incident: str | None = None  # incident ref

    @classmethod
    def from_report(
        cls,
        report: Report,
        *,
        actor: str = "",
        source: Source = "cli",
        channel: str | None = None,
        incident: str | None = None,
        at: datetime | None = None,
    ) -> DiagnosisRecord:
        t = report.target
        return cls(
            actor=actor,
            source=source,
            channel=channel,
            target_kind=t.kind,
            target_namespace=t.namespace,
            target_name=t.name,
            healthy=report.healthy,
            finding_ids=[f.id for f in report.findings],
            findings=[f.to_dict() for f in report.findings],
            duration_ms=round(report.duration_ms, 1),
            api_requests=report.api_requests,
            incident=incident,
            at=at or utcnow(),
        )


class AlertRecord(_Record):
    """A page sent (``firing``) or cleared (``resolved``); rows are per fingerprint, a resolve updates the row."""

    type: Literal["alert"] = "alert"
    rule: str
    fingerprint: str
    state: AlertState = "firing"
    target_kind: str | None = None
    target_namespace: str | None = None
    target_name: str | None = None
    channel: str | None = None
    message_ts: str | None = None  # Slack message timestamp
    message_id: str | None = None  # any other sink's message id
    summary: str = ""
    incident: str | None = None


class FixProposed(_Record):
    type: Literal["fix_proposed"] = "fix_proposed"
    playbook_id: str
    title: str
    command: str = ""
    risk: str = "low"
    patch: dict[str, Any] | None = None
    target_kind: str | None = None
    target_namespace: str | None = None
    target_name: str | None = None
    proposed_by: str = "kubewhy"
    source: Source = "cli"
    channel: str | None = None
    diagnosis_key: uuid.UUID | None = None
    incident: str | None = None


class FixEvent(_Record):
    """What became of a proposal: approved or declined by someone, dry-run, applied or failed."""

    type: Literal["fix_event"] = "fix_event"
    proposal_key: uuid.UUID
    event: FixEventKind
    actor: str = ""
    source: Source = "cli"
    result: dict[str, Any] | None = None


class ActionRecord(_Record):
    """A button clicked or a view opened by a person (Slack "Show logs", TUI "events" ...)."""

    type: Literal["action"] = "action"
    action: str = Field(min_length=1, max_length=64)
    actor: str = ""
    source: Source = "cli"
    channel: str | None = None
    target_kind: str | None = None
    target_namespace: str | None = None
    target_name: str | None = None
    details: dict[str, Any] | None = None
    incident: str | None = None


Record = Annotated[
    IncidentOpened | IncidentResolved | DiagnosisRecord | AlertRecord | FixProposed | FixEvent | ActionRecord,
    Field(discriminator="type"),
]
RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


class AuditRecorder(Protocol):
    """What the core needs from the audit log: a call that returns at once and never raises."""

    def record_diagnosis(
        self,
        report: Report,
        *,
        actor: str = "",
        source: Source = "cli",
        channel: str | None = None,
        incident: str | None = None,
    ) -> uuid.UUID: ...


__all__ = [
    "ActionRecord",
    "AlertRecord",
    "AuditRecorder",
    "DiagnosisRecord",
    "FixEvent",
    "FixProposed",
    "IncidentOpened",
    "IncidentResolved",
    "Record",
    "RECORD_ADAPTER",
    "FIX_STATE_RANK",
    "incident_key",
    "utcnow",
]
