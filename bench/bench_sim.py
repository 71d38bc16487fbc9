"""Simulator benchmarks: LIST of a 10,000-pod cluster, kubectl's paged `get pods -A` / `get events -A`, and WATCH
fan-out under event churn.

Run:  .venv/bin/python bench/bench_sim.py [--pods 10000 --nodes 500 --events 50000 --rate 1000 --watchers 10]
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubesim.generate import large_scenario
from kubesim.runner import run_in_thread
from kubesim.server import SimOptions

_WAITED = re.compile(r'Waited (?:before sending request" delay="|for )([0-9.]+)(ms|s|µs)')


def bench_kubectl(kubeconfig: Path, resource_name: str, repeats: int, *extra: str) -> list[tuple[float, float]]:
    """Wall time of `kubectl get RESOURCE -A` (paged 500 at a time, server-side tables), as a user waits for it,
    and the part of it kubectl spent in its own client-side rate limiter (client-go's 5 requests/s after a burst
    of 10, which kubectl cannot change: kubernetes/kubernetes#110606), summed from what it logs at -v=4."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return []
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", resource_name, "-A", "-v=4", *extra],
            capture_output=True,
            text=True,
            timeout=300,
        )
        wall = time.perf_counter() - t0
        assert proc.returncode == 0, proc.stderr[-2000:]
        waited = sum(float(v) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit] for v, unit in _WAITED.findall(proc.stderr))
        out.append((wall, waited))
    return out


def bench_serve(args: argparse.Namespace) -> tuple[float, float]:
    """`kubewhy sim serve --generate …` as a user starts it: seconds from the process start to its first answer
    (/version), and its RSS then (MiB)."""
    exe = Path(sys.executable).with_name("kubewhy")
    spec = f"pods={args.pods},nodes={args.nodes},events={args.events}"
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "sim", "serve", "--generate", spec, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 120:
                    raise RuntimeError("kubewhy sim serve did not start") from None
                time.sleep(0.02)
        ready = time.perf_counter() - t0
        rss_kb = int(Path(f"/proc/{proc.pid}/status").read_text().split("VmRSS:")[1].split()[0])
        return ready, rss_kb / 1024
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bench_paged(url: str, plural: str) -> tuple[float, int]:
    """The server's share of `kubectl get PLURAL -A`: every page of 500 as a server-side Table, back to back."""
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    pages, token, t0 = 0, "", time.perf_counter()
    async with aiohttp.ClientSession(headers={"Accept": accept}) as session:
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            async with session.get(f"{url}/api/v1/{plural}", params=params) as resp:
                body = await resp.json()
            pages += 1
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return time.perf_counter() - t0, pages


async def bench_list(url: str, repeats: int) -> list[float]:
    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(repeats):
            t0 = time.perf_counter()
            async with session.get(f"{url}/api/v1/pods") as resp:
                body = await resp.read()
            times.append(time.perf_counter() - t0)
            assert resp.status == 200
        items = len(json.loads(body)["items"])
    print(f"  LIST /api/v1/pods -> {items} items, {len(body) / 2**20:.1f} MiB", file=sys.stderr)
    return times


