"""`kubewhy why` of a crashing pod vs the human kubectl loop, on a large simulated cluster with API latency.

Run:  .venv/bin/python bench/bench_why.py [--pods 5000 --nodes 250 --latency-ms 20 --repeats 20]
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubesim.generate import large_scenario
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose


class RemoteSim:
    """The control API of a simulator in another process."""

    def __init__(self, url: str, kubeconfig: Path):
        self.url, self.kubeconfig = url, kubeconfig

    def _call(self, route: str, method: str = "GET") -> dict:
        import json
        import urllib.request

        req = urllib.request.Request(f"{self.url}/kubesim/v1/{route}", method=method, data=b"{}" if method == "POST"
                                     else None, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, int]:
        return self._call("stats")["requests"]

    def reset_stats(self) -> None:
        self._call("stats/reset", "POST")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--nodes", type=int, default=250)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    scenario = large_scenario(pods=args.pods, nodes=args.nodes, events=args.events)
    crashing = next(o for o in scenario.objects if o["kind"] == "Pod"
                    and o["status"]["containerStatuses"][0].get("lastState"))
    ns, name = crashing["metadata"]["namespace"], crashing["metadata"]["name"]
    tmp = Path(tempfile.mkdtemp())
    # The simulator runs in its own process, as an API server would: sharing the GIL would bill its
    # JSON encoding and selector scans to the client being measured.
    server = subprocess.Popen([sys.executable, "-m", "kubewhy", "sim", "serve", "--port", "0", "--latency-ms",
                               str(args.latency_ms), "--generate",
                               f"pods={args.pods},nodes={args.nodes},events={args.events}",
                               "--kubeconfig-out", str(tmp / "kubeconfig")], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline() if server.stdout else ""
    url = line.rsplit(" at ", 1)[-1].strip()
    sim = RemoteSim(url, tmp / "kubeconfig")
    try:
        catalog = load_dirs([])
        kube = LiveKube(build_api_client(str(sim.kubeconfig)))
        target = parse_target(f"pod/{ns}/{name}")

        async def once() -> tuple[float, int, list[str]]:
            before = kube.requests
            t0 = time.perf_counter()
            report = await diagnose(target, Deps(kube=kube, catalog=catalog))
            return time.perf_counter() - t0, kube.requests - before, [f.id for f in report.findings]

        asyncio.run(once())  # warm-up: connection pool, imports
        runs = [asyncio.run(once()) for _ in range(args.repeats)]
        walls = [r[0] for r in runs]
        requests = runs[-1][1]
        sim.reset_stats()
        asyncio.run(once())
        by_kind = sim.stats()
        human = [["get", "pod", name, "-n", ns], ["describe", "pod", name, "-n", ns],
                 ["logs", name, "-n", ns, "--previous"],
                 ["get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}"],
                 ["describe", "node", crashing["spec"]["nodeName"]]]
        human_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            for cmd in human:
                subprocess.run(["kubectl", "--kubeconfig", str(sim.kubeconfig), *cmd], capture_output=True,
                               check=False)
            human_times.append(time.perf_counter() - t0)
        sim.reset_stats()
        for cmd in human:
            subprocess.run(["kubectl", "--kubeconfig", str(sim.kubeconfig), *cmd], capture_output=True, check=False)
        human_requests = sum(sim.stats().values())
    finally:
        server.terminate()
        server.wait(timeout=10)
    rtt = args.latency_ms / 1000
    median = statistics.median(walls)
    budget = 4 * rtt + 0.050
    print(f"Cluster: {args.pods} pods, {args.nodes} nodes, {args.events} events; simulator latency "
          f"{args.latency_ms:.0f} ms per request; target pod/{ns}/{name} (findings: {', '.join(runs[-1][2])})\n")
    print("| measurement | result |")
    print("|---|---|")
    print(f"| `kubewhy why` (library call), median of {args.repeats} | {median * 1000:.0f} ms "
          f"(p90 {sorted(walls)[int(len(walls) * 0.9) - 1] * 1000:.0f} ms; budget 4 round trips + 50 ms = "
          f"{budget * 1000:.0f} ms: {'met' if median <= budget else 'NOT met'}) |")
    print(f"| API requests per diagnosis | {requests} (budget 12: {'met' if requests <= 12 else 'NOT met'}) — "
          f"{', '.join(f'{k}: {v}' for k, v in sorted(by_kind.items()))} |")
    print(f"| human loop: 5 kubectl commands (get, describe pod, logs --previous, get events, describe node), "
          f"median of 3 | {statistics.median(human_times) * 1000:.0f} ms, {human_requests} API requests |")
    print(f"| ratio human loop / kubewhy | {statistics.median(human_times) / median:.1f}× |")


if __name__ == "__main__":
    main()
