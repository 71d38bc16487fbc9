"""``kubewhy stats``: what became of the fixes kubewhy proposed, per playbook and over time, and the pages it sent.

Read from the audit database: ``fix_proposals`` (proposed, approved or declined by whom and when, applied,
failed), ``fix_events`` (who applied), ``fix_verifications`` (resolved or still failing after the settle window),
``alerts`` and the watchers' ``watch_incidents`` (pages, acknowledgements, time to acknowledge).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

Bucket = Literal["day", "week", "month"]


def bucket_of(when: datetime, bucket: Bucket) -> str:
    """The period ``when`` falls in: ``2026-12-07``, ``2026-W50`` or ``2026-12``."""
    if bucket == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return f"{when.year}-{when.month:02d}"
    return when.date().isoformat()


def _median_seconds(spans: list[timedelta]) -> float | None:
    return round(statistics.median(s.total_seconds() for s in spans), 1) if spans else None


def _rate(resolved: int, failing: int) -> float | None:
    return round(resolved / (resolved + failing), 3) if resolved + failing else None


@dataclass
class FixCounts:
    """Fixes of one playbook (or one playbook in one period)."""

    proposed: int = 0
    approved: int = 0
    declined: int = 0
    applied: int = 0
    failed: int = 0
    resolved: int = 0  # verified after the settle window: the finding is gone
    still_failing: int = 0
    verify_errors: int = 0
    approvers: Counter[str] = field(default_factory=Counter)
    appliers: Counter[str] = field(default_factory=Counter)
    to_approve: list[timedelta] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Resolved over verified (resolved + still failing); None before any verification."""
        return _rate(self.resolved, self.still_failing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposed": self.proposed,
            "approved": self.approved,
            "declined": self.declined,
            "applied": self.applied,
            "failed": self.failed,
            "verified": {"resolved": self.resolved, "still_failing": self.still_failing, "error": self.verify_errors},
            "success_rate": self.success_rate,
            "approved_by": dict(self.approvers.most_common()),
            "applied_by": dict(self.appliers.most_common()),
            "median_seconds_to_approve": _median_seconds(self.to_approve),
        }


@dataclass
class PageCounts:
    alerts_fired: int = 0
    alerts_resolved: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    incidents_paged: int = 0
    acknowledged: int = 0
    resolved: int = 0
    acknowledged_by: Counter[str] = field(default_factory=Counter)
    to_acknowledge: list[timedelta] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alerts_fired": self.alerts_fired,
            "alerts_resolved": self.alerts_resolved,
            "by_rule": dict(self.by_rule.most_common()),
            "incidents_paged": self.incidents_paged,
            "acknowledged": self.acknowledged,
            "resolved": self.resolved,
            "acknowledged_by": dict(self.acknowledged_by.most_common()),
            "median_seconds_to_acknowledge": _median_seconds(self.to_acknowledge),
        }


@dataclass
class AuditStats:
    since: datetime | None
    until: datetime | None
    bucket: Bucket
    total: FixCounts = field(default_factory=FixCounts)
    playbooks: dict[str, FixCounts] = field(default_factory=dict)
    periods: dict[str, dict[str, FixCounts]] = field(default_factory=dict)  # period → playbook → counts
    pages: PageCounts = field(default_factory=PageCounts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "bucket": self.bucket,
            "fixes": self.total.to_dict(),
            "playbooks": {p: c.to_dict() for p, c in sorted(self.playbooks.items())},
            "over_time": {
                period: {p: c.to_dict() for p, c in sorted(by.items())} for period, by in sorted(self.periods.items())
            },
            "pages": self.pages.to_dict(),
        }


def _window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    return [c for c in (column >= since if since else None, column < until if until else None) if c is not None]


