"""Slack bot latency: the acknowledgement of `/k8s why` and the full answer, simulator at 20 ms per request; then
people first (issue 24): `/k8s why` during the watchers' start-up storm.

Run:  .venv/bin/python bench/bench_bot.py [--latency-ms 20 --repeats 20 --storm-pods 15000 --storm-singles 10
                                           --burst 30 --no-compare --alternations 1]

- **Quiet**: the real Bolt app in HTTP mode behind aiohttp in this process, signed requests, the workshop scenario
  on a simulator process, the Slack Web API double on loopback: `--repeats` requests one after the other, then
  `--burst` at once (each from its own channel).
- **Storm**: `k8sbot` as the chart deploys it (the bot and the watchers in one process, one application object) as
  a process, against a generated cluster on a simulator process (`--storm-pods` pods, one in 50 crash-looping: one
  incident per 50 pods, all open at start). The ledger is fresh, so every incident pages at start-up, each with
  its diagnosis. From the first page on, a person's signed `/k8s why` of a crash-looping pod, one at a time
  (`--storm-singles`), then `--burst` at once. Each is timed from the signed request to the `chat.update` carrying
  its diagnosis at the Slack double. The pages the double received before the first request and after the last
  answer show that the storm was still running. Then the same run again with the gate off
  (`KUBEWHY_BACKGROUND_DIAGNOSES=0`: every diagnosis starts at once, as before kubewhy/lanes.py), alternated
  `--alternations` times (not in smoke mode, nor with `--no-compare`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_watch import BIN, Sim, base_env, cpu_seconds, failing_workloads, pct
from bot.app import build_app
from bot.deps import BotDeps
from kubewhy.app import Kubewhy
from kubewhy.settings import load
from tests.bot.slack_double import SlackDouble

SECRET = "bench-secret"
ALERTS = "#alerts"
WORKSHOP_POD = "pod/q1/app-7d4b9c6f5-x2x7k"


@dataclass
class AnswerDouble(SlackDouble):
    """The Slack double, noting when each channel's first answer (`chat.update`) and each page arrived."""

    answered: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)
    pages: list[float] = field(default_factory=list)

    def _record(self, method: str, params: dict[str, Any], answer: dict[str, Any] | None = None) -> None:
        now, channel = time.perf_counter(), str(params.get("channel") or "")
        if method == "chat.update" and channel in self.waiting and channel not in self.answered:
            self.answered[channel] = now
            self.waiting[channel].set()
        if method == "chat.postMessage" and channel == ALERTS and not params.get("thread_ts"):
            self.pages.append(now)
        super()._record(method, params, answer)


def signed(text: str, channel: str, response_url: str) -> tuple[str, dict[str, str]]:
    body = urllib.parse.urlencode(
        {
            "team_id": "T0001",
            "channel_id": channel,
            "user_id": "U1",
            "command": "/k8s",
            "text": text,
            "response_url": response_url,
            "trigger_id": "t",
        }
    )
    ts = str(int(time.time()))
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or "",
    }


ANSWER_TIMEOUT = 120.0
LOST = float("inf")  # no answer within ANSWER_TIMEOUT (the bot's log says why)


async def ask(
    http: aiohttp.ClientSession, url: str, double: AnswerDouble, target: str, channel: str
) -> tuple[float, float]:
    """(acknowledgement, full answer) seconds of one signed `/k8s why target` from ``channel``; the answer is
    :data:`LOST` when none came within :data:`ANSWER_TIMEOUT`."""
    done = double.waiting[channel] = asyncio.Event()
    body, headers = signed(f"why {target}", channel, f"{double.url}/response/{channel}")
    t0 = time.perf_counter()
    async with http.post(url, data=body, headers=headers) as resp:
        await resp.read()
        resp.raise_for_status()
    ack = time.perf_counter() - t0
    try:
        await asyncio.wait_for(done.wait(), ANSWER_TIMEOUT)
    except TimeoutError:
        return ack, LOST
    return ack, double.answered[channel] - t0


async def burst(
    http: aiohttp.ClientSession, url: str, double: AnswerDouble, targets: list[str], tag: str
) -> list[float]:
    """Every target asked at once (each from its own channel); the full answers' seconds."""
    got = await asyncio.gather(*(ask(http, url, double, t, f"C{tag}{i}") for i, t in enumerate(targets)))
    return [answer for _, answer in got]


# ---- quiet: the workshop, the bot in this process ---------------------------------------------------------------


async def quiet(latency_ms: float, repeats: int, burst_size: int) -> dict[str, Any]:
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
    double = AnswerDouble()
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
        async with aiohttp.ClientSession() as http:
            for i in range(repeats + 1):
                ack, answer = await ask(http, url, double, WORKSHOP_POD, f"CQ{i}")
                if i:  # the first request warms up connections and Bolt's auth.test
                    acks.append(ack)
                    answers.append(answer)
            together = await burst(http, url, double, [WORKSHOP_POD] * burst_size, "QB")
    finally:
        await runner.cleanup()
        await kubewhy.close()
        await double.stop()
        sim.terminate()
    return {"acks": acks, "answers": answers, "burst": together}


