"""The schema revision this kubewhy writes, read without Alembic, and migrations run in a child process.

Alembic, its Mako templates and Pygments cost a long-lived process about 15 MB of resident memory that it never
gives back (measured on the watchers at 10,000 pods, docs/benchmarks.md), for a migration that runs once per
schema change. So the writer first reads the database's revision with one query (:func:`at_head`); only a
database behind head is migrated, and a long-lived process migrates it in a child process
(``python -m kubewhy.audit.migrate URL``, :func:`migrate_in_child`), which exits with Alembic's memory. The child
says how it went in one JSON line; :class:`ChildMigrationError` carries what the writer's retry loop needs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# migrations/versions' newest revision. tests/audit/test_schema_revision.py checks it against Alembic's head, so
# a new migration without this line changed fails there.
HEAD = "0011"


class UnknownRevision(Exception):
    """The database is at a revision this kubewhy does not know: written by a newer version."""

    def __init__(self, revision: str):
        super().__init__(
            f"the database is at schema revision {revision!r}, which this kubewhy does not know "
            f"(its newest is {HEAD!r}; the database was probably upgraded by a newer kubewhy): "
            "upgrade kubewhy, or point KUBEWHY_DATABASE_URL at another database"
        )
        self.revision = revision


async def at_head(engine: AsyncEngine) -> bool:
    """Whether the database is at :data:`HEAD` (False for an empty database, or when it cannot be read: the
    migration path then says why)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:
        return False
    return list(rows) == [HEAD]


class ChildMigrationError(Exception):
    """A migration run in a child process failed; its flags say whether waiting can help."""

    def __init__(self, message: str, *, unknown: bool = False, missing: str | None = None, transient: bool = False):
        super().__init__(message)
        self.unknown, self.missing, self.transient = unknown, missing, transient


async def migrate_in_child(url: str, *, timeout: float = 120.0) -> bool:
    """Bring the database at ``url`` to head in a child process; True when something was done."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubewhy.audit.migrate",
        url,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ChildMigrationError(f"the migration did not finish in {timeout:.0f} s", transient=True) from None
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if proc.returncode == 0 and "upgraded" in answer:
        return bool(answer["upgraded"])
    message = answer.get("error") or (err.decode(errors="replace").strip().splitlines() or ["no answer"])[-1]
    raise ChildMigrationError(
        f"migration (child process, exit {proc.returncode}): {message}",
        unknown=bool(answer.get("unknown")),
        missing=answer.get("missing"),
        transient=bool(answer.get("transient")),
    )


__all__ = ["HEAD", "ChildMigrationError", "UnknownRevision", "at_head", "migrate_in_child"]
