"""The watchers' change log (``change_log``) read back and merged with what the API still holds.

The log knows what the API forgot (which ConfigMap key was removed, each manager's earlier writes, a rollout
beyond the revision history); the API knows what the watchers could not see (events, condition transitions,
what happened before they ran). :func:`merge` keeps the log's change and drops the API's reading of the same
write: the same object, within :data:`SAME_WRITE` of each other, neither an event nor a condition transition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..engine.related import ref_of
from ..errors import KubewhyError
from .diff import lowered_in, references
from .model import Area, Change, Timeline

if TYPE_CHECKING:
    from ..audit.writer import AuditLog

log = logging.getLogger("kubewhy.changes")
Obj = dict[str, Any]
Row = dict[str, Any]
# (subjects, since, until) -> the log's rows, oldest first (kubewhy.audit.changelog.ChangeLog.between)
Reader = Callable[[list[str], datetime, datetime], Awaitable[list[Row]]]
SAME_WRITE = timedelta(seconds=120)  # an API reading this close to a logged change of the object is that change
READ_TIMEOUT = 2.0  # seconds a diagnosis waits for the log (a database away must not hold it)
UNLIKE = ("event", "condition")  # operations that are facts of their own, never the reading of a write


def from_row(row: Row) -> Change:
    at = datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00"))
    return Change(
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        subject=str(row.get("subject", "")),
        summary=str(row.get("summary", "")),
        areas=tuple(cast(Area, a) for a in row.get("areas") or ()),
        details=tuple(str(d) for d in row.get("details") or ()),
        who=str(row.get("who", "")),
        operation=str(row.get("operation", "")),
        cause=str(row.get("cause", "")),
        source=str(row.get("source", "")) or "watch",
        lowered=tuple(lowered_in(str(d) for d in row.get("details") or ())),  # the blame rules read it
        digests=tuple(sorted((str(k), str(v)) for k, v in (row.get("digests") or {}).items())),
    )


def merge(api: Iterable[Change], logged: Iterable[Change]) -> list[Change]:
    """The logged changes and the API's that are not a reading of one of them, oldest first, deduplicated."""
    logged = list(logged)
    by_subject: dict[str, list[datetime]] = {}
    for c in logged:
        by_subject.setdefault(c.subject, []).append(c.at)
    out = list(logged)
    for c in api:
        near = by_subject.get(c.subject, ())
        if c.operation not in UNLIKE and any(abs(c.at - at) <= SAME_WRITE for at in near):
            continue
        out.append(c)
    seen = set()
    merged = []
    for c in sorted(out, key=lambda c: (c.at, c.operation == "event", c.subject, c.summary)):
        key = (c.at, c.subject, c.summary)
        if key not in seen:
            seen.add(key)
            merged.append(c)
    return merged


def subjects_of(objects: Iterable[Obj]) -> list[str]:
    """The objects' refs and those of the ConfigMaps and Secrets they reference (names only: nothing is read)."""
    out: dict[str, None] = {}
    for o in objects:
        out[ref_of(o)] = None
        ns = (o.get("metadata") or {}).get("namespace")
        for r in sorted(references(o)):
            kind, name = r.split("/", 1)
            out[ref_of({"kind": kind, "metadata": {"name": name, "namespace": ns}})] = None
    return list(out)


async def read(reader: Reader | None, subjects: list[str], since: datetime, until: datetime) -> list[Change]:
    """The log's changes to ``subjects``; none (and a log line) when there is no log or it cannot be read in
    :data:`READ_TIMEOUT`."""
    if reader is None or not subjects:
        return []
    try:
        rows = await asyncio.wait_for(reader(subjects, since, until), READ_TIMEOUT)
    except (KubewhyError, TimeoutError) as exc:
        log.info("the change log was not read: %s", exc)
        return []
    return [from_row(r) for r in rows]


async def with_log(tl: Timeline, reader: Reader | None) -> Timeline:
    """``tl`` merged with the change log's rows about the objects it covers (when there are any)."""
    logged = await read(reader, tl.subjects, tl.since, tl.until)
    if logged:
        tl.changes = merge(tl.changes, logged)
        tl.notes.append(f"{len(logged)} change(s) from the watchers' change log (the audit database).")
    return tl


def reader_of(audit: AuditLog | None) -> Reader | None:
    """The change log of the process's audit database, or None without one. A spooling process (``kubewhy why``)
    never opens its database, so it reads no change log either: that would import SQLAlchemy and create the file
    on the CLI's fast path (``kubewhy changes`` reads the log on demand)."""
    if audit is None or audit.spool:
        return None
    from ..audit.changelog import ChangeLog

    async def between(subjects: list[str], since: datetime, until: datetime) -> list[Row]:
        return await ChangeLog(audit.engine, audit.url).between(subjects, since, until)  # engine: made on use

    return between


def reader_for(url: str) -> Reader | None:
    """The change log at ``url`` for a one-off read (``kubewhy changes``): None when it is a SQLite file that does
    not exist (nothing recorded there; none is created)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if not path or path == ":memory:" or not Path(path).exists():
            return None
    from ..audit import db
    from ..audit.changelog import ChangeLog
    from ..audit.queries import store_errors

    async def between(subjects: list[str], since: datetime, until: datetime) -> list[Row]:
        with store_errors(url):
            engine = db.make_engine(url)
        try:
            return await ChangeLog(engine, url).between(subjects, since, until)
        finally:
            await engine.dispose()

    return between


__all__ = ["Reader", "from_row", "merge", "read", "reader_for", "reader_of", "subjects_of", "with_log"]
