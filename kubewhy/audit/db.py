"""Where the audit database is and how to connect: URL resolution, engine and session factories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .. import settings

ENV_URL = settings.ENV_DATABASE_URL
ENV_FALLBACK = settings.ENV_AUDIT_FALLBACK


def data_dir(xdg_data_home: str | None = None, home: str | None = None) -> Path:
    """``$XDG_DATA_HOME/kubewhy`` (``~/.local/share/kubewhy`` by default); the values come from the settings."""
    return settings.data_dir({k: v for k, v in (("XDG_DATA_HOME", xdg_data_home), ("HOME", home)) if v})


def resolve_url(url: str | None = None, directory: Path | None = None) -> str:
    """``url`` with an async driver, else a SQLite file in ``directory`` (see :func:`settings.normalise_database_url`,
    which :func:`settings.load` already applied to ``KUBEWHY_DATABASE_URL`` and ``--database-url``)."""
    return settings.normalise_database_url(url, directory or data_dir())


def fallback_path(explicit: Path | str | None = None, directory: Path | None = None) -> Path:
    """The JSON-lines file for records that could not be written: ``explicit`` (KUBEWHY_AUDIT_FALLBACK) or
    ``audit-fallback.jsonl`` in ``directory``."""
    if explicit:
        return Path(explicit)
    return (directory or data_dir()) / "audit-fallback.jsonl"


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine; SQLite gets its directory created, WAL and a busy timeout (several writers may share it)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("connect_args", {"timeout": 15})
        engine = create_async_engine(url, **options)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    if url.startswith("postgresql+asyncpg"):
        options.setdefault("connect_args", {"timeout": 5, "command_timeout": 30})
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


__all__ = ["data_dir", "display_url", "fallback_path", "make_engine", "make_sessionmaker", "resolve_url"]
