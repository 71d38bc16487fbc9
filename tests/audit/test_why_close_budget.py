"""``kubewhy why`` against a slow Postgres: the record lands in the database within the close budget.

Under CPU load, 3–5 of 20 ``why`` runs left their record only in the fallback file: each write attempt was cut at
2 s and the retry gave up after 1 s, so one slow connect-and-insert sent the record to the file. The fault here is
deterministic: a proxy holds every reply of the server for ``DELAY`` seconds, so a connect, the schema check and
an insert take several slow round trips, as on a loaded machine — more than the old per-attempt cut, less than
``why``'s close budget (kubewhy/cli/why.py ``AUDIT_BUDGET``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kubesim.runner import RunningSim
from kubewhy.audit import db, migrate
from kubewhy.audit.models import Diagnosis
from kubewhy.cli.why import diagnose_and_show
from kubewhy.models.target import parse_target
from kubewhy.settings import AuditSettings, KubeSettings, Settings

from .conftest import pg_url

DELAY = 0.15  # seconds each reply of the server is held: the old 2 s cut failed here; the fix holds at 0.2


class SlowProxy:
    """A TCP proxy to Postgres that holds each chunk the server sends for ``delay`` seconds."""

    def __init__(self, delay: float, upstream: tuple[str, int] = ("127.0.0.1", 5432)):
        self.delay, self.upstream, self.port = delay, upstream, 0
        self.replies = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> SlowProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.upstream)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, slow: bool) -> None:
            while data := await r.read(65536):
                if slow:
                    self.replies += 1
                    await asyncio.sleep(self.delay)
                w.write(data)
                await w.drain()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            tasks = [
                asyncio.ensure_future(pipe(client_r, server_w, False)),
                asyncio.ensure_future(pipe(server_r, client_w, True)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
        client_w.transport.abort()
        server_w.transport.abort()


@pytest.fixture
async def slow_proxy() -> AsyncIterator[SlowProxy]:
    proxy = await SlowProxy(DELAY).start()
    yield proxy
    await proxy.close()


async def test_why_records_into_a_slow_postgres_not_the_fallback_file(
    pg_database: str, slow_proxy: SlowProxy, start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    direct = db.make_engine(pg_url(pg_database))
    await migrate.upgrade(direct)  # a deployed database: migrated once, by whoever set it up
    sim = start_sim("workshop/q01-app-crash", timeline_mode="manual")
    fallback = tmp_path / "fallback.jsonl"
    settings = Settings(
        kube=KubeSettings(kubeconfig=str(sim.kubeconfig)),
        audit=AuditSettings(url=pg_url(pg_database, port=slow_proxy.port), fallback_path=fallback, data_dir=tmp_path),
    )
    args = argparse.Namespace(pasted=None, incident=None, output="json", verbose=False, chart_dir=None)
    runs = 2
    for _ in range(runs):
        assert await diagnose_and_show(parse_target("pod/q1/app-7d4b9c6f5-x2x7k"), settings, args) == 0

    assert slow_proxy.replies >= 10 * runs  # the fault was on the path: many slow round trips per run
    assert not fallback.exists(), fallback.read_text()
    async with db.make_sessionmaker(direct)() as session:
        stored = (await session.execute(select(func.count()).select_from(Diagnosis))).scalar_one()
    await direct.dispose()
    assert stored == runs
