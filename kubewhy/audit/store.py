"""Reads and writes of the audit tables. Every function takes the caller's ``AsyncSession`` (one per task).

Writes are idempotent: inserts skip a row whose ``key`` is already stored, updates only move state forward.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from .models import Action, Alert, Diagnosis, FixEventRow, FixProposal, Incident
from .records import (
    FIX_STATE_RANK,
    ActionRecord,
    AlertRecord,
    DiagnosisRecord,
    FixEvent,
    FixProposed,
    IncidentOpened,
    IncidentResolved,
    Record,
    incident_key,
)

TABLES = {
    "incidents": Incident,
    "diagnoses": Diagnosis,
    "alerts": Alert,
    "fix_proposals": FixProposal,
    "fix_events": FixEventRow,
    "actions": Action,
}


def _insert_ignoring_duplicates(session: AsyncSession, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING (any unique constraint: the key, an incident's ref)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"audit log: unsupported database {name!r} (use SQLite or PostgreSQL)")


async def _insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping duplicates; the number of rows actually inserted."""
    return len(await _insert_keys(session, table, rows))


async def _insert_keys(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert, skipping duplicates; the keys of the rows actually inserted."""
    if not rows:
        return []
    stmt = _insert_ignoring_duplicates(session, table).returning(table.c.key)
    result = await session.execute(stmt, rows)
    return [row[0] for row in result.all()]


async def _incident_ids(session: AsyncSession, refs: set[str], records: Sequence[Record]) -> dict[str, int]:
    """Ids of the referenced incidents; a ref never opened explicitly is opened here (key derived from the ref)."""
    if not refs:
        return {}
    known = dict((await session.execute(select(Incident.ref, Incident.id).where(Incident.ref.in_(refs)))).all())
    missing = refs - known.keys()
    if missing:
        first: dict[str, Any] = {}
        for r in records:
            ref = getattr(r, "incident", None)
            if ref in missing and ref not in first:
                first[ref] = r
        rows = [
            {
                "key": incident_key(ref),
                "ref": ref,
                "title": ref,
                "opened_by": getattr(r, "actor", "") or getattr(r, "proposed_by", ""),
                "source": getattr(r, "source", "cli"),
                "opened_at": r.at,
                "summary": "",
            }
            for ref, r in first.items()
        ]
        await _insert_rows(session, Incident.__table__, rows)  # type: ignore[arg-type]
        known.update((await session.execute(select(Incident.ref, Incident.id).where(Incident.ref.in_(missing)))).all())
    return known


async def write_records(session: AsyncSession, records: Sequence[Record], *, stream: str | None = None) -> int:
    """Write a batch in one transaction (the caller commits); returns how many were new (not duplicates). With a
    ``stream``, the records not chained yet are chained at its head in the same transaction (:mod:`.chain`)."""
    if stream is not None:
        from . import chain

        await chain.append(session, stream, records)
    new = 0
    opened = [r for r in records if isinstance(r, IncidentOpened)]
    new += await _insert_rows(
        session,
        Incident.__table__,  # type: ignore[arg-type]
        [
            {
                "key": r.key,
                "ref": r.ref,
                "title": r.title,
                "opened_by": r.actor,
                "source": r.source,
                "opened_at": r.at,
                "summary": r.summary,
            }
            for r in opened
        ],
    )
    for o in opened:  # opened explicitly after a record named it: the placeholder (title = ref) gets the title
        if o.title != o.ref:
            await session.execute(
                update(Incident)
                .where(Incident.ref == o.ref, Incident.title == o.ref, Incident.key == incident_key(o.ref))
                .values(title=o.title, opened_by=o.actor or Incident.opened_by, summary=o.summary or Incident.summary)
            )
    refs = {ref for r in records if (ref := getattr(r, "incident", None))}
    ids = await _incident_ids(session, refs, records)

    diagnoses = [r for r in records if isinstance(r, DiagnosisRecord)]
    new += await _insert_rows(
        session,
        Diagnosis.__table__,  # type: ignore[arg-type]
        [
            {
                **r.model_dump(exclude={"type", "at", "incident"}),
                "created_at": r.at,
                "incident_id": ids.get(r.incident or ""),
            }
            for r in diagnoses
        ],
    )

    actions = [r for r in records if isinstance(r, ActionRecord)]
    new += await _insert_rows(
        session,
        Action.__table__,  # type: ignore[arg-type]
        [
            {
                **r.model_dump(exclude={"type", "at", "incident"}),
                "created_at": r.at,
                "incident_id": ids.get(r.incident or ""),
            }
            for r in actions
        ],
    )

    proposals = [r for r in records if isinstance(r, FixProposed)]
    inserted = await _insert_keys(
        session,
        FixProposal.__table__,  # type: ignore[arg-type]
        [
            {
                **r.model_dump(exclude={"type", "at", "incident"}),
                "proposed_at": r.at,
                "updated_at": r.at,
                "state": "proposed",
                "incident_id": ids.get(r.incident or ""),
            }
            for r in proposals
        ],
    )
    new += len(inserted)
    await _catch_up_proposals(session, inserted)

    for r in records:  # in order: a resolve may follow its firing in the same batch
        if isinstance(r, AlertRecord):
            new += await _write_alert(session, r, ids.get(r.incident or ""))
        elif isinstance(r, FixEvent):
            new += await _write_fix_event(session, r)
        elif isinstance(r, IncidentResolved):
            await session.execute(
                update(Incident)
                .where(Incident.ref == r.ref, Incident.resolved_at.is_(None))
                .values(
                    resolved_at=r.at, resolved_by=r.actor, **({"summary": r.summary} if r.summary is not None else {})
                )
            )
            new += 1
    return new


async def _write_alert(session: AsyncSession, r: AlertRecord, incident_id: int | None) -> int:
    if r.state == "resolved":
        open_row = (
            await session.execute(
                select(Alert.id)
                .where(Alert.fingerprint == r.fingerprint, Alert.state == "firing", Alert.created_at <= r.at)
                .order_by(Alert.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if open_row is not None:
            await session.execute(
                update(Alert)
                .where(Alert.id == open_row)
                .values(
                    state="resolved",
                    resolved_at=r.at,
                    updated_at=r.at,
                    resolve_key=r.key,
                    message_ts=func.coalesce(Alert.message_ts, r.message_ts),
                )
            )
            return 1
        if (await session.execute(select(Alert.id).where(Alert.resolve_key == r.key))).first():
            return 0  # this resolve was already applied
    row = {
        **r.model_dump(exclude={"type", "at", "incident"}),
        "created_at": r.at,
        "updated_at": r.at,
        "resolved_at": r.at if r.state == "resolved" else None,
        "incident_id": incident_id,
    }
    return await _insert_rows(session, Alert.__table__, [row])  # type: ignore[arg-type]


async def _write_fix_event(session: AsyncSession, r: FixEvent) -> int:
    row = {
        "key": r.key,
        "proposal_key": r.proposal_key,
        "event": r.event,
        "actor": r.actor,
        "source": r.source,
        "result": r.result,
        "created_at": r.at,
    }
    if not await _insert_rows(session, FixEventRow.__table__, [row]):  # type: ignore[arg-type]
        return 0  # already applied once
    proposal = (await session.execute(select(FixProposal).where(FixProposal.key == r.proposal_key))).scalar()
    if proposal is None:
        return 1  # kept; the proposal row is still in a fallback file: its import applies this event
    await _advance(session, proposal, r.event, r.actor, r.result, r.at)
    return 1


async def _advance(
    session: AsyncSession, proposal: FixProposal, event: str, actor: str, result: dict[str, Any] | None, at: datetime
) -> None:
    """Move a proposal's state forward by one event (never back)."""
    values: dict[str, Any] = {"updated_at": max(at, proposal.updated_at) if proposal.updated_at else at}
    if event == "dry_run":
        values["dry_run_result"] = result
    else:
        if FIX_STATE_RANK[event] >= FIX_STATE_RANK[proposal.state]:
            values["state"] = proposal.state = event
        if event == "approved":
            values.update(approved_by=actor, approved_at=at)
        elif event == "declined":
            values.update(declined_by=actor, declined_at=at)
        else:
            values.update(applied_result=result, applied_at=at)
    await session.execute(update(FixProposal).where(FixProposal.id == proposal.id).values(**values))


async def _catch_up_proposals(session: AsyncSession, keys: list[uuid.UUID]) -> None:
    """Proposals written after their events (re-imported from a fallback file): apply those events now, so a
    fix the timeline shows applied is not left "proposed"."""
    if not keys:
        return
    events = (
        (
            await session.execute(
                select(FixEventRow).where(FixEventRow.proposal_key.in_(keys)).order_by(FixEventRow.created_at)
            )
        )
        .scalars()
        .all()
    )
    if not events:
        return
    proposals = {
        p.key: p
        for p in (
            await session.execute(select(FixProposal).where(FixProposal.key.in_({e.proposal_key for e in events})))
        ).scalars()
    }
    for e in events:
        await _advance(session, proposals[e.proposal_key], e.event, e.actor, e.result, e.created_at)


# ---------------------------------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class TargetFilter:
    kind: str | None
    name: str
    namespace: str | None = None


@dataclass
class HistoryEntry:
    at: datetime
    kind: str  # diagnosis | alert | fix | fix_event | incident
    actor: str
    source: str
    target: str
    summary: str
    channel: str | None = None
    incident: str | None = None
    key: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


def target_ref(kind: str | None, namespace: str | None, name: str | None) -> str:
    if not name:
        return ""
    from ..models.target import SHORT

    short = SHORT.get(kind or "", (kind or "").lower())
    return "/".join(p for p in (short, namespace, name) if p)


def _target_clause(model: Any, target: TargetFilter | None) -> list[Any]:
    if target is None:
        return []
    clauses = [model.target_name == target.name]
    if target.kind:
        clauses.append(model.target_kind == target.kind)
    if target.namespace:
        clauses.append(model.target_namespace == target.namespace)
    return clauses


def _namespace_clause(model: Any, namespaces: Sequence[str] | None) -> list[Any]:
    """Rows about one of ``namespaces`` or about a cluster-scoped object (no namespace) and with a target."""
    if namespaces is None:
        return []
    return [
        model.target_name.is_not(None),
        or_(model.target_namespace.is_(None), model.target_namespace.in_(list(namespaces))),
    ]


PAGER = "kubewhy-watch"  # an alert row without an incident: the watchers' (kubewhy.watch.engine.ACTOR)


def _diagnosis_summary(d: Diagnosis) -> str:
    if d.healthy:
        return "healthy: no problems found"
    titles = [
        f"{f.get('title', f.get('id'))}"
        + (" (caused by " + ", ".join(f["caused_by"]) + ")" if f.get("caused_by") else "")
        for f in d.findings
    ]
    return "; ".join(titles)


async def history(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    target: TargetFilter | None = None,
    incident: str | None = None,
    limit: int = 200,
    namespaces: Sequence[str] | None = None,
) -> list[HistoryEntry]:
    """Every recorded action, newest first (what ``kubewhy history``, Slack's ``/k8s history`` and the TUI show)."""
    refs: dict[int, str] = {}
    pagers: dict[int, tuple[str, str]] = {}  # incident id -> who opened it (the watchers, Alertmanager's receiver)
    for iid, ref, opened_by, opened_source in (
        await session.execute(select(Incident.id, Incident.ref, Incident.opened_by, Incident.source))
    ).all():
        refs[iid] = ref
        pagers[iid] = (opened_by, opened_source)
    incident_id = None
    if incident is not None:
        incident_id = next((i for i, r in refs.items() if r == incident), -1)

    def window(col: Any, model: Any) -> list[Any]:
        c = [col >= since] if since else []
        c += [col <= until] if until else []
        if incident_id is not None and hasattr(model, "incident_id"):
            c.append(model.incident_id == incident_id)
        return c

    out: list[HistoryEntry] = []
    diagnoses = await session.execute(
        select(Diagnosis)
        .where(
            *window(Diagnosis.created_at, Diagnosis),
            *_target_clause(Diagnosis, target),
            *_namespace_clause(Diagnosis, namespaces),
        )
        .order_by(Diagnosis.created_at.desc())
        .limit(limit)
    )
    for d in diagnoses.scalars():
        out.append(
            HistoryEntry(
                d.created_at,
                "diagnosis",
                d.actor,
                d.source,
                target_ref(d.target_kind, d.target_namespace, d.target_name),
                _diagnosis_summary(d),
                d.channel,
                refs.get(d.incident_id or 0),
                str(d.key),
                {"finding_ids": d.finding_ids, "duration_ms": d.duration_ms},
            )
        )
    # updated_at >= created_at: an alert that fired before the window but resolved in it is listed
    alerts = await session.execute(
        select(Alert)
        .where(*window(Alert.updated_at, Alert), *_target_clause(Alert, target), *_namespace_clause(Alert, namespaces))
        .order_by(Alert.updated_at.desc())
        .limit(limit)
    )

    def alert_entry(a: Alert, at: datetime, summary: str) -> HistoryEntry:
        return HistoryEntry(
            at,
            "alert",
            # credited to what paged it: the incident's opener (the watchers, or Alertmanager's receiver)
            actor=pagers.get(a.incident_id or 0, (PAGER, "watcher"))[0] or PAGER,
            source=pagers.get(a.incident_id or 0, (PAGER, "watcher"))[1] or "watcher",
            target=target_ref(a.target_kind, a.target_namespace, a.target_name),
            summary=summary,
            channel=a.channel,
            incident=refs.get(a.incident_id or 0),
            key=str(a.key),
            details={"rule": a.rule, "fingerprint": a.fingerprint, "message_ts": a.message_ts},
        )

    for al in alerts.scalars():
        if al.resolved_at is not None and (since is None or al.resolved_at >= since):
            out.append(alert_entry(al, al.resolved_at, f"{al.rule} resolved"))
        if since is None or al.created_at >= since:
            text = f"{al.rule} firing" + (f": {al.summary}" if al.summary else "")
            if al.resolved_at is None or al.resolved_at != al.created_at:
                out.append(alert_entry(al, al.created_at, text))
    proposals = await session.execute(
        select(FixProposal)
        .where(
            *window(FixProposal.proposed_at, FixProposal),
            *_target_clause(FixProposal, target),
            *_namespace_clause(FixProposal, namespaces),
        )
        .order_by(FixProposal.proposed_at.desc())
        .limit(limit)
    )
    for p in proposals.scalars():
        out.append(
            HistoryEntry(
                p.proposed_at,
                "fix",
                p.proposed_by,
                p.source,
                target_ref(p.target_kind, p.target_namespace, p.target_name),
                f"proposed: {p.title} (now {p.state})",
                p.channel,
                refs.get(p.incident_id or 0),
                str(p.key),
                {"playbook_id": p.playbook_id, "command": p.command},
            )
        )
    ev_query = (
        select(FixEventRow, FixProposal)
        .join(FixProposal, FixProposal.key == FixEventRow.proposal_key)
        .where(
            *window(FixEventRow.created_at, FixEventRow),
            *_target_clause(FixProposal, target),
            *_namespace_clause(FixProposal, namespaces),
        )
    )
    if incident_id is not None:
        ev_query = ev_query.where(FixProposal.incident_id == incident_id)
    for e, p in (await session.execute(ev_query.order_by(FixEventRow.created_at.desc()).limit(limit))).all():
        out.append(
            HistoryEntry(
                e.created_at,
                "fix_event",
                e.actor,
                e.source,
                target_ref(p.target_kind, p.target_namespace, p.target_name),
                f"{e.event.replace('_', '-')}: {p.title}",
                p.channel,
                refs.get(p.incident_id or 0),
                str(e.key),
                {"result": e.result},
            )
        )
    actions = await session.execute(
        select(Action)
        .where(
            *window(Action.created_at, Action), *_target_clause(Action, target), *_namespace_clause(Action, namespaces)
        )
        .order_by(Action.created_at.desc())
        .limit(limit)
    )
    for a in actions.scalars():
        said = (a.details or {}).get("summary")
        summary = a.action.replace("_", " ") + (f": {said}" if said else "")
        out.append(
            HistoryEntry(
                a.created_at,
                "action",
                a.actor,
                a.source,
                target_ref(a.target_kind, a.target_namespace, a.target_name),
                summary,
                a.channel,
                refs.get(a.incident_id or 0),
                str(a.key),
                a.details or {},
            )
        )
    if target is None and namespaces is None:  # incidents span namespaces: not for a restricted reader
        inc_query = select(Incident).where(*window(Incident.opened_at, Incident))
        if incident_id is not None:
            inc_query = inc_query.where(Incident.id == incident_id)
        for i in (await session.execute(inc_query)).scalars():
            out.append(
                HistoryEntry(
                    i.opened_at,
                    "incident",
                    i.opened_by,
                    i.source,
                    "",
                    f"{i.ref} opened: {i.title}",
                    None,
                    i.ref,
                    str(i.key),
                )
            )
            if i.resolved_at is not None and (since is None or i.resolved_at >= since):
                out.append(
                    HistoryEntry(
                        i.resolved_at,
                        "incident",
                        i.resolved_by or "",
                        i.source,
                        "",
                        f"{i.ref} resolved",
                        None,
                        i.ref,
                        str(i.key),
                    )
                )
    out.sort(key=lambda h: h.at, reverse=True)
    return out[:limit]


@dataclass
class PostmortemData:
    incident: Incident
    diagnoses: list[Diagnosis]
    alerts: list[Alert]
    fixes: list[FixProposal]
    events: list[FixEventRow]
    timeline: list[HistoryEntry]


async def load_postmortem(session: AsyncSession, ref: str) -> PostmortemData | None:
    query = select(Incident).where(Incident.ref == ref)
    if ref.isdigit():
        query = select(Incident).where(or_(Incident.ref == ref, Incident.id == int(ref)))
    incident = (await session.execute(query.limit(1))).scalar()
    if incident is None:
        return None
    diagnoses = list(
        (
            await session.execute(
                select(Diagnosis).where(Diagnosis.incident_id == incident.id).order_by(Diagnosis.created_at)
            )
        ).scalars()
    )
    alerts = list(
        (
            await session.execute(select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.created_at))
        ).scalars()
    )
    fixes = list(
        (
            await session.execute(
                select(FixProposal).where(FixProposal.incident_id == incident.id).order_by(FixProposal.proposed_at)
            )
        ).scalars()
    )
    events = list(
        (
            await session.execute(
                select(FixEventRow)
                .where(FixEventRow.proposal_key.in_([f.key for f in fixes]))
                .order_by(FixEventRow.created_at)
            )
        ).scalars()
    )
    timeline = await history(session, incident=incident.ref, limit=100_000)
    timeline.sort(key=lambda h: h.at)
    return PostmortemData(incident, diagnoses, alerts, fixes, events, timeline)


