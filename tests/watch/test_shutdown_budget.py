"""The shutdown budget of ``k8sbot`` (the bot and the watchers): SIGTERM, then SIGKILL at the chart's
terminationGracePeriodSeconds, as Kubernetes does, while the audit database takes nothing. Every record is stored
or in the fallback file, whole and readable, and the process is gone before the SIGKILL."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from kubewhy.audit import db, fallback
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url
from tests.audit.proxy import FlakyProxy
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import SECRET
from tests.waiting import until, until_answer

from .conftest import DATA, Cluster, watch_environ
from .test_k8sbot import free_port, scrape_until

CHART = Path(__file__).parents[2] / "helm" / "kubewhy" / "templates" / "deployment.yaml"
N = 12  # diagnoses asked for from Slack while the database is locked


def grace_period() -> int:
    """The chart's terminationGracePeriodSeconds: when the kubelet sends SIGKILL after SIGTERM."""
    found = re.search(r"terminationGracePeriodSeconds:\s*(\d+)", CHART.read_text())
    assert found, f"no terminationGracePeriodSeconds in {CHART}"
    return int(found.group(1))


async def stored_slack_diagnoses(url: str) -> int:
    engine = db.make_engine(db.resolve_url(url))
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM diagnoses WHERE source = 'slack'"))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("fault", ["sqlite-locked", "postgres-unreachable"])
async def test_sigterm_then_sigkill_at_the_grace_period_loses_no_record_whatever_the_database_does(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, fault: str
) -> None:
    port, health = free_port(), free_port()
    database, spill = tmp_path / "audit.db", tmp_path / "fallback.jsonl"
    url, proxy, name = f"sqlite:///{database}", None, None
    if fault == "postgres-unreachable":  # a database of the test's own, behind a proxy the test cuts
        name = await create_pg_database()
        proxy = await FlakyProxy("127.0.0.1", 5432).start()
        url = pg_url(name, port=proxy.port)
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        database_url=url,
        KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
        SLACK_SIGNING_SECRET=SECRET,
        KUBEWHY_SLACK_PORT=str(port),
        KUBEWHY_HEALTH_PORT=str(health),
    )
    log = tmp_path / "k8sbot.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "k8sbot")], env=env, stdout=out, stderr=out)

    async def why(i: int) -> int:
        body = urllib.parse.urlencode(
            {
                "command": "/k8s",
                "text": "why api-7d4b9c6f5-x2x7k -n shop",
                "user_id": "U1",
                "channel_id": "C1",
                "team_id": "T0001",
                "trigger_id": f"t{i}",
                "response_url": f"{slack.url}/response/{i}",
            }
        )
        ts = str(int(time.time()))
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""
        headers = {
            "X-Slack-Request-Timestamp": ts,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Signature": signature,
        }
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as resp:
                return resp.status

    metrics = f"http://127.0.0.1:{health}/metrics"
    lock = None
    killed = False
    try:
        await until(lambda: "watching" in log.read_text(errors="replace"), timeout=60, what="k8sbot to start")
        if proxy is not None:
            await proxy.refuse()  # Postgres unreachable from now until after the SIGKILL
        else:
            lock = sqlite3.connect(database, timeout=5)
            lock.execute("BEGIN EXCLUSIVE")  # the database takes nothing from now until after the SIGKILL
        assert await until_answer(
            lambda: asyncio.gather(*(why(i) for i in range(N))),
            lambda statuses: statuses == [200] * N,
            retry_on=(aiohttp.ClientError,),
        )
        # every diagnosis done, so every record queued (the answers wait for the database)
        await scrape_until(metrics, f'kubewhy_diagnoses_total{{outcome="ok",source="slack"}} {float(N)}', 60)
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, grace_period())
        except subprocess.TimeoutExpired:
            proc.kill()  # the kubelet, at the end of the grace period
            killed = True
            await asyncio.to_thread(proc.wait, 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if lock is not None:
            lock.rollback()
            lock.close()
        if proxy is not None:
            await proxy.close()
    output = log.read_text(errors="replace")
    taken = fallback.take(spill)
    assert taken.unreadable == [], taken.unreadable  # every spilled record is whole and readable
    kept = [r for r in taken.records if r.type == "diagnosis" and r.source == "slack"]
    try:
        stored = await stored_slack_diagnoses(pg_url(name) if name else url)
    finally:
        if name:
            await drop_pg_database(name)
    assert stored + len(kept) == N, output  # diagnoses asked for vs stored + kept for the next start: none lost
    assert not killed, output  # and the process was gone before the kubelet's SIGKILL
    assert "0 lost" in output, output


def test_the_chart_grace_period_covers_the_shutdown_budget_with_a_margin() -> None:
    from bot.runner import SHUTDOWN_BUDGET

    assert grace_period() >= 2 * SHUTDOWN_BUDGET
