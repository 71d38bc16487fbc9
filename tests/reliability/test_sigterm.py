"""SIGTERM during work (how Kubernetes stops the bot's pod): the diagnosis in flight is still answered and
recorded, and the process exits 0 with its audit log flushed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp

from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import SECRET, text_of
from tests.reliability.conftest import signed_headers
from tests.reliability.test_api_faults import inject
from tests.reliability.test_audit_findings import free_port, rows
from tests.waiting import until_answer


async def test_an_in_flight_diagnosis_is_answered_and_recorded_after_sigterm(start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    double = SlackDouble()
    api = await double.start()
    path, port = tmp_path / "audit.db", free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "KUBEWHY_SLACK_API_URL": api,
        "KUBECONFIG": str(sim.kubeconfig),
        "KUBEWHY_DATABASE_URL": f"sqlite:///{path}",
        "PORT": str(port),
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubewhy", "bot"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )

    async def command(text: str) -> int:
        body = urllib.parse.urlencode(
            {
                "command": "/k8s",
                "text": text,
                "user_id": "U0A",
                "channel_id": "C0",
                "team_id": "T0001",
                "trigger_id": text,
            }
        ).encode()
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
            ) as resp:
                return resp.status

    try:  # until it listens
        await until_answer(lambda: command("help"), lambda status: status == 200, retry_on=(aiohttp.ClientError,))
        inject(sim, path="/pods/app-7d4b9c6f5-x2x7k", delay=1.5, times=1)  # the diagnosis takes a while
        assert await command("why app-7d4b9c6f5-x2x7k -n q1") == 200
        await double.wait_for("chat.postMessage", 1)  # "investigating…" is out: the work is in flight
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
        await double.stop()
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert code == 0, output
    updates = double.to("chat.update")
    assert len(updates) == 1 and "OOMKilled" in text_of(updates[0]["blocks"]), output  # answered
    assert (await rows(f"sqlite+aiosqlite:///{path}"))["diagnoses"] == 1  # and recorded
