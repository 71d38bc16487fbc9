"""Slack bot latency: the acknowledgement of `/k8s why` and the full answer, simulator at 20 ms per request.

Run:  .venv/bin/python bench/bench_bot.py [--latency-ms 20 --repeats 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_app
from bot.deps import BotDeps
from kubewhy.app import Kubewhy
from kubewhy.settings import load
from tests.bot.slack_double import SlackDouble

SECRET = "bench-secret"


async def run(latency_ms: float, repeats: int, json_out: Path | None = None) -> None:
    tmp = Path(tempfile.mkdtemp())
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubewhy",
            "sim",
            "serve",
            "--scenario",
            "workshop",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--kubeconfig-out",
            str(tmp / "kc"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    sim.stdout.readline()
    double = SlackDouble()
    api = await double.start()
    settings = load(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "KUBEWHY_SLACK_API_URL": api,
            "KUBECONFIG": str(tmp / "kc"),
            "KUBEWHY_NO_AUDIT": "1",
        }
    )
    kubewhy = Kubewhy(settings, source="slack")
    await kubewhy.open()
    runner = web.AppRunner(build_app(BotDeps.of(kubewhy)).web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
    acks, answers = [], []
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(repeats + 1):
                body = urllib.parse.urlencode(
                    {
                        "team_id": "T0001",
                        "channel_id": "C1",
                        "user_id": "U1",
                        "command": "/k8s",
                        "text": "why pod/q1/app-7d4b9c6f5-x2x7k",
                        "response_url": f"{double.url}/response/1",
                        "trigger_id": "t",
                    }
                )
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
                }
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                ack = time.perf_counter() - t0
                await double.wait_for("chat.update", i + 1)
                answer = time.perf_counter() - t0
                if i:  # the first request warms up connections and Bolt's auth.test
                    acks.append(ack)
                    answers.append(answer)
    finally:
        await runner.cleanup()
        await kubewhy.close()
        await double.stop()
        sim.terminate()

    def p90(xs: list[float]) -> float:
        return sorted(xs)[max(int(len(xs) * 0.9) - 1, 0)]

    print(
        f"`/k8s why pod/q1/app-7d4b9c6f5-x2x7k` on the workshop scenario, simulator latency {latency_ms:.0f} ms "
        f"per request, {repeats} requests\n"
    )
    print("| measurement | median | p90 | target |")
    print("|---|---|---|---|")
    print(
        f"| acknowledgement (HTTP response to Slack) | {statistics.median(acks) * 1000:.0f} ms | "
        f"{p90(acks) * 1000:.0f} ms | 200 ms |"
    )
    print(
        f"| full answer (`chat.update` with the diagnosis received) | {statistics.median(answers) * 1000:.0f} ms | "
        f"{p90(answers) * 1000:.0f} ms | 1 s |"
    )
    if json_out is not None:
        ack, answer = statistics.median(acks), statistics.median(answers)
        json_out.write_text(
            json.dumps(
                {
                    "targets": [
                        {
                            "name": "Slack acknowledgement, median",
                            "figure": f"{ack * 1000:.0f} ms",
                            "target": "≤ 200 ms",
                            "met": ack <= 0.2,
                        },
                        {
                            "name": "Slack full answer, median",
                            "figure": f"{answer * 1000:.0f} ms",
                            "target": "≤ 1 s",
                            "met": answer <= 1.0,
                        },
                    ]
                }
            ),
            encoding="utf-8",
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json-out", type=Path, help="targets for the harness (bench/__main__.py)")
    args = ap.parse_args()
    asyncio.run(run(args.latency_ms, args.repeats, args.json_out))


if __name__ == "__main__":
    main()
