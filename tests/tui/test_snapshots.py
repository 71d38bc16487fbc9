"""SVG snapshots of k8stui's main screens (pytest-textual-snapshot), on an offline snapshot of the workshop's
first question: a snapshot's clock is the time it was taken, so ages, counts and rows are the same every run.
Update them with ``pytest tests/tui/test_snapshots.py --snapshot-update`` after a deliberate change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubesim import load as load_scenario
from tests.tui.conftest import until
from tui.app import K8sTui
from tui.screens.home import HomeScreen
from tui.screens.listing import ResourceScreen
from tui.widgets.table import VirtualTable

SIZE = (130, 36)


@pytest.fixture
def offline(make_app: Callable[..., K8sTui]) -> Callable[..., K8sTui]:
    files = [str(p) for p in load_scenario("workshop/q01-app-crash").sources]
    return lambda **kw: make_app(snapshot=files, **kw)


async def home_ready(pilot: Any) -> None:
    app = pilot.app
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, HomeScreen)
            and bool(app.screen.query_one("#trouble", VirtualTable).rows)
            and "loading" not in app.screen.query_one("#incidents", VirtualTable).empty_text
            and app.screen.query_one("#problems", VirtualTable).empty_text.startswith("no problems found in")
        ),
        "home",
    )


async def pods_ready(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ResourceScreen) and bool(app.screen.table.rows), "pods")


def test_home(snap_compare: Any, offline: Callable[..., K8sTui]) -> None:
    assert snap_compare(offline(), terminal_size=SIZE, run_before=home_ready)


def test_pods_filtered_and_sorted(snap_compare: Any, offline: Callable[..., K8sTui]) -> None:
    assert snap_compare(
        offline(start="pods"),
        terminal_size=SIZE,
        run_before=pods_ready,
        press=["slash", "!", "k", "u", "b", "e", "enter", "s", "s", "s", "s", "s", "S"],
    )


def test_events_warnings_only(snap_compare: Any, offline: Callable[..., K8sTui]) -> None:
    assert snap_compare(offline(start="events"), terminal_size=SIZE, run_before=pods_ready, press=["W"])


def test_help(snap_compare: Any, offline: Callable[..., K8sTui]) -> None:
    assert snap_compare(offline(start="pods"), terminal_size=SIZE, run_before=pods_ready, press=["question_mark"])
