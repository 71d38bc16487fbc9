"""A signed request waits at most a short while for the audit database's replay cache (bot/gate.py, REPLAY_WAIT):
its key is claimed in the bot's memory at once, so the same request again is refused at once; the database's claim
goes on behind and makes the key durable when it lands; a key it then finds taken (another replica had the
request) is logged and counted as a replay detected after the fact. The database's claim is held back on an event,
never timed."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate import Gate, delivery_key
from kubesim import load as load_scenario
from kubesim.runner import run_in_thread
from kubesim.server import SimOptions
from kubewhy.audit import db, migrate
from kubewhy.audit.trust import TrustStore
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url
from tests.bot.test_slack_bot import SECRET, running_bot

TTL = timedelta(minutes=10)
Claim = Callable[[str, timedelta], Awaitable[bool]]


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TrustStore]:
    """A trust store on a fresh audit database of each backend."""
    name = await create_pg_database() if request.param == "postgres" else ""
    engine = db.make_engine(pg_url(name) if name else f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    try:
        await migrate.upgrade(engine)
        yield TrustStore(engine, str(engine.url))
    finally:
        await engine.dispose()
        if name:
            await drop_pg_database(name)


def _engine(store: TrustStore) -> AsyncEngine:
    return store._sessions.kw["bind"]  # type: ignore[union-attr,no-any-return]


def _held(claim: Claim, database: asyncio.Event) -> Claim:
    """``claim``, reaching the database only once ``database`` is set (a write lock held by a storm)."""

    async def held(key: str, ttl: timedelta) -> bool:
        await database.wait()
        return await claim(key, ttl)

    return held


def _signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


async def _client(gate: Gate, answered: list[str]) -> TestClient[web.Request, web.Application]:
    async def handler(request: web.Request) -> web.Response:
        answered.append(await request.text())
        return web.Response(text="ok")

    app = web.Application(middlewares=[gate.middleware])
    app.router.add_post("/slack/events", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def _landed(gate: Gate) -> None:
    """Wait for the claims that went on behind, and their callbacks."""
    await asyncio.gather(*gate.behind, return_exceptions=True)
    await asyncio.sleep(0)


async def test_a_request_whose_durable_claim_is_held_goes_on_is_refused_again_at_once_and_the_key_lands(
    store: TrustStore,
) -> None:
    database = asyncio.Event()
    gate = Gate(SECRET, remember=_held(store.first_time, database), wait=0)
    answered: list[str] = []
    body = "command=%2Fk8s&text=why+db-0+-n+q5&trigger_id=1.2.3"
    headers = _signed(body)
    client = await _client(gate, answered)
    try:
        first = await client.post("/slack/events", data=body, headers=headers)
        assert first.status == 200 and answered == [body]  # answered with the database's claim still held
        assert gate.behind and not database.is_set()
        again = await client.post("/slack/events", data=body, headers=headers)
        assert again.status == 401 and "replayed" in await again.text()  # refused from this process's memory
        assert answered == [body] and gate.replays == 1
        database.set()
        await _landed(gate)
    finally:
        await client.close()
    assert not gate.behind and gate.late_replays == 0
    restarted = TrustStore(_engine(store), store.url)  # a fresh process on the same database
    assert not await restarted.first_time("sig:" + headers["X-Slack-Signature"], TTL)


async def test_a_key_another_replica_took_first_is_logged_as_a_replay_after_the_fact(
    store: TrustStore, caplog: pytest.LogCaptureFixture
) -> None:
    database = asyncio.Event()
    gate = Gate(SECRET, remember=_held(store.first_time, database), wait=0)
    answered: list[str] = []
    body = "command=%2Fk8s&text=why+db-0+-n+q5&trigger_id=4.5.6"
    headers = _signed(body)
    other = TrustStore(_engine(store), store.url)  # another replica, which had the same request first
    assert await other.first_time("sig:" + headers["X-Slack-Signature"], TTL)
    client = await _client(gate, answered)
    try:
        with caplog.at_level(logging.INFO, logger="kubewhy.bot"):
            response = await client.post("/slack/events", data=body, headers=headers)
            assert response.status == 200 and answered == [body]  # it went on: the database had not answered
            assert any("claimed behind" in r.getMessage() for r in caplog.records)
            database.set()
            await _landed(gate)
    finally:
        await client.close()
    assert gate.late_replays == 1 and gate.replays == 0
    late = [r.getMessage() for r in caplog.records if "detected after the fact" in r.getMessage()]
    assert len(late) == 1 and headers["X-Slack-Signature"] not in late[0]  # the kind of key, never the key


async def test_a_retry_whose_delivery_another_replica_had_is_counted_as_a_late_replay(
    store: TrustStore,
) -> None:
    database = asyncio.Event()
    gate = Gate(SECRET, remember=_held(store.first_time, database), wait=0)
    body = "command=%2Fk8s&text=why+db-0+-n+q5&trigger_id=7.8.9"
    other = TrustStore(_engine(store), store.url)
    client = await _client(gate, [])
    try:
        headers = _signed(body)
        assert await other.first_time(delivery_key(body.encode()), TTL)
        retry = await client.post("/slack/events", data=body, headers={**headers, "X-Slack-Retry-Num": "1"})
        assert retry.status == 200  # went on: the database had not answered
        database.set()
        await _landed(gate)
        assert gate.late_replays == 1  # the delivery was another replica's: a retry run twice, counted
    finally:
        await client.close()


async def test_a_why_whose_replay_claim_is_held_is_answered_and_the_same_request_again_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = run_in_thread(load_scenario("workshop"), SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "k")
    env = {
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    body = urllib.parse.urlencode(
        {
            "team_id": "T0001",
            "channel_id": "C0OPS",
            "user_id": "U0ALLOWED",
            "command": "/k8s",
            "text": "why db-0 -n q5",
            "response_url": "http://127.0.0.1:9/response/1",
            "trigger_id": "1.2.held",
        }
    )
    headers = _signed(body)
    try:
        async with running_bot(sim, env) as bot:
            trust = await bot.deps.app.trust()
            database = asyncio.Event()
            together = trust._claim_together

            async def held(batch: list[object]) -> list[bool]:  # SQLite's write lock held by a storm
                await database.wait()
                return await together(batch)  # type: ignore[arg-type]

            monkeypatch.setattr(trust, "_claim_together", held)
            status, _, _ = await bot.post(body, timestamp=headers["X-Slack-Request-Timestamp"])
            assert status == 200
            message = (await bot.double.wait_for("chat.update"))[0]
            assert "pod/q5/db-0" in message["blocks"][0]["text"]["text"]  # answered, the claim still held
            assert not database.is_set()
            status, text, _ = await bot.post(body, timestamp=headers["X-Slack-Request-Timestamp"])
            assert status == 401 and "replayed" in text  # from the bot's memory, at once
            database.set()
            assert trust._claimer is not None
            await trust._claimer
            restarted = TrustStore(_engine(trust), trust.url)
            assert not await restarted.first_time("sig:" + headers["X-Slack-Signature"], TTL)  # durable now
            assert len(bot.double.to("chat.postMessage")) == 1
    finally:
        sim.stop()
