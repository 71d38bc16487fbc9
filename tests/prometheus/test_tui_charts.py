"""k8stui's `w` charts the metric evidence (textual-plotext) from a real Prometheus over the scenario's history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual_plotext import PlotextPlot

from kubewhy.settings import Flags, load
from tests.prometheus.promcases import MEMORY, load_scenario
from tests.tui.conftest import until
from tui.app import K8sTui
from tui.data import Session
from tui.screens.listing import ResourceScreen
from tui.screens.why import WhyScreen

POD = ("mem", "api-5c8d7f9b6d-k2m4p")


async def test_why_charts_the_memory_climb(prometheus_for: Any, tmp_path: Path) -> None:
    files = [str(p) for p in load_scenario(MEMORY).sources]
    settings = load(
        {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
        Flags(snapshot=files, prometheus=prometheus_for(MEMORY).url, no_audit=True),
    )
    app = K8sTui(Session(settings), start="pods")
    async with app.run_test(size=(150, 60)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ResourceScreen) and bool(app.screen.table.rows), "pods")
        screen = app.screen
        assert isinstance(screen, ResourceScreen)
        screen.table.move_to([(r["ns"], r["name"]) for r in screen.table.rows].index(POD))
        await pilot.press("w")
        why = app.screen
        assert isinstance(why, WhyScreen)
        await until(pilot, lambda: why.report is not None and bool(why.query(PlotextPlot)), "the chart")
        assert why.report is not None
        charted = [f for f in why.report.findings if f.chart]
        assert any(f.id == "memory-near-limit" for f in charted)
        drawn = list(why.query_one("#charts").children)
        assert len(drawn) == len(charted) and all(isinstance(w, PlotextPlot) for w in drawn)  # none failed