async def compute(
    engine: AsyncEngine, *, since: datetime | None = None, until: datetime | None = None, bucket: Bucket = "week"
) -> AuditStats:
    """Fixes proposed in [since, until) and what became of them; pages sent in the same window."""
    from sqlalchemy import select

    from . import db
    from .models import Alert, FixEventRow, FixProposal, FixVerification, WatchIncident

    out = AuditStats(since, until, bucket)
    async with db.make_sessionmaker(engine)() as session:
        proposals = list(
            (await session.execute(select(FixProposal).where(*_window(FixProposal.proposed_at, since, until))))
            .scalars()
            .all()
        )
        keys = [p.key for p in proposals]
        verdicts: dict[Any, list[str]] = {}
        appliers: dict[Any, list[str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for key, state in await session.execute(
                select(FixVerification.proposal_key, FixVerification.state).where(
                    FixVerification.proposal_key.in_(chunk)
                )
            ):
                verdicts.setdefault(key, []).append(state)
            for key, actor in await session.execute(
                select(FixEventRow.proposal_key, FixEventRow.actor).where(
                    FixEventRow.proposal_key.in_(chunk), FixEventRow.event == "applied"
                )
            ):
                appliers.setdefault(key, []).append(actor)
        alerts = (await session.execute(select(Alert).where(*_window(Alert.created_at, since, until)))).scalars()
        incidents = (
            await session.execute(
                select(WatchIncident).where(
                    WatchIncident.notified_at.is_not(None), *_window(WatchIncident.notified_at, since, until)
                )
            )
        ).scalars()
        for p in proposals:
            period = out.periods.setdefault(bucket_of(p.proposed_at, bucket), {})
            for counts in (
                out.total,
                out.playbooks.setdefault(p.playbook_id, FixCounts()),
                period.setdefault(p.playbook_id, FixCounts()),
            ):
                _count_fix(counts, p, verdicts.get(p.key, []), appliers.get(p.key, []))
        for a in alerts:
            out.pages.alerts_fired += 1
            out.pages.alerts_resolved += a.state == "resolved"
            out.pages.by_rule[a.rule] += 1
        for i in incidents:
            out.pages.incidents_paged += 1
            out.pages.resolved += i.state == "resolved"
            if i.acknowledged_at is not None and i.notified_at is not None:
                out.pages.acknowledged += 1
                out.pages.acknowledged_by[i.acknowledged_by or "?"] += 1
                out.pages.to_acknowledge.append(i.acknowledged_at - i.notified_at)
    return out


def _count_fix(counts: FixCounts, p: Any, verdicts: list[str], appliers: list[str]) -> None:
    counts.proposed += 1
    if p.approved_by:
        counts.approved += 1
        counts.approvers[p.approved_by] += 1
        if p.approved_at is not None:
            counts.to_approve.append(p.approved_at - p.proposed_at)
    counts.declined += p.state == "declined"
    counts.applied += p.state == "applied"
    counts.failed += p.state == "failed"
    for actor in appliers[:1]:
        counts.appliers[actor] += 1
    if verdicts:  # the last verification of this fix decides
        last = verdicts[-1]
        counts.resolved += last == "resolved"
        counts.still_failing += last == "failing"
        counts.verify_errors += last == "error"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}s" if value < 120 else f"{value / 60:.1f}m" if value < 7200 else f"{value / 3600:.1f}h"


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _who(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common(5)) or "-"


def render_text(stats: AuditStats) -> str:
    """The ``kubewhy stats`` table."""
    lines = []
    window = f"{stats.since.isoformat() if stats.since else 'the beginning'} to {stats.until or 'now'}"
    lines.append(f"Fixes proposed from {window}")
    columns = ("proposed", 8), ("approved", 8), ("applied", 7), ("resolved", 8), ("failing", 7), ("success", 7)
    lines.append(f"{'playbook':<32} " + " ".join(f"{n:>{w}}" for n, w in columns) + f" {'to approve':>10}")
    for name, c in [*sorted(stats.playbooks.items()), ("(all)", stats.total)]:
        lines.append(
            f"{name[:32]:<32} {c.proposed:>8} {c.approved:>8} {c.applied:>7} {c.resolved:>8} {c.still_failing:>7} "
            f"{_pct(c.success_rate):>7} {_seconds(_median_seconds(c.to_approve)):>10}"
        )
    lines.append(f"approved by: {_who(stats.total.approvers)}; applied by: {_who(stats.total.appliers)}")
    if stats.periods:
        lines.append("")
        lines.append(f"Success rate by {stats.bucket} (resolved / verified)")
        for period, by in sorted(stats.periods.items()):
            cells = ", ".join(
                f"{p} {_pct(c.success_rate)} ({c.resolved}/{c.resolved + c.still_failing})"
                for p, c in sorted(by.items())
            )
            lines.append(f"{period}: {cells}")
    pg = stats.pages
    lines.append("")
    lines.append(
        f"Pages: {pg.alerts_fired} alerts ({pg.alerts_resolved} resolved), {pg.incidents_paged} watcher incidents "
        f"paged, {pg.acknowledged} acknowledged (median {_seconds(_median_seconds(pg.to_acknowledge))}), "
        f"{pg.resolved} resolved"
    )
    if pg.acknowledged_by:
        lines.append(f"acknowledged by: {_who(pg.acknowledged_by)}")
    if pg.by_rule:
        lines.append(f"alerts by rule: {_who(pg.by_rule)}")
    return "\n".join(lines)


__all__ = ["AuditStats", "Bucket", "FixCounts", "PageCounts", "bucket_of", "compute", "render_text"]
