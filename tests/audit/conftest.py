"""Audit tests run against both SQLite (a temporary file) and the machine's Postgres (a fresh database per test).

Postgres: 127.0.0.1:5432, trust auth (``KUBEWHY_TEST_PG`` overrides the admin DSN). ``scripts/services`` starts
it; a test that needs it fails, rather than skips, when it is down.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import db, migrate

PG_ADMIN = os.environ.get("KUBEWHY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url(database: str, port: int | None = None) -> str:
    host = PG_ADMIN.split("@", 1)[1].split("/", 1)[0]
    if port is not None:
        host = f"127.0.0.1:{port}"
    user = PG_ADMIN.split("://", 1)[1].split("@", 1)[0]
    return f"postgresql+asyncpg://{user}@{host}/{database}"


async def create_pg_database() -> str:
    name = f"kubewhy_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"Postgres at {PG_ADMIN} is not available ({exc}); start it with scripts/services")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """The name of a fresh, empty Postgres database, dropped afterwards."""
    name = await create_pg_database()
    yield name
    await drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
        return
    name = await create_pg_database()
    yield pg_url(name)
    await drop_pg_database(name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = db.make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def migrated(engine: AsyncEngine) -> AsyncEngine:
    await migrate.upgrade(engine)
    return engine


@pytest.fixture
def fallback_file(tmp_path: Path) -> Path:
    return tmp_path / "fallback" / "audit-fallback.jsonl"


@pytest.fixture(autouse=True)
def _no_user_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Nothing here may touch the developer's own audit database or fallback file."""
    monkeypatch.delenv(db.ENV_URL, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(db.ENV_FALLBACK, str(tmp_path / "xdg-fallback.jsonl"))
    yield
