"""Charts of the evidence series, drawn from the real Prometheus: a PNG a person can read, and a sparkline."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import numpy as np

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom import PromMetrics
from kubewhy.charts import ChartData, chart_data, render_png, sparkline, text_chart
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from tests.prometheus.promcases import MEMORY, THROTTLED, load_scenario

CATALOG = load_dirs([])
LIMIT_RED = np.array([0xD6, 0x27, 0x28]) / 255


def _chart(prometheus_for, scenario: str, target: str, playbook: str) -> ChartData:  # type: ignore[no-untyped-def]
    kube = SnapshotKube([Path(p) for p in load_scenario(scenario).sources])
    prom = PromMetrics(prometheus_for(scenario).url, timeout=10)
    deps = Deps(kube=kube, catalog=CATALOG, clock=kube.clock, prom=prom)
    report = asyncio.run(diagnose(parse_target(target), deps))
    finding = next(f for f in report.findings if f.id == playbook)
    return asyncio.run(chart_data(finding, catalog=CATALOG, kube=kube, prom=prom))


def test_memory_chart_shows_the_climb_and_the_limit(prometheus_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _chart(prometheus_for, MEMORY, "pod/mem/api-5c8d7f9b6d-k2m4p", "memory-near-limit")
    assert data.unit == "bytes" and data.lines == {"memory limit 512Mi": 512 * 2**20}
    label, points = data.series[0]
    assert label == "api" and len(points) >= 100  # an hour at a 30 s step
    values = [v for _, v in points]
    assert values[-1] > values[0] + 80 * 2**20 and values[-1] < 512 * 2**20  # climbed ~90Mi toward the limit

    png = render_png(data, tmp_path / "memory.png")
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 15_000
    width, height = struct.unpack(">II", raw[16:24])
    assert (width, height) == (990, 462)
    import matplotlib.image

    pixels = matplotlib.image.imread(str(png))[:, :, :3]
    assert pixels.std() > 0.05, "an empty or uniform image"
    red = np.all(np.abs(pixels - LIMIT_RED) < 0.08, axis=2)
    assert red.sum() > 300, "the memory limit line is not drawn"
    # The series rises from left to right: its blue line is lower (larger row index) at the left of the plot.
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.08, axis=2)
    cols = np.where(blue.any(axis=0))[0]
    left, right = cols[len(cols) // 10], cols[-len(cols) // 10]
    assert np.where(blue[:, left])[0].mean() > np.where(blue[:, right])[0].mean()


def test_throttling_chart_and_sparkline(prometheus_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _chart(prometheus_for, THROTTLED, "pod/q10/server-7b6f4c9d8c-jhk7g", "cpu-throttling")
    assert data.unit == "ratio" and data.lines == {"25% (cause threshold)": 0.25}
    values = [v for _, v in data.series[0][1]]
    assert min(values) > 0.5 and max(values) < 0.75
    assert render_png(data, tmp_path / "t.png").stat().st_size > 15_000
    lines = text_chart(data, width=30)
    assert lines[0].strip().startswith("server") and "%" in lines[0]
    assert len(lines[0].split()[1]) == 30


def test_sparkline_scales_between_low_and_high() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([0.5], low=0, high=1) == "▅"
    assert len(sparkline(list(range(1000)), width=20)) == 20
    assert sparkline([]) == ""
