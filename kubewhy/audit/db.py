"""Where the audit database is and how to connect: URL resolution, engine and session factories."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

ENV_URL = "KUBEWHY_DATABASE_URL"
ENV_FALLBACK = "KUBEWHY_AUDIT_FALLBACK"


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/kubewhy`` (``~/.local/share/kubewhy`` by default)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "kubewhy"


def resolve_url(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--database-url``, else ``KUBEWHY_DATABASE_URL``, else a SQLite file in the user's data directory.

    Plain ``postgresql://`` and ``sqlite://`` URLs get the async drivers (asyncpg, aiosqlite).
    """
    env = os.environ if environ is None else environ
    url = flag or env.get(ENV_URL) or ""
    if not url:
        return f"sqlite+aiosqlite:///{data_dir(env) / 'audit.db'}"
    for plain, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                          ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def fallback_path(url: str, environ: Mapping[str, str] | None = None) -> Path:
    """The JSON-lines file for records that could not be written: ``KUBEWHY_AUDIT_FALLBACK`` or the data dir."""
    env = os.environ if environ is None else environ
    if env.get(ENV_FALLBACK):
        return Path(env[ENV_FALLBACK])
    return data_dir(env) / "audit-fallback.jsonl"


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
