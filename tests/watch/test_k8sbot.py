"""``k8sbot``, the in-cluster process: the Slack bot and the watchers in one process, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
import urllib.parse
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.bot.slack_double import SlackDouble
from tests.waiting import until_answer

from .conftest import DATA, Cluster, Pages, watch_environ
from .test_process import Proc

SECRET = "k8sbot-signing-secret"


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


def sample(metrics: str, series: str) -> float:
    """The value of one series in a Prometheus text exposition (an AssertionError naming it when absent)."""
    for line in metrics.splitlines():
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    raise AssertionError(f"no {series} in:\n{metrics}")


async def scrape_until(url: str, line: str, timeout: float = 20.0) -> str:
    """Scrape until ``line`` shows (the watcher counts a page once the ledger has its message, just after Slack
    got it); the timeout only bounds a failure."""

    async def scrape() -> str:
        status, text = await get(url)
        assert status == 200, text
        return text

    return await until_answer(scrape, lambda text: line in text.splitlines(), timeout=timeout, what=line)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_k8sbot_pages_and_answers_slash_commands_in_one_process(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path
) -> None:
    port, health = free_port(), free_port()
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
        SLACK_SIGNING_SECRET=SECRET,
        KUBEWHY_SLACK_PORT=str(port),
        KUBEWHY_HEALTH_PORT=str(health),
    )
    log = tmp_path / "k8sbot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "k8sbot"), env=env, stdout=out, stderr=out
        )
    p = Proc(proc, log)
    try:
        await p.wait_for_line("now leads", timeout=40)
        await p.wait_for_line("listening", timeout=10)
        await p.wait_for_line("watching", timeout=20)  # the informers synced (run_watchers' on_ready)
        base = f"http://127.0.0.1:{health}"
        assert await get(f"{base}/healthz") == (200, "ok\n")
        assert await get(f"{base}/readyz") == (200, "ok\n")
        pages = Pages(slack)
        await cluster.node_ready("node-2", False)
        await pages.wait(lambda: len(pages.posts()) == 1, what="the page from k8sbot")
        metrics = await scrape_until(f"{base}/metrics", 'kubewhy_pages_total{action="page"} 1.0')
        assert sample(metrics, "kubewhy_leader") == 1
        assert sample(metrics, "kubewhy_watch_synced") == 1
        assert sample(metrics, 'kubewhy_pages_total{action="page"}') == 1
        assert sample(metrics, 'kubewhy_diagnoses_total{outcome="ok",source="watcher"}') >= 1
        assert sample(metrics, 'kubewhy_check_duration_seconds_count{playbook="node-not-ready"}') >= 1
        assert sample(metrics, 'kubewhy_watch_lag_seconds{kind="Node"}') >= 0
        assert "kubewhy_slack_errors_total" in metrics and "kubewhy_api_errors_total" in metrics

        body = urllib.parse.urlencode(
            {
                "command": "/k8s",
                "text": "incidents",
                "user_id": "U1",
                "channel_id": "C1",
                "team_id": "T0001",  # the installation's own workspace (auth.test): another is refused
                "response_url": f"{slack.url}/response/1",
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
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers
            ) as resp:
                assert resp.status == 200
                assert "node-not-ready" in await resp.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0, p.text()
    assert "Traceback" not in p.text()
