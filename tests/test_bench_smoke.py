"""The benchmark harness in smoke mode: every benchmark still runs end to end (tiny sizes, no thresholds).

Figures and targets live in docs/benchmarks.md, written by ``python -m bench``; this only keeps the harness from
rotting, so nothing here looks at a figure.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONGEST = ("watch", "why")  # most of the run: started first, each on its own


def benchmarks() -> list[str]:
    """Every benchmark the harness knows (``python -m bench`` runs them all), the longest first."""
    harness = importlib.import_module("bench.__main__")
    sizes = argparse.Namespace(latency_ms=20.0, sizes="200", main_size=200, repeats=1, profile=False)
    names = [b.name for b in harness.benches(sizes)]
    return sorted(names, key=lambda name: name not in LONGEST)


def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    def smoke(name: str) -> tuple[str, subprocess.CompletedProcess[str], Path]:
        out = tmp_path / f"{name}.md"
        proc = subprocess.run(
            [sys.executable, "-m", "bench", "--smoke", "--only", name, "--out", str(out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        return name, proc, out

    # Each benchmark is its own process and mostly waits (on its simulator, its subprocesses, its latency):
    # two at a time, as `python -m bench --only NAME` runs it, take half the time of one after the other.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(smoke, benchmarks()))
    for name, proc, _ in runs:
        assert proc.returncode == 0, (name, proc.stderr[-3000:])
    text = "\n".join(out.read_text(encoding="utf-8") for _, _, out in runs)
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
