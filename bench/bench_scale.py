"""The watchers at Kubernetes' published scalability thresholds (issue 24): 150,000 pods on 5,000 nodes (30 a
node, under the 110 limit), 150,000 events; the simulator in its own process, `kubewhy watch` as a process paging
the Slack Web API double (in this process), as bench/bench_watch.py runs them.

Run:  .venv/bin/python bench/bench_scale.py [--pods 150000 --nodes 5000 --failing 300 --new 10 --window 300]
      (or through the harness: .venv/bin/python -m bench --only scale)

1. **The simulator**: `kubewhy sim serve --generate pods=…,nodes=…,events=…,failing=…`: seconds to serve and its
   RSS; its throughput, a paged LIST of every pod (500 a page) by this process, pages/s, and the requests/s it
   served while the watchers started.
2. **First run**: the watchers start on a cluster with ``--failing`` crash-looping workloads and page each one:
   the ledger then holds that many open incidents (the start-up storm is timed and counted).
3. **While the watchers are down**: one node's Ready turns Unknown (critical) and ``--new`` healthy pods of other
   workloads start crash-looping (warning): incidents the ledger does not know.
4. **Second run**: the clock starts as the process is started; it stops at the first top-level page at the double,
   which must be one of the new incidents (not a page or reminder of an open one). Then every new incident's
   page, and what else was posted (nothing top-level for the open ones is the target).
5. **Steady state**: once the double has been quiet for 15 s, the simulator's request counters are reset and read
   again after ``--window`` seconds: the watches and the Lease (the budget, ≤ 15/min), the kubelet sampler's node
   proxy reads and the change log's watches on their own lines. The periodic re-list compare (every 600 s) is
   outside a 300 s window: its pages are stated as their own per-minute line, counted with the informer's own
   ``relist_limit`` (a re-list of a full cache asks for pages of at least a twentieth of it).
6. **Memory**: the watcher's VmRSS sampled every second through the second run; steady = at the end, peak = VmHWM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_watch import (  # noqa: E402
    BIN,
    LEADS,
    Sim,
    TimedDouble,
    WatchProc,
    control,
    cpu_seconds,
    drained,
    failing_workloads,
    node_not_ready,
    now_iso,
    status_of,
    watch_env,
)
from kubewhy.watch.engine import WatchOptions  # noqa: E402
from kubewhy.watch.informer import RELIST_EVERY, relist_limit  # noqa: E402

WATCHER_KINDS = ("pods", "nodes", "events", "leases")  # the budget: the watchers' watches (and LISTs) and the Lease


class ScaleSim(Sim):
    """`kubewhy sim serve --generate pods=…,nodes=…,events=…,failing=…` in its own process."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.pods, self.nodes = args.pods, args.nodes
        self.kubeconfig = work / "sim-scale.kubeconfig"
        self.spec = args_spec(args)
        self.t0 = time.perf_counter()
        serve = [str(BIN / "kubewhy"), *"sim serve --port 0 --latency-ms".split(), str(args.latency_ms)]
        self.proc = subprocess.Popen(
            [*serve, "--generate", self.spec, "--kubeconfig-out", str(self.kubeconfig)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = ""
        self.ready_s = 0.0

    def started(self) -> ScaleSim:
        super().started()
        self.ready_s = time.perf_counter() - self.t0
        return self


def top_pages(double: TimedDouble, since: int) -> list[tuple[float, str]]:
    return [
        (t, str(p.get("text", "")))
        for t, m, p in double.arrivals[since:]
        if m == "chat.postMessage" and not p.get("thread_ts")
    ]


async def list_throughput(url: str, limit: int = 500) -> dict[str, float]:
    """Every pod, ``limit`` a page, as one client pages it: pages/s and MB/s (the client's JSON decoding
    included; it is this process's, not the simulator's)."""
    import aiohttp

    pages = items = size = 0
    token: str | None = None
    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while True:
            params = {"limit": str(limit), **({"continue": token} if token else {})}
            async with http.get(f"{url}/api/v1/pods", params=params) as r:
                body = await r.read()
            doc = json.loads(body)
            pages, items, size = pages + 1, items + len(doc["items"]), size + len(body)
            token = doc["metadata"].get("continue")
            if not token:
                break
    took = time.perf_counter() - t0
    return {"pages": pages, "items": items, "seconds": took, "mb": size / 1e6}


def new_failures(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """Healthy pods of workloads that are not failing, one per workload, spread over the cluster: (namespace, pod,
    app). The generator's failing pods are every ``pods // failing``-th; these sit halfway between two."""
    every = max(1, args.pods // max(args.failing, 1))
    out = []
    for k in range(args.new):
        i = (every // 2 + k * every * max(1, args.failing // max(args.new, 1)) + k) % args.pods  # k: its namespace
        app = f"app-{i // 20:04d}"
        out.append((f"team-{i % 10:02d}", f"{app}-5d8f7b9c4-{i:05d}", app))
    return out


async def crash(http: Any, url: str, ns: str, name: str) -> None:
    """A pod's container starts crash-looping: OOM-killed a minute ago, restarted 5 times, back-off now."""
    ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    status = {
        "status": {
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": ago}],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "started": False,
                    "restartCount": 5,
                    "image": "registry.example.com/app:1.4.2",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                    "lastState": {
                        "terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": ago, "finishedAt": ago}
                    },
                }
            ],
        }
    }
    async with http.patch(
        f"{url}/api/v1/namespaces/{ns}/pods/{name}/status",
        data=json.dumps(status),
        headers={"Content-Type": "application/merge-patch+json"},
    ) as r:
        r.raise_for_status()


async def sample_rss(pid: int, into: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            into.append(status_of(pid).get("VmRSS", 0.0))
        except OSError:
            return
        await asyncio.sleep(1.0)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {"pods": args.pods, "nodes": args.nodes, "events": args.events, "failing": args.failing}
    sim = ScaleSim(args, work).started()
    out["sim_ready_s"] = sim.ready_s
    out["sim_rss"] = status_of(sim.proc.pid).get("VmRSS", 0.0)
    double = TimedDouble()
    await double.start()
    procs: list[WatchProc] = []
    try:
        out["failing_workloads"] = failing_workloads(sim.url)
        # -- first run: the storm that opens the incidents -----------------------------------------------------
        t0 = time.perf_counter()
        first = WatchProc(watch_env(work, sim, double.url, "scale"), work / "first.log", "--grace", "0s")
        procs.append(first)
        await first.wait_for(LEADS, args.cap)
        await first.wait_for("watching", args.cap)
        out["first_synced_s"] = time.perf_counter() - t0
        storm_pages = 0
        while storm_pages < out["failing_workloads"] and time.perf_counter() - t0 < args.cap:
            storm_pages, _ = await drained(double, quiet=15.0, cap=args.cap)  # a pause (a locked database) is no end
        last = max((t for t, m, _ in double.arrivals if m == "chat.postMessage"), default=t0)
        out["storm_pages"], out["storm_s"] = storm_pages, last - t0 - out["first_synced_s"]
        out["first_rss"] = status_of(first.proc.pid)
        first.stop()
        # -- while the watchers are down ------------------------------------------------------------------------
        node = f"node-{args.nodes - 1:04d}"  # hosts none of the failing pods (every 500th, and the new ones)
        fresh = new_failures(args)
        async with aiohttp.ClientSession() as http:
            await node_not_ready(http, sim.url, node)
            for ns, name, _ in fresh:
                await crash(http, sim.url, ns, name)
        news = [f"node {node}"] + [name for _, name, _ in fresh]
        # -- second run: from the process's start to the first page of a new incident ----------------------------
        mark = len(double.arrivals)
        sim_cpu0, stats0 = cpu_seconds(sim.proc.pid), control(sim.url, "stats")
        t0 = time.perf_counter()
        second = WatchProc(watch_env(work, sim, double.url, "scale"), work / "second.log", "--grace", "0s")
        procs.append(second)
        rss: list[float] = []
        stop_rss = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(second.proc.pid, rss, stop_rss))
        await second.wait_for(LEADS, args.cap)
        out["second_leads_s"] = time.perf_counter() - t0
        pages_at: dict[str, float] = {}
        deadline = time.monotonic() + args.cap
        synced_at = None
        while len(pages_at) < len(news) and time.monotonic() < deadline:
            if synced_at is None and "watching" in second.text():
                synced_at = time.perf_counter() - t0
            for t, text in top_pages(double, mark):
                for n in news:
                    if n in text and n not in pages_at:
                        pages_at[n] = t - t0
            if second.proc.poll() is not None:
                raise RuntimeError(f"kubewhy watch exited:\n{second.text()[-3000:]}")
            await asyncio.sleep(0.05)
        if synced_at is None:
            await second.wait_for("watching", args.cap)
            synced_at = time.perf_counter() - t0
        out["second_synced_s"] = synced_at
        tops = top_pages(double, mark)
        out["first_page_s"] = tops[0][0] - t0 if tops else None
        out["first_page_new"] = bool(tops) and any(n in tops[0][1] for n in news)
        out["first_page_text"] = tops[0][1][:120] if tops else ""
        out["new_pages"] = {n: pages_at.get(n) for n in news}
        workloads = [v for n, v in out["new_pages"].items() if not n.startswith("node ") and v is not None]
        out["first_workload_s"] = min(workloads) if workloads else None
        quiet_pages, _ = await drained(double, cap=args.cap)
        tops = top_pages(double, mark)
        out["second_top_pages"] = len(tops)
        out["second_old_pages"] = sum(1 for _, text in tops if not any(n in text for n in news))
        out["second_replies"] = sum(
            1 for _, m, p in double.arrivals[mark:] if m == "chat.postMessage" and p.get("thread_ts")
        )
        stats1 = control(sim.url, "stats")
        took = time.perf_counter() - t0
        out["startup_requests"] = int(stats1["total"]) - int(stats0["total"])
        out["startup_seconds"] = took
        out["startup_sim_cpu"] = cpu_seconds(sim.proc.pid) - sim_cpu0
        before = dict(stats0["requests"])
        out["list_pods_pages"] = int(stats1["requests"].get("list pods", 0)) - int(before.get("list pods", 0))
        out["list_nodes_pages"] = int(stats1["requests"].get("list nodes", 0)) - int(before.get("list nodes", 0))
        # -- steady state ------------------------------------------------------------------------------------
        control(sim.url, "stats/reset", "POST")
        w0 = time.monotonic()
        await asyncio.sleep(args.window)
        stats = control(sim.url, "stats")
        out["window_s"] = time.monotonic() - w0
        out["by_kind"] = dict(stats["requests"])
        out["steady_rss"] = status_of(second.proc.pid)
        stop_rss.set()
        await sampler
        out["rss_samples"] = rss
        second.stop()
        # -- the simulator's own throughput, on its own -------------------------------------------------------
        cpu0 = cpu_seconds(sim.proc.pid)
        out["list"] = await list_throughput(sim.url)
        out["list"]["sim_cpu"] = cpu_seconds(sim.proc.pid) - cpu0
    finally:
        for p in procs:
            p.stop()
        await double.stop()
        sim.stop()
    return out


def report(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, Any]:
    targets: list[dict[str, Any]] = []

    def target(name: str, figure: str, goal: str, met: bool) -> None:
        targets.append({"name": name, "figure": figure, "target": goal, "met": met})

    minutes = r["window_s"] / 60
    kinds = r["by_kind"]

    def per_min(match: Any) -> float:
        return float(sum(v for k, v in kinds.items() if match(k)) / minutes)

    def verb_kind(k: str) -> tuple[str, str]:
        verb, _, kind = k.partition(" ")
        return verb, kind

    budget = per_min(lambda k: verb_kind(k)[1] in WATCHER_KINDS and "proxy" not in k)
    lease = per_min(lambda k: verb_kind(k)[1] == "leases")
    sampler = per_min(lambda k: "proxy" in k)
    changes = per_min(lambda k: verb_kind(k)[1] not in WATCHER_KINDS and "proxy" not in k)
    page = WatchOptions.__dataclass_fields__["page_size"].default
    pod_page, node_page = relist_limit(page, r["pods"]), relist_limit(page, r["nodes"])
    full_list = -(-r["pods"] // pod_page) + -(-r["nodes"] // node_page)  # the informers' pages of one re-list
    relist = full_list / (RELIST_EVERY / 60)
    rss_steady = r["steady_rss"].get("VmRSS", 0.0)
    rss_peak = r["steady_rss"].get("VmHWM", 0.0)
    lst = r["list"]
    new = r["new_pages"]
    got = [v for v in new.values() if v is not None]
    first = r["first_page_s"]
    lines = [
        f"**Load.** A simulator process serving `--generate {args_spec(args)}` ({args.latency_ms:g} ms added to "
        f"every API request): {r['pods']:,} pods on {r['nodes']:,} nodes ({r['pods'] // r['nodes']} a node; the "
        f"limit is 110), {r['events']:,} events, {r['failing_workloads']} workloads crash-looping. "
        "`python -m kubewhy watch --grace 0s` as a process (default settings: leader election, the kubelet "
        "sampler, the change log), paging the Slack Web API double in the benchmark's process.",
        "",
        "| step | measurement | result |",
        "|---|---|---|",
        f"| simulator | process start → serving; RSS | {r['sim_ready_s']:.1f} s; {r['sim_rss']:.0f} MB |",
        f"| simulator | a paged LIST of every pod (500 a page) by one client | {lst['pages']} pages in "
        f"{lst['seconds']:.1f} s: {lst['pages'] / lst['seconds']:.1f} pages/s, "
        f"{lst['items'] / lst['seconds']:,.0f} pods/s, {lst['mb'] / lst['seconds']:.1f} MB/s "
        f"(simulator CPU {lst['sim_cpu']:.1f} s: {lst['pages'] / max(lst['sim_cpu'], 0.01):.0f} pages "
        "per CPU-second) |",
        f"| simulator | during the second start-up | {r['startup_requests']:,} requests in "
        f"{r['startup_seconds']:.0f} s ({r['startup_requests'] / r['startup_seconds']:.1f}/s), simulator CPU "
        f"{r['startup_sim_cpu']:.1f} s |",
        f'| first run | synced ("watching") | {r["first_synced_s"]:.1f} s |',
        f"| first run | the storm: pages for {r['failing_workloads']} failing workloads | "
        f"{r['storm_pages']} pages, the last {r['storm_s']:.0f} s after sync |",
        f"| second run | {r['storm_pages']} incidents open in the ledger; new while down: 1 node NotReady "
        f"(critical), {args.new} workloads crash-looping (warning) | |",
        f"| second run | process start → leads; → synced | {r['second_leads_s']:.1f} s; "
        f"{r['second_synced_s']:.1f} s ({r['list_pods_pages']} pages of pods, {r['list_nodes_pages']} of nodes) |",
        "| second run | process start → first page at the double | "
        + (f"**{first:.1f} s**" if first is not None else "none")
        + f" ({'a new incident' if r['first_page_new'] else 'NOT a new incident'}: {r['first_page_text']!r}) |",
        "| second run | process start → first page of a new workload (pods still listing, or listed) | "
        + (f"{r['first_workload_s']:.1f} s" if r["first_workload_s"] is not None else "none")
        + " |",
        f"| second run | process start → every new incident paged | {len(got)} of {len(new)}"
        + (f", the last at {max(got):.1f} s" if got else "")
        + " |",
        f"| second run | other top-level pages; thread replies | {r['second_old_pages']}; {r['second_replies']} |",
        f"| steady ({r['window_s']:.0f} s window) | watches + Lease (the budget) | {budget:.1f}/min "
        f"(Lease {lease:.1f}) |",
        f"| steady | periodic re-list compare (every {RELIST_EVERY:.0f} s, not in the window) | {full_list} "
        f"pages a re-list ({pod_page:,} pods, {node_page:,} nodes a page, as kubewhy/watch/informer.py asks): "
        f"{relist:.1f}/min |",
        f"| steady | kubelet sampler (node proxy reads) | {sampler:.1f}/min |",
        f"| steady | change log watches | {changes:.1f}/min |",
        f"| memory | watcher RSS steady (peak) | {rss_steady:.0f} MB ({rss_peak:.0f} MB) |",
        "",
        "Requests by kind in the window: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
    ]
    target(
        f"watcher RSS at {r['pods']:,} pods, {r['nodes']:,} nodes",
        f"{rss_steady:.0f} MB (peak {rss_peak:.0f} MB)",
        "≤ 1 GB",
        rss_peak <= 1024,
    )
    target(
        f"steady requests/min at {r['pods']:,} pods (watches and Lease, the 10-minute re-list averaged in)",
        f"{budget + relist:.1f}/min ({budget:.1f} in the window + re-list {relist:.1f})",
        "≤ 15/min",
        budget + relist <= 15,
    )
    target(
        f"first page of a new incident, {r['storm_pages']} incidents open, {r['pods']:,} pods",
        f"{first:.1f} s" if first is not None else "none",
        "≤ 10 s from start",
        first is not None and first <= 10 and r["first_page_new"],
    )
    return {
        "title": "Watchers at 150,000 pods and 5,000 nodes (issue 24)",
        "targets": targets,
        "markdown": "\n".join(lines),
        "command": " ".join(["bench/bench_scale.py", *sys.argv[1:]]),
    }


def args_spec(args: argparse.Namespace) -> str:
    return f"pods={args.pods},nodes={args.nodes},events={args.events},failing={args.failing}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--nodes", type=int, default=5_000)
    ap.add_argument("--events", type=int, default=150_000)
    ap.add_argument("--failing", type=int, default=300, help="crash-looping workloads: the incidents left open")
    ap.add_argument(
        "--new", type=int, default=10, help="workloads that start crash-looping while the watchers are down"
    )
    ap.add_argument("--latency-ms", type=float, default=20.0, help="added to every simulated API request")
    ap.add_argument("--window", type=float, default=300.0, help="seconds of steady state counted")
    ap.add_argument("--cap", type=float, default=1200.0, help="seconds any one phase may take")
    ap.add_argument("--json-out", type=Path, help="write the section for the harness (bench/__main__.py) here")
    ap.add_argument("--keep-logs", type=Path, help="copy the watchers' logs (first.log, second.log) here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kubewhy-bench-scale-"))
    started = now_iso()
    try:
        result = asyncio.run(run(args, work))
    finally:
        import shutil

        if args.keep_logs:  # the watchers' -v logs of both runs, to see where a start-up spent its time
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(work, ignore_errors=True)
    section = report(args, result)
    section["markdown"] += f"\n\nStarted {started}."
    if args.json_out:
        args.json_out.write_text(json.dumps(section, indent=1), encoding="utf-8")
    print(section["markdown"])
    for t in section["targets"]:
        print(f"- {t['name']}: {t['figure']} (target {t['target']}: {'met' if t['met'] else 'NOT met'})")


if __name__ == "__main__":
    main()