async def bench_watch(url: str, watchers: int, rate: float, seconds: float) -> tuple[int, list[int], float]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        async with session.get(f"{url}/api/v1/namespaces/churn/events?limit=1") as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        counts = [0] * watchers

        async def watch(i: int) -> None:
            params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": str(int(seconds + 5))}
            async with session.get(f"{url}/api/v1/namespaces/churn/events", params=params) as resp:
                async for _line in resp.content:
                    counts[i] += 1
                    if counts[i] >= int(rate * seconds):
                        return

        tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        async with session.post(
            f"{url}/kubesim/v1/churn", json={"rate": rate, "seconds": seconds, "namespace": "churn"}
        ) as resp:
            assert resp.status == 200
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 30)
        elapsed = time.perf_counter() - t0
        return int(rate * seconds), counts, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--watchers", type=int, default=10)
    args = ap.parse_args()
    serve_s, serve_rss = bench_serve(args)
    t0 = time.perf_counter()
    scenario = large_scenario(pods=args.pods, nodes=args.nodes, events=args.events)
    kubeconfig = Path(tempfile.mkdtemp(prefix="kubewhy-bench-sim-")) / "sim.kubeconfig"
    sim = run_in_thread(scenario, SimOptions(), kubeconfig_out=kubeconfig)
    load_s = time.perf_counter() - t0
    try:
        list_times = asyncio.run(bench_list(sim.url, args.repeats))
        kubectl_repeats = max(1, min(args.repeats, 3))
        get_pods, get_events, whole_pods, whole_events = [], [], [], []
        for _ in range(kubectl_repeats):  # the two sides alternated, one round at a time
            get_pods += bench_kubectl(kubeconfig, "pods", 1)
            get_events += bench_kubectl(kubeconfig, "events", 1)
            whole_pods += bench_kubectl(kubeconfig, "pods", 1, "--chunk-size=0")
            whole_events += bench_kubectl(kubeconfig, "events", 1, "--chunk-size=0")
        paged = {plural: asyncio.run(bench_paged(sim.url, plural)) for plural in ("pods", "events")}
        sent, counts, elapsed = asyncio.run(bench_watch(sim.url, args.watchers, args.rate, args.seconds))
    finally:
        sim.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| measurement | result |")
    print("|---|---|")
    print(
        f"| `kubewhy sim serve --generate pods={args.pods},nodes={args.nodes},events={args.events}`: process start "
        f"to its first answer | {serve_s:.1f} s, RSS {serve_rss:.0f} MiB (target under 3 s: "
        f"{'met' if serve_s < 3 else 'not met'}) |"
    )
    print(
        f"| generate + load {args.pods} pods / {args.nodes} nodes / {args.events} events, in process | "
        f"{load_s:.1f} s (target under 3 s: {'met' if load_s < 3 else 'not met'}) |"
    )
    print(
        f"| LIST /api/v1/pods ({args.pods} pods), median of {args.repeats} | "
        f"{statistics.median(list_times) * 1000:.0f} ms (min {min(list_times) * 1000:.0f} ms) |"
    )
    for plural, (seconds, pages) in paged.items():
        print(
            f"| server's share of `get {plural} -A`: {pages} pages of 500 as Tables, back to back | {seconds:.1f} s |"
        )
    if paged["events"][0] and paged["pods"][0]:
        share = paged["events"][0] / paged["pods"][0]
        print(f"| server's share, events ÷ pods ({args.events / args.pods:g}× the objects) | {share:.1f}× |")
    if get_pods and get_events:

        def med(runs: list[tuple[float, float]], i: int) -> float:
            return statistics.median(r[i] for r in runs)

        pods_s, events_s = med(get_pods, 0), med(get_events, 0)
        pods_w, events_w = med(get_pods, 1), med(get_events, 1)
        n = len(get_pods)
        print(
            f"| `kubectl get pods -A` ({args.pods} pods), median of {n} | {pods_s:.1f} s, of which {pods_w:.1f} s "
            f"in kubectl's own rate limiter |"
        )
        print(
            f"| `kubectl get events -A` ({args.events} events), median of {n} | {events_s:.1f} s, of which "
            f"{events_w:.1f} s in kubectl's own rate limiter |"
        )
        print(
            f"| events ÷ pods, kubectl wall | {events_s / pods_s:.1f}× (target within 3×: "
            f"{'met' if events_s <= 3 * pods_s else 'not met: kubectl waits in its own rate limiter'}) |"
        )
        rest = (events_s - events_w) / max(pods_s - pods_w, 1e-9)
        print(f"| events ÷ pods, kubectl wall less its rate-limiter wait | {rest:.1f}× |")
    if whole_pods and whole_events:
        wp, we = statistics.median(r[0] for r in whole_pods), statistics.median(r[0] for r in whole_events)
        print(
            f"| `--chunk-size=0` (one request, no rate limiting): events {we:.1f} s ÷ pods {wp:.1f} s | "
            f"{we / wp:.1f}× |"
        )
    delivered = sum(counts)
    print(
        f"| WATCH fan-out: {args.rate:.0f} events/s for {args.seconds:.0f} s to {args.watchers} watchers | "
        f"{delivered}/{sent * args.watchers} events delivered in {elapsed:.1f} s "
        f"({delivered / elapsed:.0f} events/s out) |"
    )
    print(f"| peak RSS (simulator + client, one process) | {rss:.0f} MiB |")


if __name__ == "__main__":
    main()
