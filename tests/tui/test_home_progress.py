"""What keeps k8stui quick as the user meets it (issue 24), checked by behaviour, never by a clock: home's parts
draw as each arrives, the problems marked "n problems in m of N pods loaded · k of K looked at"; home's look over
the cluster pauses while another screen is on top (its diagnoses would take the event loop from the keys typed
there); a filter keystroke does not change the bar's virtual size (which lays the whole screen out again); events
come in big pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from kubesim.runner import RunningSim
from kubewhy.models.target import Target
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import listed
from tui.app import K8sTui
from tui.data import PAGE_SIZES
from tui.screens.home import HomeScreen
from tui.widgets.commandbar import CommandBar
from tui.widgets.table import VirtualTable

DONE = re.compile(r"(\d+) problems in all \d+ pods · all (\d+) looked at")


async def home_screen(pilot: Any, app: K8sTui) -> HomeScreen:
    await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
    assert isinstance(app.screen, HomeScreen)
    return app.screen


def problems_mark(home: HomeScreen) -> str:
    return str(home.query_one("#problems-title").render())


async def test_home_marks_how_far_its_look_has_come_and_draws_nodes_apart(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_screen(pilot, app)
        await until(pilot, lambda: bool(home.query_one("#nodes", VirtualTable).rows), "the nodes drawn")
        await until(pilot, lambda: DONE.search(problems_mark(home)) is not None, "the look over the cluster ended")
        found, total = (int(g) for g in DONE.search(problems_mark(home)).groups())  # type: ignore[union-attr]
        problems = home.query_one("#problems", VirtualTable)
        assert found == len(problems.rows) > 0 and total >= found
        await until(pilot, lambda: bool(home.query_one("#trouble", VirtualTable).rows), "the troubled pods")
        assert "pods loading" not in str(home.query_one("#heading").render())


async def test_home_pauses_its_look_while_a_list_is_on_top(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_screen(pilot, app)
        await until(pilot, home.shown.is_set, "home shown")
        await pilot.press("colon", *"pods", "enter")
        await listed(pilot, app, "Pod")
        assert not home.shown.is_set()  # no diagnosis starts while the list has the keys
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is home, "back on home")
        assert home.shown.is_set()
        await until(pilot, lambda: DONE.search(problems_mark(home)) is not None, "the look ended once back")


async def test_session_sweep_starts_no_diagnosis_until_running(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.session.is_open, "the session open")
        running = asyncio.Event()
        done: list[Target] = []

        async def look() -> None:
            async for target, _ in app.session.sweep([Target("Deployment", "web", "q1")], running=running):
                done.append(target)

        task = asyncio.create_task(look())
        for _ in range(20):
            await pilot.pause(0.05)
        assert done == []  # held before its first request
        running.set()
        await until(pilot, lambda: task.done(), "the diagnosis once running")
        assert [t.ref for t in done] == ["deploy/q1/web"]


async def test_a_filter_keystroke_keeps_the_bars_virtual_size(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        screen = await listed(pilot, app, "Pod")
        await pilot.press("slash")
        bar = screen.query_one(CommandBar)
        assert bar.suggester is None  # a filter completes to no command
        await pilot.press("w")
        before = bar.virtual_size
        await pilot.press(*"eb")
        await until(pilot, lambda: screen.filter_text == "web", "the filter typed")
        assert bar.virtual_size == before
        await pilot.press("escape", "colon")
        assert bar.suggester is not None  # commands still complete


def test_events_are_listed_in_big_pages() -> None:
    assert PAGE_SIZES["Event"] >= 5000


async def test_session_sweep_answers_the_first_target_first(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    """Home's first row comes from its first target, diagnosed alone before the others start."""
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.session.is_open, "the session open")
        targets = [Target("Deployment", "web", "q1"), Target("Service", "web", "q3"), Target("Deployment", "x", "q5")]
        done = [target.ref async for target, _ in app.session.sweep(targets, concurrency=4)]
        assert done[0] == "deploy/q1/web" and sorted(done) == sorted(t.ref for t in targets)