# ---- storm: k8sbot as a process, the watchers paging a generated cluster's open incidents -----------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def crashing(sim: Sim, count: int) -> list[str]:
    """``count`` of a generated cluster's crash-looping pods, spread over it (pod i crashes when i % 50 == 0)."""
    pods = list(range(0, sim.pods, 50))
    step = max(1, len(pods) // max(count, 1))
    return [f"pod/team-{i % 10:02d}/app-{i // 20:04d}-5d8f7b9c4-{i:05d}" for i in pods[::step][:count]]


class K8sbot:
    """`k8sbot` (bot and watchers in one process, as the chart runs it), its log in a file."""

    def __init__(self, work: Path, sim: Sim, api: str, name: str, gated: bool):
        self.port, self.log = free_port(), work / f"{name}.log"
        env = {
            **base_env(work),
            "KUBECONFIG": str(sim.kubeconfig),
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "KUBEWHY_SLACK_API_URL": api,
            "KUBEWHY_SLACK_PORT": str(self.port),
            "KUBEWHY_HEALTH_PORT": str(free_port()),
            "KUBEWHY_ALERT_CHANNEL": ALERTS,
            "KUBEWHY_DATABASE_URL": f"sqlite:///{work / f'{name}.db'}",  # fresh: every open incident pages
            "KUBEWHY_AUDIT_FALLBACK": str(work / f"{name}.jsonl"),
            "KUBEWHY_CLUSTER_NAME": f"bench-{name}",
            "KUBEWHY_WATCH_IDENTITY": name,
        }
        if not gated:
            env["KUBEWHY_BACKGROUND_DIAGNOSES"] = "0"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(BIN / "k8sbot")], env=env, stdout=out, stderr=out)
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def until(self, ready: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"k8sbot exited {self.proc.returncode}:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {what} from k8sbot in {timeout:.0f} s:\n{self.text()[-3000:]}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def storm(args: argparse.Namespace, sim: Sim, failing: int, gated: bool, run: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp())
    double = AnswerDouble()
    api = await double.start()
    bot = K8sbot(work, sim, api, f"storm{run}", gated)
    targets = crashing(sim, max(args.storm_singles, args.burst))
    singles: list[float] = []
    try:
        await bot.until(lambda: "/slack/events" in bot.text(), "listening", 120)
        started = time.perf_counter()
        await bot.until(lambda: double.pages, "first page", 600)
        first_page = time.perf_counter() - started
        before = len(double.pages)
        async with aiohttp.ClientSession() as http:
            for i in range(args.storm_singles):
                singles.append((await ask(http, bot.url, double, targets[i], f"CS{run}x{i}"))[1])
                await asyncio.sleep(args.pause)  # a person reading the answer
            cpu = cpu_seconds(bot.proc.pid)
            together = await burst(http, bot.url, double, targets[: args.burst], f"B{run}x")
            cpu = cpu_seconds(bot.proc.pid) - cpu  # the burst's answers and whatever background ran meanwhile
        after = len(double.pages)
        last = time.perf_counter()
        await asyncio.sleep(2.0)
        later = len(double.pages)
    finally:
        bot.stop()
        await double.stop()
    return {
        "gated": gated,
        "singles": singles,
        "burst": together,
        "failing": failing,
        "nodes": sim.nodes,
        "first_page": first_page,
        "pages_before": before,
        "pages_after": after,
        "pages_later": later,
        "pages_during": sum(1 for t in double.pages if t <= last) - before,
        "burst_cpu": cpu,
        "why_lost": next((line[:200] for line in bot.text().splitlines() if "listener failed" in line), ""),
    }


# ---- report -----------------------------------------------------------------------------------------------------


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def s(x: float) -> str:
    return "no answer" if x == LOST else f"{x:.2f} s"


def report(args: argparse.Namespace, q: dict[str, Any], storms: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    acks, answers = q["acks"], q["answers"]
    lines = [
        f"`/k8s why {WORKSHOP_POD}` on the workshop scenario, simulator latency {args.latency_ms:.0f} ms "
        f"per request, {args.repeats} requests one after the other, then {args.burst} at once",
        "",
        "| measurement | median | p90 | target |",
        "|---|---|---|---|",
        f"| acknowledgement (HTTP response to Slack) | {ms(statistics.median(acks))} | {ms(pct(acks, 0.9))} | 200 ms |",
        f"| full answer (`chat.update` with the diagnosis received) | {ms(statistics.median(answers))} | "
        f"{ms(pct(answers, 0.9))} | 1 s |",
        f"| full answer, {args.burst} at once | {s(statistics.median(q['burst']))} | {s(pct(q['burst'], 0.9))} "
        f"(p95 {s(pct(q['burst'], 0.95))}) | |",
    ]
    targets: list[dict[str, Any]] = [
        {
            "name": "Slack acknowledgement, median",
            "figure": ms(statistics.median(acks)),
            "target": "≤ 200 ms",
            "met": statistics.median(acks) <= 0.2,
        },
        {
            "name": "Slack full answer, median",
            "figure": ms(statistics.median(answers)),
            "target": "≤ 1 s",
            "met": statistics.median(answers) <= 1.0,
        },
    ]
    if storms:
        st = storms[0]
        lines += [
            "",
            f"**People first during the watchers' start-up storm** (issue 24): `k8sbot` as a process (the bot and "
            f"the watchers in one process, as the chart deploys it), a generated cluster of {args.storm_pods:,} pods "
            f"and {storms[0]['nodes']:,} nodes on a simulator process at {args.latency_ms:.0f} ms per "
            f"request, **{st['failing']} crash-looping workloads open at start** (a fresh ledger: each pages, with "
            f"its diagnosis). From the first page on, signed `/k8s why` of crash-looping pods, "
            f"{args.storm_singles} one at a time ({args.pause:g} s apart), then {args.burst} at once; each timed "
            "from the signed request to its `chat.update` at the Slack double. Gate: kubewhy/lanes.py (people 8, "
            "background 2); off: `KUBEWHY_BACKGROUND_DIAGNOSES=0`, every diagnosis at once as before it. The k8sbot "
            "process' CPU seconds from the burst's first request to its last answer depend less on the machine's "
            "load than the wall-clock figures: the answers' own cost, plus what the watchers did meanwhile.",
            "",
            "| run | gate | one at a time: median | max | "
            f"{args.burst} at once: median | p95 | max | k8sbot CPU in the burst | first page | "
            "pages before / while asking / of |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for i, st in enumerate(storms, 1):
            one, many = st["singles"], st["burst"]
            lines.append(
                f"| {i} | {'on' if st['gated'] else 'off'} | {s(statistics.median(one))} | {s(max(one))} | "
                f"{s(statistics.median(many))} | {s(pct(many, 0.95))} | {s(max(many))} | {st['burst_cpu']:.1f} s | "
                f"{st['first_page']:.1f} s | "
                f"{st['pages_before']} / {st['pages_during']} / {st['failing']} |"
            )
        for i, st in enumerate(storms, 1):
            lost = sum(1 for x in st["singles"] + st["burst"] if x == LOST)
            if lost:
                lines += [
                    "",
                    f"**Run {i}: {lost} `/k8s why` got no answer within {ANSWER_TIMEOUT:.0f} s** (the bot's log "
                    f"says why: {st['why_lost'] or 'nothing'}).",
                ]
        on = [st for st in storms if st["gated"]]
        one = [x for st in on for x in st["singles"]]
        many = [x for st in on for x in st["burst"]]
        if on:
            still = all(st["pages_after"] < st["failing"] for st in on)
            lines += [
                "",
                "The storm was still paging when the last answer arrived"
                if still
                else "**The storm had ended before the last answer in some run** (fewer incidents than asked for?)",
            ]
            targets += [
                {
                    "name": f"`/k8s why` during a start-up storm of {on[0]['failing']} incidents, one at a time, max",
                    "figure": s(max(one)),
                    "target": "≤ 2 s",
                    "met": max(one) <= 2.0 and on[0]["failing"] >= 300 and still,
                },
                {
                    "name": f"{args.burst} concurrent `/k8s why` during the storm, p95",
                    "figure": s(pct(many, 0.95)),
                    "target": "≤ 5 s",
                    "met": pct(many, 0.95) <= 5.0 and still,
                },
            ]
    return "\n".join(lines), targets


async def main_async(args: argparse.Namespace) -> None:
    q = await quiet(args.latency_ms, args.repeats, args.burst)
    storms: list[dict[str, Any]] = []
    if args.storm_pods:
        sim = Sim(args.storm_pods, args.latency_ms, Path(tempfile.mkdtemp())).started()
        try:
            failing = failing_workloads(sim.url)
            plan = [True, False] * args.alternations if args.compare else [True] * args.alternations
            for run, gated in enumerate(plan, 1):
                storms.append(await storm(args, sim, failing, gated, run))
        finally:
            sim.stop()
    text, targets = report(args, q, storms)
    print(text)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({"targets": targets}), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument(
        "--storm-pods",
        type=int,
        help="the storm's generated cluster (one incident per 50 pods; 0: no storm); default 15000, or 500 with "
        "--repeats below 3 (the harness's smoke mode)",
    )
    ap.add_argument("--storm-singles", type=int, default=10, help="requests one at a time during the storm")
    ap.add_argument("--burst", type=int, help="requests at once (default 30; 3 in smoke mode)")
    ap.add_argument("--pause", type=float, default=0.5, help="seconds between the storm's single requests")
    ap.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        help="alternate with runs with the gate off (default: on, but not in smoke mode)",
    )
    ap.add_argument("--alternations", type=int, default=1, help="storm runs (with --compare: pairs)")
    ap.add_argument("--json-out", type=Path, help="targets for the harness (bench/__main__.py)")
    args = ap.parse_args()
    smoke = args.repeats < 3
    if args.storm_pods is None:
        args.storm_pods = 500 if smoke else 15000
    if args.burst is None:
        args.burst = 3 if smoke else 30
    if args.compare is None:
        args.compare = not smoke
    if smoke:
        args.storm_singles = min(args.storm_singles, 2)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
