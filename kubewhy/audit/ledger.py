"""The watchers' incident ledger: transactions on ``watch_incidents``, ``watch_mutes`` and ``watch_cursors``.

Unlike the audit writer (queued, deferred, fire-and-forget), every call here is awaited and committed before it
returns, because the watchers decide from it whether to page: a page must go out once, whatever restarts,
crashes or a second replica do. Two guards give that:

- ``open_fingerprint`` is unique, so one incident per (cluster, rule, subject) can be open at a time; the loser
  of a race reads the winner's row;
- :meth:`Ledger.claim_post` is a compare-and-set: only the caller that set ``claimed_by`` posts the message. A
  claim that was already there (this replica's own earlier attempt, or a dead replica's) comes back as
  ``"retry"``: a message may be in the channel already, and the caller must look for it (by the incident's ref,
  which every message carries in its metadata) before posting.

At most ``concurrency`` calls are in a transaction at a time (an :class:`asyncio.Semaphore`, below the engine's
pool size): a storm of hundreds of incidents waits its turn instead of exhausting the pool.

Front-ends see :class:`LedgerIncident` (plain data), never a session.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..errors import AuditStoreError
from ..models.target import Target
from .models import WatchCursor, WatchIncident, WatchMute
from .queries import store_errors

CLAIM_TIMEOUT = timedelta(seconds=60)  # a claim without a posted message after this may be taken over
CONCURRENCY = 4  # ledger transactions at once (SQLAlchemy's default pool: 5 connections, plus the audit writer's)

Claim = Literal["fresh", "retry"]


@dataclass(frozen=True)
class LedgerIncident:
    id: int
    ref: str
    cluster: str
    rule: str
    subject: str
    fingerprint: str
    state: str
    severity: str
    title: str
    channel: str | None
    message_ts: str | None
    claimed_by: str | None
    count: int
    absorbed: int
    parent_id: int | None
    first_seen: datetime
    last_seen: datetime
    notified_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    details: dict[str, Any]

    @property
    def open(self) -> bool:
        return self.state != "resolved"

    def target(self) -> Target | None:
        """What the incident's page diagnosed (``details.target``: kind, namespace, name), or None."""
        raw = (self.details or {}).get("target")
        if not raw or len(raw) != 3:
            return None
        kind, namespace, name = raw
        return Target(kind, name, namespace)


@dataclass(frozen=True)
class Mute:
    id: int
    target: str
    until: datetime
    created_by: str


def _plain(row: WatchIncident) -> LedgerIncident:
    names = {f.name for f in dataclasses.fields(LedgerIncident)}
    values = {n: getattr(row, n) for n in names}
    values["details"] = row.details or {}
    return LedgerIncident(**values)


