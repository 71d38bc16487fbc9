"""The change log (``change_log``): what the watchers saw change, kept with the audit log's retention.

Rows are the JSON form of :class:`kubewhy.changes.model.Change` (its ``to_dict``: the audit layer sits below
``kubewhy.changes``). Nothing here holds a value: ConfigMap keys come as keyed HMACs, Secrets as key names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .models import ChangeLogEntry
from .queries import store_errors

Row = dict[str, Any]


def _at(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _row(entry: ChangeLogEntry) -> Row:
    return {
        "at": entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": entry.subject,
        "summary": entry.summary,
        "areas": list(entry.areas),
        "details": list(entry.details),
        "who": entry.who,
        "operation": entry.operation,
        "cause": entry.cause,
        "source": entry.source,
        **({"digests": dict(entry.digests)} if entry.digests else {}),
    }


async def prune_rows(session: AsyncSession, cutoff: datetime) -> int:
    """Delete the changes seen before ``cutoff`` in ``session`` (the audit retention job's transaction)."""
    result = await session.execute(delete(ChangeLogEntry).where(ChangeLogEntry.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


class ChangeLog:
    def __init__(self, engine: AsyncEngine, url: str = ""):
        self.url = url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add(self, changes: Iterable[Row]) -> int:
        """Record changes (``Change.to_dict()`` rows); returns how many."""
        now = datetime.now(UTC)
        rows = [
            ChangeLogEntry(
                at=_at(c["at"]),
                subject=str(c["subject"])[:600],
                summary=str(c.get("summary", "")),
                areas=list(c.get("areas") or []),
                details=list(c.get("details") or []),
                who=str(c.get("who", ""))[:200],
                operation=str(c.get("operation", ""))[:32],
                cause=str(c.get("cause", "")),
                source=str(c.get("source", ""))[:32],
                digests=dict(c["digests"]) if c.get("digests") else None,
                created_at=now,
            )
            for c in changes
        ]
        if not rows:
            return 0
        with store_errors(self.url):
            async with self._sessions() as session:
                session.add_all(rows)
                await session.commit()
        return len(rows)

    async def between(self, subjects: Iterable[str], since: datetime, until: datetime) -> list[Row]:
        """The changes to ``subjects`` (``deploy/ns/name``) seen between ``since`` and ``until``, oldest first."""
        wanted = list(dict.fromkeys(subjects))
        if not wanted:
            return []
        with store_errors(self.url):
            async with self._sessions() as session:
                found = await session.execute(
                    select(ChangeLogEntry)
                    .where(
                        ChangeLogEntry.subject.in_(wanted),
                        ChangeLogEntry.at >= since,
                        ChangeLogEntry.at <= until,
                    )
                    .order_by(ChangeLogEntry.at, ChangeLogEntry.id)
                )
                return [_row(e) for e in found.scalars()]

    async def prune(self, max_age: timedelta, *, now: datetime | None = None) -> int:
        """Delete the changes older than ``max_age``; returns how many."""
        cutoff = (now or datetime.now(UTC)) - max_age
        with store_errors(self.url):
            async with self._sessions() as session:
                count = await prune_rows(session, cutoff)
                await session.commit()
                return count
