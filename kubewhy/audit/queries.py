"""What front-ends ask of the audit database, behind plain functions: history, post-mortem, schema, pruning.

Sessions and engines are opened here and only here (front-ends never hold one), and every database or file
error leaves as an :class:`AuditStoreError` naming the database, so no front-end needs to import SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from ..errors import AuditStoreError
from . import db, postmortem, store
from .revision import UnknownRevision
from .store import HistoryEntry, TargetFilter
from .writer import AuditLog, MissingDriver, missing_driver


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """SQLAlchemy's and the OS's errors as one-line :class:`AuditStoreError` (``raise ... from exc``)."""
    try:
        yield
    except UnknownRevision as exc:
        raise AuditStoreError(f"audit database {db.display_url(url)}: {exc}") from None
    except ImportError as exc:  # a driver that is not installed: say so, once, without a traceback
        raise MissingDriver(f"audit database {db.display_url(url)}: {missing_driver(exc, url)}") from None
    except Exception as exc:
        if not isinstance(exc, (SQLAlchemyError, OSError)) and not _alembic_error(exc):
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        hint = (
            "; the database is at an older schema revision: run `kubewhy db upgrade`"
            if OLD_SCHEMA.search(str(exc))
            else ""
        )
        raise AuditStoreError(f"audit database {db.display_url(url)}: {first}{hint}") from exc


def _alembic_error(exc: BaseException) -> bool:
    """An Alembic command's error. Alembic is imported only by a migration (a long-lived process never imports
    it: kubewhy/audit/revision.py), so an error can only be Alembic's once it is."""
    util = sys.modules.get("alembic.util")
    return util is not None and isinstance(exc, util.CommandError)


# What SQLite and Postgres say when a table or column of a later revision is missing.
OLD_SCHEMA = re.compile(
    r"no such (?:table|column)|UndefinedTable|UndefinedColumn|relation \S+ does not exist"
    r"|column \S+ does not exist"
)


async def history(
    audit: AuditLog,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    target_kind: str | None = None,
    target_name: str | None = None,
    target_namespace: str | None = None,
    incident: str | None = None,
    limit: int = 100,
    flush_timeout: float = 5.0,
    namespaces: Sequence[str] | None = None,
) -> list[HistoryEntry]:
    """Recorded actions, newest first. What this process queued is flushed first (for at most ``flush_timeout``
    seconds: an answer with the last records missing beats no answer)."""
    try:
        await asyncio.wait_for(audit.flush(), flush_timeout)
    except TimeoutError:
        pass
    tfilter = TargetFilter(target_kind, target_name, target_namespace) if target_name else None
    with store_errors(audit.url):
        async with db.make_sessionmaker(audit.engine)() as session:
            return await store.history(
                session, since=since, until=until, target=tfilter, incident=incident, limit=limit, namespaces=namespaces
            )


async def postmortem_markdown(audit: AuditLog, ref: str, *, flush_timeout: float = 5.0) -> str | None:
    """A post-mortem draft for the incident ``ref`` (or id), or None when there is no such incident. The
    records still pending (the fallback file, the spool of ``kubewhy why``, this process's queue) are imported
    first, as for :func:`history`."""
    try:
        await asyncio.wait_for(audit.flush(), flush_timeout)
    except TimeoutError:
        pass
    with store_errors(audit.url):
        async with db.make_sessionmaker(audit.engine)() as session:
            data = await store.load_postmortem(session, ref)
    return None if data is None else postmortem.render(data)


async def schema(url: str, action: str, revision: str = "head") -> str:
    """``upgrade``, ``downgrade`` or ``current``: the one line ``kubewhy db`` prints."""
    from . import migrate

    shown = db.display_url(url)
    with store_errors(url):
        engine = db.make_engine(url)
        try:
            if action == "upgrade":
                before = await migrate.current(engine)
                await migrate.upgrade(engine, revision)
                after = await migrate.current(engine)
                return f"{shown}: {before or 'empty'} -> {after}" if before != after else f"{shown}: already at {after}"
            if action == "downgrade":
                await migrate.downgrade(engine, revision)
                return f"{shown}: now at {await migrate.current(engine) or 'base (empty)'}"
            if action == "current":
                rev = await migrate.current(engine)
                state = (
                    "up to date"
                    if rev == migrate.head()
                    else f"behind head {migrate.head()}"
                    if rev is None or rev in migrate.revisions()
                    else f"unknown to this kubewhy, whose newest is {migrate.head()}: upgrade kubewhy"
                )
                return f"{shown}: {rev or 'empty (run: kubewhy db upgrade)'} ({state})"
            raise ValueError(f"unknown schema action {action!r}")
        finally:
            await engine.dispose()


async def prune(audit: AuditLog, older_than: timedelta) -> dict[str, int]:
    with store_errors(audit.url):
        return await audit.prune(older_than)


__all__ = ["HistoryEntry", "history", "postmortem_markdown", "prune", "schema", "store_errors"]
