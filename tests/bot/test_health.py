"""k8sbot's probe server on its own: not ready until the watchers synced and while the audit database does not
answer; alive all the same; the core's counters reach /metrics through kubewhy.telemetry."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.health import Health
from kubewhy import telemetry
from kubewhy.app import Kubewhy
from kubewhy.audit.ledger import Ledger
from kubewhy.settings import SettingsError, load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


async def test_not_ready_while_the_database_is_down_and_the_watchers_have_not_synced() -> None:
    url = f"postgresql+asyncpg://kubewhy@127.0.0.1:{free_port()}/kubewhy"  # nothing listens there
    engine = create_async_engine(url)
    health = Health(Ledger(engine, url), port=free_port(), host="127.0.0.1")
    await health.start()
    try:
        base = f"http://127.0.0.1:{health.port}"
        assert await get(f"{base}/healthz") == (200, "ok\n")
        status, text = await get(f"{base}/readyz")
        assert (status, text) == (503, "not ok\n")  # no login here: no driver, user, host or port (issue 27)
        problems = await health.problems()  # the details, for the log
        assert any("informers have not synced" in p for p in problems)
        assert any("audit database does not answer" in p for p in problems), problems
        assert "kubewhy@127.0.0.1" not in text and "asyncpg" not in text
        status, metrics = await get(f"{base}/metrics")
        assert status == 200 and "kubewhy_leader 0.0" in metrics.splitlines()
    finally:
        await health.stop()
        await engine.dispose()


async def test_a_reachable_database_is_not_a_problem(tmp_path: Path) -> None:
    settings = load({"KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}", "HOME": str(tmp_path)})
    async with Kubewhy(settings, cluster=False) as app:
        health = Health(await app.ledger(), port=free_port(), host="127.0.0.1")  # migrated to head first
        assert await health.problems() == ["the watchers' informers have not synced yet"]


async def test_the_core_counts_into_metrics_only_while_the_server_runs() -> None:
    health = Health(None, port=free_port(), host="127.0.0.1")
    await health.start()
    try:
        telemetry.count("kubewhy_api_errors_total", api="kubernetes", code="503")
        _, metrics = await get(f"http://127.0.0.1:{health.port}/metrics")
        assert 'kubewhy_api_errors_total{api="kubernetes",code="503"} 1.0' in metrics.splitlines(), metrics
    finally:
        await health.stop()
    telemetry.count("kubewhy_api_errors_total", api="kubernetes", code="503")  # no sink now: counted nowhere
    assert health.sink.series["kubewhy_api_errors_total"].labels("kubernetes", "503")._value.get() == 1.0


async def test_a_port_in_use_is_a_settings_error_naming_the_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        health = Health(None, port=port, host="127.0.0.1")
        with pytest.raises(SettingsError, match=f"KUBEWHY_HEALTH_PORT={port}: cannot listen"):
            await health.start()
        await health.stop()
