"""`kubewhy demo --prometheus`: Debian's Prometheus scrapes the simulator and the demo's diagnoses query it through
the API server's service proxy (`--prometheus discover` from outside the cluster), so the PromQL path shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_with_prometheus_proves_throttling_with_promql(
    prometheus_binaries: tuple[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEWHY_PROMETHEUS")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubewhy",
            "demo",
            "--scenario",
            "workshop/q10-p99-latency",
            "--once",
            "--full",
            "--no-audit",
            "--prometheus",
            "--kubeconfig-out",
            str(tmp_path / "demo.kubeconfig"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "it is reached through the API server's service proxy as monitoring/" in out
    # The PromQL evidence (rate over 5m), not the kubelet's two samples.
    assert re.search(r"throttled periods / periods over 5m for server: 6\d%", out), out
    assert "kubelet of node-1" not in out
