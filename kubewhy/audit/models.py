"""The audit tables (SQLAlchemy 2 declarative). ``Base.metadata`` is Alembic's ``target_metadata``.

Schema changes go through a new revision in ``migrations/versions`` (``tests/audit/test_migrations.py`` checks
that head matches these models on SQLite and Postgres).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive text; we store and read it back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType, uuid.UUID: Uuid()}


class _Keyed:
    """Every table: surrogate id plus the client-generated idempotency key (unique)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[uuid.UUID] = mapped_column(unique=True)


class Incident(_Keyed, Base):
    __tablename__ = "incidents"

    ref: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")


class Diagnosis(_Keyed, Base):
    __tablename__ = "diagnoses"
    __table_args__ = (Index("ix_diagnoses_target", "target_kind", "target_name"),)

    created_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(200))
    target_kind: Mapped[str] = mapped_column(String(64))
    target_namespace: Mapped[str | None] = mapped_column(String(253))
    target_name: Mapped[str] = mapped_column(String(253))
    healthy: Mapped[bool]
    finding_ids: Mapped[list[Any]]
    findings: Mapped[list[Any]]
    duration_ms: Mapped[float]
    api_requests: Mapped[int] = mapped_column(default=0)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)


class Alert(_Keyed, Base):
    __tablename__ = "alerts"
    __table_args__ = (CheckConstraint("state IN ('firing', 'resolved')", name="state"),)

    rule: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str | None] = mapped_column(String(64))
    target_namespace: Mapped[str | None] = mapped_column(String(253))
    target_name: Mapped[str | None] = mapped_column(String(253))
    channel: Mapped[str | None] = mapped_column(String(200))
    message_ts: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolve_key: Mapped[uuid.UUID | None]  # idempotency key of the record that resolved it
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)


class FixProposal(_Keyed, Base):
    __tablename__ = "fix_proposals"
    __table_args__ = (
        CheckConstraint("state IN ('proposed', 'approved', 'declined', 'applied', 'failed')", name="state"),
    )

    playbook_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    command: Mapped[str] = mapped_column(Text, default="")
    risk: Mapped[str] = mapped_column(String(16))
    patch: Mapped[dict[str, Any] | None]
    target_kind: Mapped[str | None] = mapped_column(String(64))
    target_namespace: Mapped[str | None] = mapped_column(String(253))
    target_name: Mapped[str | None] = mapped_column(String(253))
    diagnosis_key: Mapped[uuid.UUID | None]
    proposed_by: Mapped[str] = mapped_column(String(200))
    proposed_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    declined_by: Mapped[str | None] = mapped_column(String(200))
    declined_at: Mapped[datetime | None]
    dry_run_result: Mapped[dict[str, Any] | None]
    applied_result: Mapped[dict[str, Any] | None]
    applied_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)


class FixEventRow(_Keyed, Base):
    """Append-only log of what happened to a proposal (the proposal row holds the resulting state)."""

    __tablename__ = "fix_events"
    __table_args__ = (
        CheckConstraint("event IN ('approved', 'declined', 'dry_run', 'applied', 'failed')", name="event"),
    )

    proposal_key: Mapped[uuid.UUID] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class Action(_Keyed, Base):
    """Everything else a person does through a front-end: a button clicked, a view opened (who, where, on what)."""

    __tablename__ = "actions"

    created_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(64))
    target_namespace: Mapped[str | None] = mapped_column(String(253))
    target_name: Mapped[str | None] = mapped_column(String(253))
    details: Mapped[dict[str, Any] | None]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)


class WatchIncident(Base):
    """The watchers' incident ledger: one row per incident of (cluster, rule, subject), read and changed in
    transactions (not through the queued writer), so that a page is sent once whatever restarts or replicas do.

    ``open_fingerprint`` holds the fingerprint while the incident is open or acknowledged and NULL once resolved:
    its unique constraint lets at most one incident per fingerprint be open. ``claimed_by`` marks the replica
    that is posting the Slack message (a claim older than a minute without ``message_ts`` may be taken over)."""

    __tablename__ = "watch_incidents"
    __table_args__ = (CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    cluster: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(600))
    fingerprint: Mapped[str] = mapped_column(String(1000), index=True)
    open_fingerprint: Mapped[str | None] = mapped_column(String(1000), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    message_ts: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    count: Mapped[int] = mapped_column(default=1)
    absorbed: Mapped[int] = mapped_column(default=0)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("watch_incidents.id", ondelete="SET NULL"))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    notified_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any] | None]


