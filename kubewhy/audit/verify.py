"""The verify-after-fix jobs (``fix_verifications``): a fix applied is checked again after its settle window.

:meth:`VerifyQueue.schedule` is called when a fix is applied; :meth:`VerifyQueue.claim_due` is a compare-and-set,
so with several replicas each job runs once, and a claim older than ``stale_after`` (its replica died) is taken
over; :meth:`VerifyQueue.finish` records the outcome. Without an audit database the queue lives in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from .models import FixVerification
from .queries import store_errors

CLAIM_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True)
class VerifyJob:
    id: int
    proposal_key: uuid.UUID | None
    target: str
    finding_id: str
    actor: str
    channel: str | None
    ts: str | None
    due_at: datetime
    state: str = "pending"
    result: dict[str, Any] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _job(row: FixVerification) -> VerifyJob:
    return VerifyJob(
        row.id,
        row.proposal_key,
        row.target,
        row.finding_id,
        row.actor,
        row.channel,
        row.ts,
        row.due_at,
        row.state,
        row.result,
    )


class VerifyQueue:
    def __init__(self, engine: AsyncEngine | None = None, url: str = ""):
        self.url = url
        self._sessions = async_sessionmaker(engine, expire_on_commit=False) if engine is not None else None
        self._memory: dict[int, tuple[VerifyJob, str | None, datetime | None]] = {}

    async def schedule(
        self,
        *,
        target: str,
        finding_id: str,
        actor: str,
        due_at: datetime,
        proposal_key: uuid.UUID | None = None,
        channel: str | None = None,
        ts: str | None = None,
    ) -> VerifyJob:
        if self._sessions is None:
            job = VerifyJob(len(self._memory) + 1, proposal_key, target, finding_id, actor, channel, ts, due_at)
            self._memory[job.id] = (job, None, None)
            return job
        with store_errors(self.url):
            async with self._sessions() as session:
                row = FixVerification(
                    proposal_key=proposal_key,
                    target=target,
                    finding_id=finding_id,
                    actor=actor,
                    channel=channel,
                    ts=ts,
                    due_at=due_at,
                    state="pending",
                    created_at=_now(),
                )
                session.add(row)
                await session.commit()
                return _job(row)

    async def claim_due(
        self, owner: str, *, at: datetime | None = None, stale_after: timedelta = CLAIM_TIMEOUT, limit: int = 20
    ) -> list[VerifyJob]:
        """The pending jobs due by ``at`` that ``owner`` now holds (nobody else runs them meanwhile)."""
        at = at or _now()
        if self._sessions is None:
            out = []
            for job, by, when in list(self._memory.values()):
                free = by is None or (when is not None and when < at - stale_after)
                if job.state == "pending" and job.due_at <= at and free:
                    self._memory[job.id] = (job, owner, at)
                    out.append(job)
            return out[:limit]
        with store_errors(self.url):
            async with self._sessions() as session:
                due = (
                    await session.execute(
                        select(FixVerification.id)
                        .where(FixVerification.state == "pending", FixVerification.due_at <= at)
                        .order_by(FixVerification.due_at)
                        .limit(limit)
                    )
                ).scalars()
                claimed = []
                for ident in list(due):
                    taken = await session.execute(
                        update(FixVerification)
                        .where(
                            FixVerification.id == ident,
                            FixVerification.state == "pending",
                            or_(
                                FixVerification.claimed_by.is_(None),
                                FixVerification.claimed_at < at - stale_after,
                            ),
                        )
                        .values(claimed_by=owner, claimed_at=at)
                    )
                    if getattr(taken, "rowcount", 0):
                        claimed.append(ident)
                await session.commit()
                rows = (await session.execute(select(FixVerification).where(FixVerification.id.in_(claimed)))).scalars()
                return [_job(r) for r in rows]

    async def finish(self, job_id: int, state: str, result: dict[str, Any]) -> None:
        """``resolved``, ``failing`` or ``error``, with what the check found."""
        if self._sessions is None:
            job, by, when = self._memory[job_id]
            self._memory[job_id] = (
                VerifyJob(**{**job.__dict__, "state": state, "result": result}),
                by,
                when,
            )
            return
        with store_errors(self.url):
            async with self._sessions() as session:
                await session.execute(
                    update(FixVerification).where(FixVerification.id == job_id).values(state=state, result=result)
                )
                await session.commit()

    async def jobs(self) -> list[VerifyJob]:
        """Every job, oldest first (``kubewhy stats``-style summaries, tests)."""
        if self._sessions is None:
            return [j for j, _, _ in self._memory.values()]
        with store_errors(self.url):
            async with self._sessions() as session:
                rows = (await session.execute(select(FixVerification).order_by(FixVerification.id))).scalars()
                return [_job(r) for r in rows]


__all__ = ["CLAIM_TIMEOUT", "VerifyJob", "VerifyQueue"]
