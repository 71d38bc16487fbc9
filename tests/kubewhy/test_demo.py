"""The README's first command runs `kubewhy demo`: the workshop on the simulator, diagnosed and recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_diagnoses_the_workshop_and_records_it(tmp_path: Path) -> None:
    env = {**os.environ, "KUBEWHY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"}
    proc = subprocess.run([sys.executable, "-m", "kubewhy", "demo", "--once", "--kubeconfig-out",
                           str(tmp_path / "demo.kubeconfig")], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    q1 = next(line for line in out.splitlines() if "pod/q1/app-7d4b9c6f5-x2x7k" in line)
    assert "oom-killed" in q1 or "liveness-throttled" in q1
    for expected in ("node-not-ready", "clock-skew", "service-no-endpoints", "statefulset-pvc-full",
                     "configmap-not-updated", "hpa-not-scaling", "rwo-multi-attach", "servicemonitor-ignored"):
        assert expected in out, expected
    assert (tmp_path / "demo.kubeconfig").exists()
    history = subprocess.run([sys.executable, "-m", "kubewhy", "history", "--since", "1h"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert history.returncode == 0 and "demo" in history.stdout
