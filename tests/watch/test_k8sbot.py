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

from .conftest import DATA, Cluster, Pages, watch_environ
from .test_process import Proc

SECRET = "k8sbot-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_k8sbot_pages_and_answers_slash_commands_in_one_process(
        cluster: Cluster, slack: SlackDouble, tmp_path: Path) -> None:
    port = free_port()
    env = watch_environ(cluster, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
                        SLACK_SIGNING_SECRET=SECRET, KUBEWHY_SLACK_PORT=str(port))
    log = tmp_path / "k8sbot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "k8sbot"), env=env,
                                                    stdout=out, stderr=out)
    p = Proc(proc, log)
    try:
        await p.wait_for_line("now leads", timeout=40)
        await p.wait_for_line("listening", timeout=10)
        pages = Pages(slack)
        await cluster.node_ready("node-2", False)
        await pages.wait(lambda: len(pages.posts()) == 1, what="the page from k8sbot")

        body = urllib.parse.urlencode({"command": "/k8s", "text": "incidents", "user_id": "U1", "channel_id": "C1",
                                       "team_id": "T1", "response_url": f"{slack.url}/response/1"})
        ts = str(int(time.time()))
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""
        headers = {"X-Slack-Request-Timestamp": ts, "Content-Type": "application/x-www-form-urlencoded",
                   "X-Slack-Signature": signature}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                    headers=headers) as resp:
                assert resp.status == 200
                assert "node-not-ready" in await resp.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0, p.text()
    assert "Traceback" not in p.text()
