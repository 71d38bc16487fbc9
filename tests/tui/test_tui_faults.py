"""The smaller faults of issue 26: the command bar shows what is typed on every screen, events stamped in the future
neither read "0s" nor sort first, ``:ns`` refuses a namespace that does not exist, and a list's count is of the
namespace shown."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.widgets import Static

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import listed
from tui.app import K8sTui
from tui.rows import age
from tui.screens.listing import EventsScreen
from tui.widgets.commandbar import CommandBar


def post(sim: RunningSim, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{sim.url}{path}",
        json.dumps(body).encode(),
        {"Authorization": "Bearer kubesim", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_a_time_in_the_future_is_invalid_not_zero() -> None:
    now = time.time()
    assert age(now + 3600, now) == "<invalid>" and age(now - 90, now) == "1m" and age(now + 1, now) == "0s"


async def test_command_bar_is_one_readable_line_on_every_screen(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="events")
    async with app.run_test(size=SIZE) as pilot:
        await listed(pilot, app, "Event")
        await pilot.press("colon", "p", "o")
        bar = app.screen.query_one(CommandBar)
        assert bar.has_focus and bar.value == "po"
        assert bar.region.height == 1 and bar.content_region.height == 1  # no border eating the line


async def test_future_events_sort_last_and_counts_are_of_the_namespace(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "skewed.1", "namespace": "q5"},
        "involvedObject": {"kind": "Pod", "namespace": "q5", "name": "db-0"},
        "reason": "SkewedClock",
        "message": "stamped by a node whose clock runs two hours ahead",
        "type": "Warning",
        "firstTimestamp": ahead,
        "lastTimestamp": ahead,
        "count": 1,
    }
    await asyncio.to_thread(post, workshop, "/api/v1/namespaces/q5/events", event)
    app = make_app(workshop, start="events")
    async with app.run_test(size=SIZE) as pilot:
        events = await listed(pilot, app, "Event")
        assert isinstance(events, EventsScreen)
        await until(pilot, lambda: any(r["cells"][3] == "SkewedClock" for r in events.table.rows), "the event")
        reasons = [r["cells"][3] for r in events.table.rows]
        assert reasons[-1] == "SkewedClock" and reasons[0] != "SkewedClock"
        assert events.table.render_line(0) is not None
        skewed = events.table.rows[-1]
        assert age(skewed["cells"][1], app.clock()) == "<invalid>"
        await pilot.press("colon", *"ns nosuch", "enter")
        await until(pilot, lambda: any("no namespace 'nosuch'" in n.message for n in app._notifications), "refused")
        assert app.namespace is None
        await pilot.press("colon", *"ns q5", "enter")
        await pilot.press("colon", *"pods", "enter")
        pods = await listed(pilot, app, "Pod")
        await until(pilot, lambda: app.namespace == "q5" and len(pods.table.rows) == 1, "q5's pods")
        assert str(pods.query_one("#status", Static).render()).startswith("1 of 1 pods")
