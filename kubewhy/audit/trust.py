"""What a front-end may believe about a request, kept in the audit database so that a restart forgets nothing:

- **requests already seen** (a replay cache with expiry): a signed request accepted once is refused when it comes
  again, by this process or the next one; rows past their expiry are deleted as new ones arrive;
- **messages the front-end posted** with buttons under them, and what those buttons are about (the target, the
  incident, the workspace): a click names a message, and the message is looked up here, so a payload that names
  another channel, another message or another target is refused instead of acted on.

Without an audit database (``KUBEWHY_NO_AUDIT``) both live in memory, bounded, for the life of the process.
Posted messages older than :data:`MESSAGE_LIFETIME` are deleted as new ones arrive: their buttons are refused
(ask again).

A request's key is claimed with the others asked about meanwhile, in one transaction; a batch another replica
raced is claimed again key by key. A claim is made whether or not its caller still waits: the Slack gate
(bot/gate.py, ``REPLAY_WAIT``) waits a short while, then lets the request go on with the claim carrying on behind.

A posted message is readable by this process as soon as :meth:`TrustStore.remember` is called (memory), and durable
when it returns. The messages remembered at once are written together, in one transaction (a group commit): during
a watchers' storm each commit waits for SQLite's write lock behind the audit writer, and thirty answers waiting for
thirty commits one after the other took seconds. A write that fails raises to its callers (the message stays
known to this process, as without an audit database) and is tried once more with the next batch.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ..errors import AuditStoreError
from .models import PostedMessage, SeenRequest
from .queries import store_errors

K = TypeVar("K")
V = TypeVar("V")
PRUNE_EVERY = 500  # inserts between two deletions of expired rows
MESSAGE_LIFETIME = timedelta(days=90)  # a posted message's buttons work this long (the audit log's retention)


@dataclass(frozen=True)
class Posted:
    """A message the front-end posted: where, in which workspace, about what."""

    channel: str
    ts: str
    team: str | None
    target: str | None
    incident: str | None
    created_at: datetime | None = None


@dataclass(frozen=True)
class _Claim:
    """A request's key asked about by :meth:`TrustStore.first_time`, waiting for its batch."""

    key: str
    at: datetime
    expires: datetime
    answer: asyncio.Future[bool]


def _now() -> datetime:
    return datetime.now(UTC)


def _keep(memory: OrderedDict[K, V], key: K, value: V, size: int) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > size:
        memory.popitem(last=False)


