"""The benchmark harness in smoke mode: every benchmark still runs end to end (tiny sizes, no thresholds).

Figures and targets live in docs/benchmarks.md, written by ``python -m bench``; this only keeps the harness from
rotting, so nothing here looks at a figure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    for title in (
        "`kubewhy why` as a process",
        "Simulator:",
        "Audit log:",
        "Slack bot:",
        "A real Prometheus",
        "Watchers:",
        "k8stui at 10,000 pods",
    ):
        assert f"## {title}" in text, title
    assert "Failed" not in text and "Timed out" not in text
    assert "| wall, median (p95) |" in text and "API requests" in text  # the end-to-end table is produced
