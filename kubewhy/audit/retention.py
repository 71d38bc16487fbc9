"""Retention: the job the scheduler (APScheduler ``AsyncIOScheduler``) runs to prune old audit rows."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .writer import AuditLog

JOB_ID = "kubewhy-audit-retention"


async def run_retention(audit: AuditLog, max_age: timedelta) -> dict[str, int]:
    return await audit.prune(max_age)


def schedule_retention(
    scheduler: Any, audit: AuditLog, max_age: timedelta, *, every: timedelta = timedelta(hours=6)
) -> Any:
    """Add (or replace) the pruning job: at most one run at a time, missed runs coalesced. Returns the job."""
    if max_age <= timedelta(0):
        raise ValueError("retention max_age must be positive")
    if scheduler.get_job(JOB_ID) is not None:  # replace_existing only applies once the scheduler has started
        scheduler.remove_job(JOB_ID)
    return scheduler.add_job(
        run_retention,
        "interval",
        args=[audit, max_age],
        seconds=every.total_seconds(),
        id=JOB_ID,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        name=f"prune audit rows older than {max_age}",
    )
