"""Regenerate the sample charts in docs/charts/ from the bundled scenarios over a real, back-filled Prometheus.

.venv/bin/python scripts/sample_charts.py [OUTDIR]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from kubesim import load, load_paths
from kubesim import prometheus as promserver
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom import PromMetrics
from kubewhy.charts import chart_data, chart_filename, render_png, text_chart
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("workshop/q10-p99-latency", "pod/q10/server-7b6f4c9d8c-jhk7g"),
    (str(ROOT / "kubesim/scenarios/catalogue/memory-near-limit.yaml"), "pod/mem/api-5c8d7f9b6d-k2m4p"),
    (str(ROOT / "kubesim/scenarios/catalogue/pvc-filling.yaml"), "pvc/ingest/data-collector-0"),
]


async def one(scenario: str, target: str, out: Path, workdir: Path) -> None:
    sc = load_paths([Path(scenario)]) if Path(scenario).is_file() else load(scenario)
    server = promserver.serve_scenario_history(sc, workdir)
    try:
        kube = SnapshotKube([Path(p) for p in sc.sources])
        catalog = load_dirs([])
        prom = PromMetrics(server.url)
        report = await diagnose(parse_target(target), Deps(kube=kube, catalog=catalog, clock=kube.clock, prom=prom))
        for finding in report.findings:
            if finding.chart and finding.subject == target:
                data = await chart_data(finding, catalog=catalog, kube=kube, prom=prom)
                path = render_png(data, out / chart_filename(finding))
                print(path)
                print("\n".join(text_chart(data)))
    finally:
        server.stop()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "charts"
    with tempfile.TemporaryDirectory() as tmp:
        for i, (scenario, target) in enumerate(CASES):
            asyncio.run(one(scenario, target, out, Path(tmp) / str(i)))


if __name__ == "__main__":
    main()