class WatchMute(Base):
    """``/k8s mute TARGET 2h``: no page for incidents whose subject the target covers, until ``until``."""

    __tablename__ = "watch_mutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(600), index=True)
    until: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class WatchCursor(Base):
    """The last resourceVersion each watch stream reached, so that a restart resumes where it stopped."""

    __tablename__ = "watch_cursors"

    cluster: Mapped[str] = mapped_column(String(200), primary_key=True)
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource_version: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]


class SeenRequest(Base):
    """A signed request a front-end accepted (its signature), kept until ``expires_at``: the same request again is a
    replay, refused after a restart too (kubewhy/audit/trust.py)."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PostedMessage(Base):
    """A message a front-end posted with buttons under it, and what they are about: a click is bound to the message
    it names, never to the channel, target or incident its payload claims (kubewhy/audit/trust.py)."""

    __tablename__ = "posted_messages"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(600))
    incident: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)


class FixVerification(Base):
    """A fix applied, to be checked after its settle window: the diagnosis runs again and says whether the finding
    that proposed it is gone. A job in the database, so whichever replica is alive runs it (a claim older than a
    minute is taken over), and its outcome stays (kubewhy/audit/verify.py)."""

    __tablename__ = "fix_verifications"
    __table_args__ = (CheckConstraint("state IN ('pending', 'resolved', 'failing', 'error')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_key: Mapped[uuid.UUID | None]
    target: Mapped[str] = mapped_column(String(600))
    finding_id: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class ChangeLogEntry(Base):
    """One change the watchers saw (kubewhy/changes/record.py): what changed on which object, when and by whom.
    Never a value: ConfigMap keys carry keyed HMACs, Secrets only key names (kubewhy/audit/changelog.py)."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    subject: Mapped[str] = mapped_column(String(600), index=True)
    summary: Mapped[str] = mapped_column(Text)
    areas: Mapped[list[Any]]
    details: Mapped[list[Any]]
    who: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    digests: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class ChainLink(Base):
    """One audit record in its stream's hash chain (kubewhy/audit/chain.py): the record as written (canonical JSON,
    kept as text so every backend hashes the same bytes), the hash of the link before it and its own hash. A stream
    is one writer identity; ``(stream, seq)`` is unique, so two writers claiming one stream cannot fork it."""

    __tablename__ = "audit_chain"
    __table_args__ = (UniqueConstraint("stream", "seq", name="uq_audit_chain_stream_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int]
    record_key: Mapped[uuid.UUID] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ChainCheckpoint(Base):
    """Where retention cut a stream's chain: the last link deleted (its seq and hash). The first link kept must
    follow it, so a cut is not mistaken for a deleted head of the stream (kubewhy/audit/chain.py)."""

    __tablename__ = "audit_chain_checkpoints"

    stream: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    cut_at: Mapped[datetime]


__all__ = [
    "Action",
    "ChainCheckpoint",
    "ChainLink",
    "Alert",
    "Base",
    "ChangeLogEntry",
    "Diagnosis",
    "FixEventRow",
    "FixVerification",
    "FixProposal",
    "Incident",
    "NAMING_CONVENTION",
    "PostedMessage",
    "SeenRequest",
    "WatchCursor",
    "WatchIncident",
    "WatchMute",
]


class KubeletSample(Base):
    """The kubelet sampler's latest reading of one container (cAdvisor's CFS counters and working set) or one
    volume (the Summary API's bytes), so that any replica can serve a diagnosis from it (kubewhy/audit/samples.py).
    ``at``: when the node was read (epoch seconds); one row per container or claim, replaced at each reading."""

    __tablename__ = "kubelet_samples"

    cluster: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # container, volume
    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)  # the pod, or the claim
    container: Mapped[str] = mapped_column(String(253), primary_key=True)  # "" for a volume
    node: Mapped[str] = mapped_column(String(253), index=True)
    at: Mapped[float]
    periods: Mapped[float | None]
    throttled: Mapped[float | None]
    working_set: Mapped[float | None]
    used: Mapped[float | None]
    capacity: Mapped[float | None]
    available: Mapped[float | None]
    instance: Mapped[str] = mapped_column(String(300))
    # the reading before (same container instance; none across a restart): a rate with no request (migration 0011)
    prev_at: Mapped[float | None]
    prev_periods: Mapped[float | None]
    prev_throttled: Mapped[float | None]
