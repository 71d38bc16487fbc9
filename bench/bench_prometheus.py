"""Cost of a real Prometheus per scenario: back-fill (OpenMetrics + promtool), start-up, query latency.

.venv/bin/python bench/bench_prometheus.py [--repeats 3] [--queries 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from kubesim import load
from kubesim import prometheus as promserver
from kubesim.history import openmetrics
from kubewhy.adapters.prom import PromMetrics

QUERY = (
    'sum by (container) (rate(container_cpu_cfs_throttled_periods_total{namespace="q10"}[5m])) / '
    'sum by (container) (rate(container_cpu_cfs_periods_total{namespace="q10"}[5m]))'
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    for name in ("workshop/q10-p99-latency", "healthy"):
        scenario = load(name)
        gen, fill, start, inst, rng = [], [], [], [], []
        lines = 0
        for i in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                lines = openmetrics(scenario).count("\n")
                gen.append(time.perf_counter() - t)
                t = time.perf_counter()
                promserver.backfill(scenario, Path(tmp) / "tsdb")
                fill.append(time.perf_counter() - t)
                t = time.perf_counter()
                server = promserver.start(Path(tmp) / "tsdb")
                start.append(time.perf_counter() - t)
                try:
                    if i == args.repeats - 1:
                        prom = PromMetrics(server.url)
                        for _ in range(args.queries):
                            t = time.perf_counter()
                            asyncio.run(prom.query(QUERY))
                            inst.append(time.perf_counter() - t)
                            t = time.perf_counter()
                            asyncio.run(prom.query_range(QUERY, seconds=3600, step=15))
                            rng.append(time.perf_counter() - t)
                finally:
                    server.stop()

        def ms(xs: list[float]) -> str:
            return f"{statistics.median(xs) * 1000:.0f} ms"

        print(
            f"{name}: {lines} OpenMetrics lines; generate {ms(gen)}; back-fill (generate + promtool) {ms(fill)}; "
            f"prometheus ready {ms(start)}; instant query p50 {statistics.median(inst) * 1000:.1f} ms; "
            f"range query (1 h, 15 s step) p50 {statistics.median(rng) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
