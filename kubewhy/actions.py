"""What front-ends do besides diagnosing, through the core: record a click or a view, a fix proposed and what
became of it, a page sent; and read back the history and post-mortems.

Recording takes the :class:`~kubewhy.service.Deps` built by :mod:`kubewhy.compose`, never blocks and never raises
(it returns the record's key, or None when the audit log is off). The queries take the audit log (``deps.audit``,
or :func:`kubewhy.compose.audit_opened` for a command that needs no cluster) and raise
:class:`~kubewhy.errors.AuditStoreError` on database trouble. No front-end opens a database session itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .errors import AuditStoreError
from .models.target import Target

if TYPE_CHECKING:
    from .audit.records import FixEventKind
    from .audit.store import HistoryEntry
    from .audit.writer import AuditLog
    from .models.findings import Fix
    from .settings import Settings


class Recorder(Protocol):
    """Anything that holds the audit log: the core's Deps, or the application object opened without a cluster."""

    @property
    def audit(self) -> AuditLog | None: ...


def _target_fields(target: Target | None) -> dict[str, Any]:
    if target is None:
        return {}
    return {"target_kind": target.kind, "target_namespace": target.namespace, "target_name": target.name}


def record_action(
    deps: Recorder,
    action: str,
    *,
    actor: str,
    source: str,
    channel: str | None = None,
    target: Target | None = None,
    details: dict[str, Any] | None = None,
    incident: str | None = None,
) -> uuid.UUID | None:
    """A button clicked, a view opened, a page updated, an incident acknowledged or muted (who, where, on what,
    and for which incident, so the post-mortem's timeline has it)."""
    if deps.audit is None:
        return None
    return deps.audit.record_action(
        action,
        actor=actor,
        source=source,
        channel=channel,
        details=details,
        incident=incident,
        **_target_fields(target),
    )


def propose_fix(
    deps: Recorder,
    fix: Fix,
    *,
    playbook_id: str,
    source: str,
    channel: str | None = None,
    proposed_by: str = "kubewhy",
    diagnosis_key: uuid.UUID | None = None,
    incident: str | None = None,
) -> uuid.UUID | None:
    """A fix offered to a person; its key links the later :func:`fix_event` calls."""
    if deps.audit is None:
        return None
    where = (
        {"target_kind": fix.patch.kind, "target_namespace": fix.patch.namespace, "target_name": fix.patch.name}
        if fix.patch
        else {}
    )
    return deps.audit.record_fix_proposed(
        fix,
        playbook_id=playbook_id,
        proposed_by=proposed_by,
        source=source,
        channel=channel,
        diagnosis_key=diagnosis_key,
        incident=incident,
        **where,
    )


def fix_event(
    deps: Recorder,
    proposal_key: uuid.UUID | None,
    event: FixEventKind,
    *,
    actor: str,
    source: str,
    result: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """approved, declined, dry_run, applied or failed (a proposal without a key was never recorded: nothing to do)."""
    if deps.audit is None or proposal_key is None:
        return None
    return deps.audit.record_fix_event(proposal_key, event, actor=actor, source=source, result=result)


def page(
    deps: Recorder,
    *,
    rule: str,
    fingerprint: str,
    state: str = "firing",
    target: Target | None = None,
    channel: str | None = None,
    message_ts: str | None = None,
    message_id: str | None = None,
    summary: str = "",
    incident: str | None = None,
    key: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """A page sent (``firing``) or cleared (``resolved``) by a watcher; one row per fingerprint. ``key``: the
    record's idempotency key (a page recorded twice with one key is one row); a new one by default."""
    if deps.audit is None:
        return None
    return deps.audit.record_alert(
        rule=rule,
        fingerprint=fingerprint,
        state=state,
        channel=channel,
        message_ts=message_ts,
        message_id=message_id,
        summary=summary,
        incident=incident,
        **({"key": key} if key is not None else {}),
        **_target_fields(target),
    )


def open_incident(deps: Recorder, ref: str, title: str, *, actor: str, source: str, summary: str = "") -> None:
    if deps.audit is not None:
        deps.audit.open_incident(ref, title, actor=actor, source=source, summary=summary)


def resolve_incident(deps: Recorder, ref: str, *, actor: str, summary: str | None = None) -> None:
    if deps.audit is not None:
        deps.audit.resolve_incident(ref, actor=actor, summary=summary)


def _audit(audit: AuditLog | None) -> AuditLog:
    if audit is None:
        raise AuditStoreError("the audit log is disabled, so there is nothing recorded to show")
    return audit


async def history(
    audit: AuditLog | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    target_kind: str | None = None,
    target_name: str | None = None,
    target_namespace: str | None = None,
    incident: str | None = None,
    limit: int = 100,
    namespaces: Sequence[str] | None = None,
) -> list[HistoryEntry]:
    """What was asked, found, proposed, applied and paged, newest first (``kubewhy history``, ``/k8s history``,
    post-mortems). A target filter needs at least ``target_name``; kind and namespace narrow it. ``namespaces``:
    only what concerns those namespaces or cluster-scoped objects (a restricted Slack bot's view)."""
    from .audit import queries

    return await queries.history(
        _audit(audit),
        since=since,
        until=until,
        target_kind=target_kind,
        target_name=target_name,
        target_namespace=target_namespace,
        incident=incident,
        limit=limit,
        namespaces=namespaces,
    )


async def postmortem(audit: AuditLog | None, ref: str) -> str | None:
    """A blameless post-mortem draft (Markdown) for the incident ``ref``, or None when there is none."""
    from .audit import queries

    return await queries.postmortem_markdown(_audit(audit), ref)


async def prune(audit: AuditLog | None, older_than: timedelta) -> dict[str, int]:
    from .audit import queries

    return await queries.prune(_audit(audit), older_than)


async def database_schema(settings: Settings, action: str, revision: str = "head") -> str:
    """``kubewhy db upgrade|downgrade|current`` on the settings' database: the line to print."""
    from .audit import queries

    return await queries.schema(settings.audit.url, action, revision)


__all__ = [
    "Recorder",
    "database_schema",
    "fix_event",
    "history",
    "open_incident",
    "page",
    "postmortem",
    "propose_fix",
    "prune",
    "record_action",
    "resolve_incident",
]
