"""The bot is wired like every front-end, through kubewhy.settings and one kubewhy.app.Kubewhy: the database URL
forms of docs/audit.md reach the database (not the fallback file), and the Prometheus token and CA reach the
adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot import blocks
from kubewhy.adapters.prom import PromMetrics
from kubewhy.app import Kubewhy
from kubewhy.models.target import parse_target
from kubewhy.settings import load
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url
from tests.bot import test_slack_bot as harness


@pytest.fixture(params=["sqlite", "postgresql"])
async def plain_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL forms docs/audit.md documents (no async driver named)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}"
        return
    name = await create_pg_database()
    yield pg_url(name).replace("postgresql+asyncpg://", "postgresql://")
    await drop_pg_database(name)


async def test_bot_records_land_in_the_database_for_plain_urls(  # type: ignore[no-untyped-def]
    start_sim,
    plain_url: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    fallback = tmp_path / "fallback.jsonl"
    env = {"KUBEWHY_DATABASE_URL": plain_url, "KUBEWHY_AUDIT_FALLBACK": str(fallback)}
    async with harness.running_bot(sim, env) as bot:
        await bot.command("why db-0 -n q5")
        message = (await bot.double.wait_for("chat.update"))[0]
        await bot.click(message, blocks.ACTION_EVENTS)
        await bot.double.wait_for("chat.postMessage", 2)
        await bot.command("history pod/q5/db-0")
        history = (await bot.double.wait_for("chat.postMessage", 3))[-1]
        assert "History of pod/q5/db-0" in harness.text_of(history["blocks"])
        assert "statefulset-pvc-full" in harness.text_of(history["blocks"]) or "diagnosis" in harness.text_of(
            history["blocks"]
        )
        assert bot.deps.app.audit is not None and bot.deps.app.audit.stats.to_fallback == 0
    assert not fallback.exists(), fallback.read_text()
    # read back by a fresh process-like reader: the rows are in the database itself
    async with Kubewhy(load(env), cluster=False) as reader:
        entries = await reader.history(target=parse_target("pod/q5/db-0"))
    kinds = {(e.kind, e.source, e.actor) for e in entries}
    assert ("diagnosis", "slack", harness.ALLOWED) in kinds
    assert ("action", "slack", harness.ALLOWED) in kinds
    assert [e.kind for e in entries].count("diagnosis") == 1  # recorded once, by the service


class _Recorder:
    """A tiny Prometheus HTTP API that remembers each request's Authorization header."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    async def query(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        return web.json_response(
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {"__name__": "up"}, "value": [1718359200, "1"]}],
                },
            }
        )


async def test_bot_prometheus_gets_the_token_and_the_ca(start_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("workshop", timeline_mode="manual")
    recorder = _Recorder()
    app = web.Application()
    app.router.add_route("*", "/api/v1/query", recorder.query)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {
        "KUBEWHY_PROMETHEUS_URL": f"http://127.0.0.1:{port}",
        "KUBEWHY_PROMETHEUS_TOKEN": "s3cret",
        "KUBEWHY_PROMETHEUS_CA": str(ca),
        "KUBEWHY_NO_AUDIT": "1",
    }
    try:
        async with harness.running_bot(sim, env) as bot:
            prom = bot.deps.app.deps.prom
            assert isinstance(prom, PromMetrics)
            assert await prom.query("up") == [{"metric": {"__name__": "up"}, "value": 1.0}]
            assert prom._client._session.verify == str(ca)  # the CA bundle reaches the session that verifies TLS
    finally:
        await runner.cleanup()
    assert recorder.authorizations == ["Bearer s3cret"]