async def prune(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    """Delete what is older than ``cutoff``: actions, resolved alerts, finished incidents with nothing left."""
    counts: dict[str, int] = {}
    old_fixes = select(FixProposal.key).where(FixProposal.updated_at < cutoff)
    counts["fix_events"] = (
        await session.execute(
            delete(FixEventRow).where(or_(FixEventRow.proposal_key.in_(old_fixes), FixEventRow.created_at < cutoff))
        )
    ).rowcount  # type: ignore[attr-defined]
    counts["fix_proposals"] = (
        await session.execute(delete(FixProposal).where(FixProposal.updated_at < cutoff))
    ).rowcount  # type: ignore[attr-defined]
    counts["actions"] = (await session.execute(delete(Action).where(Action.created_at < cutoff))).rowcount  # type: ignore[attr-defined]
    counts["diagnoses"] = (await session.execute(delete(Diagnosis).where(Diagnosis.created_at < cutoff))).rowcount  # type: ignore[attr-defined]
    counts["alerts"] = (
        await session.execute(delete(Alert).where(Alert.updated_at < cutoff, Alert.state == "resolved"))
    ).rowcount  # type: ignore
    in_use = (
        select(Diagnosis.incident_id)
        .where(Diagnosis.incident_id.is_not(None))
        .union(
            select(Alert.incident_id).where(Alert.incident_id.is_not(None)),
            select(FixProposal.incident_id).where(FixProposal.incident_id.is_not(None)),
        )
    )
    counts["incidents"] = (
        await session.execute(
            delete(Incident).where(
                Incident.resolved_at.is_not(None), Incident.resolved_at < cutoff, Incident.id.not_in(in_use)
            )
        )
    ).rowcount  # type: ignore[attr-defined]
    return counts


async def count_rows(session: AsyncSession) -> dict[str, int]:
    return {
        name: (await session.execute(select(func.count()).select_from(model))).scalar_one()
        for name, model in TABLES.items()
    }


def key_of(record: Record) -> uuid.UUID:
    return record.key
