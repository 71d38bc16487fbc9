"""The README's first command runs `kubewhy demo`: the workshop on the simulator, diagnosed and recorded, with a
cause for each of the ten workshop problems, though no Prometheus is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# One target of each workshop problem and the causes any of which its line may lead with.
TEN_PROBLEMS = {
    "pod/q1/app-7d4b9c6f5-x2x7k": ("oom-killed", "liveness-throttled"),
    "node/node-3": ("node-not-ready",),
    "pod/q3/uploader-6c5f8d9b47-2w4h8": ("clock-skew",),
    "svc/q4/web": ("service-no-endpoints", "service-port-mismatch"),
    "pod/q5/db-0": ("statefulset-pvc-full",),
    "pod/q6/app-5f7c9d8b6d-hvh9z": ("configmap-not-updated",),
    "hpa/q7/php-apache": ("hpa-not-scaling",),
    "pvc/q8/shared-data": ("rwo-multi-attach",),
    "svc/q9/api": ("servicemonitor-ignored",),
    "pod/q10/server-7b6f4c9d8c-jhk7g": ("cpu-throttling",),  # proven through the kubelets' node proxy
}


def test_demo_diagnoses_the_workshop_and_records_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEWHY_PROMETHEUS")}
    env["KUBEWHY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "demo", "--once", "--kubeconfig-out", str(tmp_path / "demo.kubeconfig")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if line.startswith("  ") and len(line.split()) > 1 and line.split()[0].count("/") >= 1
    }
    for target, causes in TEN_PROBLEMS.items():
        assert target in lines, (target, out)
        cause = lines[target].rstrip(":")
        assert cause in causes, (target, cause, out)
    assert (tmp_path / "demo.kubeconfig").exists()
    history = subprocess.run(
        [sys.executable, "-m", "kubewhy", "history", "--since", "1h"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert history.returncode == 0 and "demo" in history.stdout


def test_demo_with_watch_pages_the_workshop_once_each_and_stops_cleanly(tmp_path: Path) -> None:
    """`kubewhy demo --watch` (scripts/demo --watch): the watchers on the demo cluster print their pages."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEWHY_PROMETHEUS", "SLACK_"))}
    env["KUBEWHY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubewhy",
                "demo",
                "--watch",
                "--grace",
                "0s",
                "--kubeconfig-out",
                str(tmp_path / "demo.kubeconfig"),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while "node/node-3" not in out_path.read_text() or "crash-loop" not in out_path.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.2)
        time.sleep(2.0)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    pages = [line for line in out_path.read_text().splitlines() if " page " in line]
    assert proc.returncode == 0 and "Traceback" not in err
    assert any("node-not-ready node/node-3" in p and "cause:" in p for p in pages), pages
    assert len(pages) == len({p.split()[2] for p in pages})  # one page per incident
