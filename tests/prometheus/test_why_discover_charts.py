"""The README's ``kubewhy why pod/x --prometheus discover --chart-dir ./charts``, end to end: the simulator's
Prometheus Service is discovered and, since its ``*.svc`` name only resolves inside a cluster, queried through the
API server's service proxy (the simulator forwards it to a real Prometheus); the diagnosis and the chart are
written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TARGET = "pod/q10/server-7b6f4c9d8c-jhk7g"


def test_readme_why_with_prometheus_discover_and_chart_dir(  # type: ignore[no-untyped-def]
    start_sim,
    prometheus_for,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    upstream = prometheus_for("workshop/q10-p99-latency").url
    sim = start_sim(
        "workshop",
        timeline_mode="manual",
        service_proxies={
            "monitoring/kube-prometheus-stack-prometheus": upstream,
            "monitoring/prometheus-operated": upstream,
        },
    )
    charts = tmp_path / "charts"
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("KUBEWHY_DATABASE_URL", None)
    proc = subprocess.run(
        check=False,
        args=[sys.executable, "-m", "kubewhy", "why", TARGET, "--prometheus", "discover", "--chart-dir", str(charts)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "asyncio.run() cannot be called" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sim.server.requests["proxy services"] >= 2  # the discovered server, through the API server
    assert "cpu-throttling" in proc.stdout or "throttl" in proc.stdout.lower()
    pngs = list(charts.glob("*.png"))
    assert pngs and pngs[0].stat().st_size > 10_000, proc.stderr  # a real chart from the real Prometheus