def _now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The ledger on the audit database's engine (``AuditLog.engine``); the schema is the audit log's
    (``kubewhy db upgrade``, or the writer's migration at start)."""

    def __init__(self, engine: AsyncEngine, url: str, *, concurrency: int = CONCURRENCY):
        self.url = url
        self._maker = async_sessionmaker(engine, expire_on_commit=False)
        self._turns = asyncio.Semaphore(max(1, concurrency))
        self.waiting = 0  # callers waiting for a turn (a storm)

    @asynccontextmanager
    async def _sessions(self) -> AsyncIterator[AsyncSession]:
        """A session, once a turn is free: waiting here, not in the pool, keeps a storm from exhausting it."""
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        try:
            async with self._maker() as session:
                yield session
        finally:
            self._turns.release()

    # ---- incidents ----------------------------------------------------------------------------------------
    async def open_incident(
        self,
        *,
        cluster: str,
        rule: str,
        subject: str,
        severity: str,
        title: str,
        channel: str | None,
        count: int = 1,
        at: datetime | None = None,
        parent_id: int | None = None,
        details: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> tuple[LedgerIncident, bool]:
        """The open incident of (cluster, key, subject), created when there is none; True when created here.
        ``key``: the rule's family (rules sharing one are one incident), by default the rule."""
        at = at or _now()
        fingerprint = f"{cluster}|{key or rule}|{subject}"
        with store_errors(self.url):
            found = await self.find_open(fingerprint)
            if found is not None:
                return found, False
            async with self._sessions() as session:
                row = WatchIncident(
                    ref=f"W-{fingerprint_ref(fingerprint, at)}",
                    cluster=cluster,
                    rule=rule,
                    subject=subject,
                    fingerprint=fingerprint,
                    open_fingerprint=fingerprint,
                    state="open",
                    severity=severity,
                    title=title,
                    channel=channel,
                    count=count,
                    absorbed=0,
                    parent_id=parent_id,
                    first_seen=at,
                    last_seen=at,
                    details=details or {},
                )
                session.add(row)
                try:
                    await session.commit()
                    return _plain(row), True
                except IntegrityError:  # another writer opened it first: theirs is the incident
                    await session.rollback()
            # Read theirs only once this session's turn is given back: a turn held while waiting for another is
            # how rules sharing one incident, opening it at once, deadlocked every turn of the ledger.
            found = await self.find_open(fingerprint)
            if found is None:
                raise AuditStoreError(f"incident {fingerprint} was opened by another writer and is gone again")
            return found, False

    async def find_open(self, fingerprint: str) -> LedgerIncident | None:
        with store_errors(self.url):
            async with self._sessions() as session:
                row = (
                    await session.execute(select(WatchIncident).where(WatchIncident.open_fingerprint == fingerprint))
                ).scalar_one_or_none()
                return None if row is None else _plain(row)

    async def get(self, ident: int | str) -> LedgerIncident | None:
        """By id or ref."""
        with store_errors(self.url):
            async with self._sessions() as session:
                clause = WatchIncident.id == ident if isinstance(ident, int) else WatchIncident.ref == ident
                row = (await session.execute(select(WatchIncident).where(clause))).scalar_one_or_none()
                return None if row is None else _plain(row)

    async def open_incidents(self, cluster: str | None = None) -> list[LedgerIncident]:
        with store_errors(self.url):
            async with self._sessions() as session:
                query = select(WatchIncident).where(WatchIncident.state != "resolved")
                if cluster is not None:
                    query = query.where(WatchIncident.cluster == cluster)
                rows = (await session.execute(query.order_by(WatchIncident.first_seen))).scalars()
                return [_plain(r) for r in rows]

    async def recent(self, cluster: str, since: datetime) -> list[LedgerIncident]:
        """Incidents open, or seen since ``since`` (resolved ones included): the watchers' memory at start."""
        with store_errors(self.url):
            async with self._sessions() as session:
                query = select(WatchIncident).where(
                    WatchIncident.cluster == cluster,
                    or_(WatchIncident.state != "resolved", WatchIncident.last_seen >= since),
                )
                return [_plain(r) for r in (await session.execute(query)).scalars()]

    async def claim_post(
        self, incident_id: int, owner: str, *, at: datetime | None = None, stale_after: timedelta = CLAIM_TIMEOUT
    ) -> Claim | None:
        """Compare-and-set: may ``owner`` post this incident's message? None: no (it is posted, or another replica
        claimed it less than ``stale_after`` ago). ``"fresh"``: nobody claimed it before, nothing can be in the
        channel. ``"retry"``: a claim was there already (``owner``'s own earlier attempt, or a claimer that died
        while posting): its message may be in the channel, look for it before posting."""
        at = at or _now()
        unposted = (WatchIncident.id == incident_id, WatchIncident.message_ts.is_(None))
        with store_errors(self.url):
            async with self._sessions() as session:
                fresh = await session.execute(
                    update(WatchIncident)
                    .where(*unposted, WatchIncident.claimed_by.is_(None))
                    .values(claimed_by=owner, claimed_at=at)
                )
                if getattr(fresh, "rowcount", 0):
                    await session.commit()
                    return "fresh"
                again = await session.execute(
                    update(WatchIncident)
                    .where(
                        *unposted,
                        or_(WatchIncident.claimed_by == owner, WatchIncident.claimed_at < at - stale_after),
                    )
                    .values(claimed_by=owner, claimed_at=at)
                )
                await session.commit()
                return "retry" if getattr(again, "rowcount", 0) else None

    async def change(self, incident_id: int, **values: Any) -> LedgerIncident | None:
        """Set columns (message_ts, count, last_seen, notified_at, absorbed, details, channel ...)."""
        with store_errors(self.url):
            async with self._sessions() as session:
                await session.execute(update(WatchIncident).where(WatchIncident.id == incident_id).values(**values))
                await session.commit()
        return await self.get(incident_id)

    async def absorb(self, incident_id: int) -> LedgerIncident | None:
        """One more incident grouped under this one (an atomic increment: several may arrive at once)."""
        with store_errors(self.url):
            async with self._sessions() as session:
                await session.execute(
                    update(WatchIncident)
                    .where(WatchIncident.id == incident_id)
                    .values(absorbed=WatchIncident.absorbed + 1)
                )
                await session.commit()
        return await self.get(incident_id)

    async def acknowledge(self, incident_id: int, by: str, *, at: datetime | None = None) -> LedgerIncident | None:
        """open → acknowledged (reminders stop); None when it is not open."""
        with store_errors(self.url):
            async with self._sessions() as session:
                result = await session.execute(
                    update(WatchIncident)
                    .where(WatchIncident.id == incident_id, WatchIncident.state == "open")
                    .values(state="acknowledged", acknowledged_by=by, acknowledged_at=at or _now())
                )
                await session.commit()
        return await self.get(incident_id) if getattr(result, "rowcount", 0) else None

    async def resolve(self, incident_id: int, by: str, *, at: datetime | None = None) -> LedgerIncident | None:
        """→ resolved; None when it already was (so a resolve is announced once)."""
        with store_errors(self.url):
            async with self._sessions() as session:
                result = await session.execute(
                    update(WatchIncident)
                    .where(WatchIncident.id == incident_id, WatchIncident.state != "resolved")
                    .values(state="resolved", open_fingerprint=None, resolved_by=by, resolved_at=at or _now())
                )
                await session.commit()
        return await self.get(incident_id) if getattr(result, "rowcount", 0) else None

    # ---- mutes --------------------------------------------------------------------------------------------
    async def mute(self, target: str, until: datetime, by: str) -> Mute:
        with store_errors(self.url):
            async with self._sessions() as session:
                row = WatchMute(target=target, until=until, created_by=by, created_at=_now())
                session.add(row)
                await session.commit()
                return Mute(row.id, row.target, row.until, row.created_by)

    async def unmute(self, target: str) -> int:
        with store_errors(self.url):
            async with self._sessions() as session:
                result = await session.execute(delete(WatchMute).where(WatchMute.target == target))
                await session.commit()
                return int(getattr(result, "rowcount", 0) or 0)

    async def mutes(self, *, at: datetime | None = None) -> list[Mute]:
        """The mutes in force."""
        with store_errors(self.url):
            async with self._sessions() as session:
                rows = (await session.execute(select(WatchMute).where(WatchMute.until > (at or _now())))).scalars()
                return [Mute(r.id, r.target, r.until, r.created_by) for r in rows]

    # ---- cursors ------------------------------------------------------------------------------------------
    async def cursor(self, cluster: str, stream: str) -> str | None:
        with store_errors(self.url):
            async with self._sessions() as session:
                row = await session.get(WatchCursor, (cluster, stream))
                return None if row is None else row.resource_version

    async def save_cursors(self, cluster: str, versions: Sequence[tuple[str, str]]) -> None:
        with store_errors(self.url):
            async with self._sessions() as session:
                for stream, version in versions:
                    row = await session.get(WatchCursor, (cluster, stream))
                    if row is None:
                        session.add(
                            WatchCursor(cluster=cluster, stream=stream, resource_version=version, updated_at=_now())
                        )
                    else:
                        row.resource_version, row.updated_at = version, _now()
                try:
                    await session.commit()
                except IntegrityError:  # another replica saved first; the next save wins
                    await session.rollback()


def fingerprint_ref(fingerprint: str, at: datetime) -> str:
    """A short, human ref for an incident (``W-20261204-1a2b3c``): the day plus a hash of fingerprint and time."""
    import hashlib

    digest = hashlib.sha1(f"{fingerprint}|{at.isoformat()}".encode()).hexdigest()[:6]
    return f"{at:%Y%m%d}-{digest}"


__all__ = ["CLAIM_TIMEOUT", "CONCURRENCY", "Claim", "Ledger", "LedgerIncident", "Mute", "fingerprint_ref"]