class TrustStore:
    """See the module docstring. ``engine``/``url``: the audit database's (None: memory only)."""

    def __init__(self, engine: AsyncEngine | None = None, url: str = "", *, size: int = 100_000):
        self.url = url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False) if engine is not None else None
        self.size = size
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._posted: OrderedDict[tuple[str, str], Posted] = OrderedDict()
        self._inserts = 0
        self._remembered = 0
        self.commits = 0  # transactions that wrote posted messages
        self._pending: dict[tuple[str, str], Posted] = {}  # remembered, not yet written
        self._failed: OrderedDict[tuple[str, str], Posted] = OrderedDict()  # a failed write's, tried once more
        self._waiting: list[asyncio.Future[None]] = []  # the callers of remember() whose messages are pending
        self._writer: asyncio.Task[None] | None = None
        self._claims: list[_Claim] = []  # replay keys asked about, not yet claimed
        self._claimer: asyncio.Task[None] | None = None

    # ---- replays ---------------------------------------------------------------------------------------------
    async def first_time(self, key: str, ttl: timedelta, *, at: datetime | None = None) -> bool:
        """True the first time ``key`` is seen within ``ttl``; False for a replay (also after a restart)."""
        at = at or _now()
        key = key[:128]
        if self._sessions is None:
            expiry = self._seen.get(key)
            if expiry is not None and expiry > at:
                return False
            _keep(self._seen, key, at + ttl, self.size)
            return True
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._claims.append(_Claim(key, at, at + ttl, answer))
        if self._claimer is None or self._claimer.done() or self._claimer.get_loop() is not loop:
            self._claimer = asyncio.create_task(self._claim_pending(), name="kubewhy-replay-cache")
        return await answer

    async def _claim_pending(self) -> None:
        """Claim the keys asked about, one transaction per batch, until none is left (see the module docstring)."""
        while self._claims:
            batch, self._claims = self._claims, []
            try:
                firsts = await self._claim(batch)
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch, not lost in this task
                for claim in batch:
                    if not claim.answer.done():
                        claim.answer.set_exception(type(exc)(str(exc)) if isinstance(exc, AuditStoreError) else exc)
                continue
            except BaseException:
                for claim in batch:
                    claim.answer.cancel()
                raise
            for claim, first in zip(batch, firsts, strict=True):
                if not claim.answer.done():
                    claim.answer.set_result(first)
            before, self._inserts = self._inserts, self._inserts + sum(firsts)
            if before // PRUNE_EVERY != self._inserts // PRUNE_EVERY:
                try:
                    await self.prune(at=batch[-1].at)
                except AuditStoreError:
                    pass  # housekeeping: the next prune deletes the same rows

    async def _claim(self, batch: list[_Claim]) -> list[bool]:
        with store_errors(self.url):
            try:
                return await self._claim_together(batch)
            except IntegrityError:  # another replica took one of them meanwhile: each on its own
                if len(batch) == 1:
                    return [False]
            firsts = []
            for claim in batch:
                try:
                    firsts.append((await self._claim_together([claim]))[0])
                except IntegrityError:
                    firsts.append(False)
            return firsts

    async def _claim_together(self, batch: list[_Claim]) -> list[bool]:
        """For each claim, whether its key is seen for the first time (in this batch too); the firsts stored."""
        assert self._sessions is not None
        async with self._sessions() as session:
            keys = {claim.key for claim in batch}
            found = await session.execute(select(SeenRequest).where(SeenRequest.key.in_(keys)))
            rows = {row.key: row for row in found.scalars()}
            firsts: list[bool] = []
            taken: set[str] = set()
            for claim in batch:
                row = rows.get(claim.key)
                first = claim.key not in taken and (row is None or row.expires_at <= claim.at)
                firsts.append(first)
                if first:
                    taken.add(claim.key)
                    if row is not None:  # expired: the key is a new request's
                        await session.delete(row)
            if taken:
                await session.flush()  # the expired rows gone before their keys are taken again
                session.add_all(
                    SeenRequest(key=c.key, expires_at=c.expires) for c, f in zip(batch, firsts, strict=True) if f
                )
                await session.commit()
        return firsts

    async def prune(self, *, at: datetime | None = None) -> None:
        """Delete replay keys past their expiry, and posted messages older than :data:`MESSAGE_LIFETIME` (their
        buttons are refused from then on: ask again)."""
        if self._sessions is None:
            return
        at = at or _now()
        with store_errors(self.url):
            async with self._sessions() as session:
                await session.execute(delete(SeenRequest).where(SeenRequest.expires_at <= at))
                await session.execute(delete(PostedMessage).where(PostedMessage.created_at < at - MESSAGE_LIFETIME))
                await session.commit()
        for key in [
            k for k, p in self._posted.items() if p.created_at is not None and p.created_at < at - MESSAGE_LIFETIME
        ]:
            del self._posted[key]

    # ---- posted messages -------------------------------------------------------------------------------------
    async def remember(
        self, channel: str, ts: str, *, team: str | None, target: str | None, incident: str | None = None
    ) -> None:
        """The front-end posted (or updated) message ``ts`` in ``channel`` with buttons about ``target``: known to
        this process at once, durable when this returns (written with the others remembered meanwhile). Raises
        :class:`~kubewhy.errors.AuditStoreError` when the write fails; the message stays known to this process."""
        posted = Posted(channel, ts, team, target, incident, _now())
        _keep(self._posted, (channel, ts), posted, self.size)
        if self._sessions is None:
            return
        self._pending[(channel, ts)] = posted
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._waiting.append(written)
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = asyncio.create_task(self._write_pending(), name="kubewhy-trust-writer")
        await written

    async def _write_pending(self) -> None:
        """Write what was remembered, one transaction per batch, until nothing is left (see the module docstring)."""
        while self._pending:
            batch, self._pending = {**self._failed, **self._pending}, {}
            waiting, self._waiting = self._waiting, []
            retried, self._failed = self._failed, OrderedDict()
            try:
                await self._write(batch)
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch, not lost in this task
                for key, posted in batch.items():
                    if key not in retried and key not in self._pending:
                        _keep(self._failed, key, posted, self.size)  # once more, with the next batch
                for waiter in waiting:
                    if not waiter.done():
                        waiter.set_exception(type(exc)(str(exc)) if isinstance(exc, AuditStoreError) else exc)
                continue
            except BaseException:
                for waiter in waiting:
                    waiter.cancel()
                raise
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)
            before, self._remembered = self._remembered, self._remembered + len(batch)
            if before // PRUNE_EVERY != self._remembered // PRUNE_EVERY:
                try:
                    await self.prune()
                except AuditStoreError:
                    pass  # pruning is housekeeping: the next one deletes the same rows

    async def _write(self, batch: dict[tuple[str, str], Posted]) -> None:
        assert self._sessions is not None
        with store_errors(self.url):
            async with self._sessions() as session:
                for (channel, ts), posted in batch.items():
                    row = await session.get(PostedMessage, (channel, ts))
                    if row is None:
                        session.add(
                            PostedMessage(
                                channel=channel,
                                ts=ts,
                                team=posted.team,
                                target=posted.target,
                                incident=posted.incident,
                                created_at=posted.created_at or _now(),
                            )
                        )
                    else:
                        row.team, row.target, row.incident = posted.team, posted.target, posted.incident
                await session.commit()
        self.commits += 1

    async def posted(self, channel: str, ts: str) -> Posted | None:
        """The message the front-end posted at (``channel``, ``ts``), or None: it did not post it."""
        if not channel or not ts:
            return None
        found = self._posted.get((channel, ts))
        if found is not None or self._sessions is None:
            return found
        with store_errors(self.url):
            async with self._sessions() as session:
                row = (
                    await session.execute(
                        select(PostedMessage).where(PostedMessage.channel == channel, PostedMessage.ts == ts)
                    )
                ).scalar_one_or_none()
        if row is None:
            return None
        found = Posted(row.channel, row.ts, row.team, row.target, row.incident, row.created_at)
        _keep(self._posted, (channel, ts), found, self.size)
        return found


__all__ = ["Posted", "TrustStore"]
