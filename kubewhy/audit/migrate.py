"""Alembic, driven programmatically so ``kubewhy db upgrade`` works from any directory.

The scripts live in ``migrations/`` at the top of the repository, installed as the package
``kubewhy.audit.migrations`` (pyproject.toml) and found with importlib.resources. We hand
``env.py`` an open connection through ``config.attributes`` (Alembic's connection-sharing recipe), so the same code
path serves the CLI, the bot's start-up and the tests.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .revision import UnknownRevision


def script_location() -> Path:
    """The installed Alembic scripts (``migrations/`` in the repository)."""
    root = resources.files("kubewhy.audit.migrations")
    if not isinstance(root, Path):  # a zipped install: Alembic loads env.py and the versions from files
        raise RuntimeError(f"{root}: the migrations are not on the file system; install kubewhy unzipped")
    return root


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head() -> str:
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


def revisions() -> list[str]:
    """All revision ids, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


# pg_advisory_xact_lock key: processes starting at once on a fresh Postgres take turns to migrate
# (without it, the losers failed with a UniqueViolation on the tables the winner had just created).
MIGRATION_LOCK = 0x6B756265  # "kube"


def _check_known(rev: str | None) -> None:
    if rev is not None and rev not in revisions():
        raise UnknownRevision(rev)


def _run(conn: Connection, action: str, rev: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    current = _current(conn)  # read under the lock: another process may have migrated meanwhile
    _check_known(current)
    if action == "upgrade" and rev == "head" and current == head():
        return
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    getattr(command, action)(cfg, rev)


async def upgrade(engine: AsyncEngine, rev: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", rev)


async def downgrade(engine: AsyncEngine, rev: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", rev)


def _current(conn: Connection) -> Any:
    return MigrationContext.configure(conn).get_current_revision()


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        rev: str | None = await conn.run_sync(_current)
        return rev


async def ensure_head(engine: AsyncEngine) -> bool:
    """Upgrade when behind; True when something was done. :class:`UnknownRevision` when ahead."""
    rev = await current(engine)
    if rev == head():
        return False
    _check_known(rev)
    await upgrade(engine)
    return True


__all__ = [
    "MIGRATION_LOCK",
    "UnknownRevision",
    "alembic_config",
    "current",
    "downgrade",
    "ensure_head",
    "head",
    "revisions",
    "script_location",
    "upgrade",
]


async def _child(url: str) -> dict[str, Any]:
    """``python -m kubewhy.audit.migrate URL``'s work: one attempt, its outcome as the parent reads it
    (kubewhy/audit/revision.py)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from .writer import is_transient, missing_driver

    try:
        engine = create_async_engine(url)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        return {"error": str(exc), "missing": missing_driver(exc, url)}
    try:
        return {"upgraded": await ensure_head(engine)}
    except UnknownRevision as exc:
        return {"error": str(exc), "unknown": True}
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        return {"error": str(exc), "missing": missing_driver(exc, url), "transient": is_transient(exc)}
    finally:
        await engine.dispose()


if __name__ == "__main__":
    import asyncio
    import json
    import sys

    outcome = asyncio.run(_child(sys.argv[1]))
    print(json.dumps(outcome), flush=True)
    sys.exit(0 if "upgraded" in outcome else 1)
