"""Home shows what is wrong: every one of the workshop's ten problems, and the same on a renamed copy of the
workshop (namespaces and objects renamed: no scenario-specific name can pass it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kubesim.runner import RunningSim
from kubesim.scenario import resolve
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import home_loaded
from tui.app import K8sTui
from tui.screens.home import HomeScreen
from tui.screens.why import WhyScreen
from tui.widgets.table import VirtualTable

WORKSHOP = [f"q{i}" for i in range(1, 11)]
NODE_PROBLEM = "q2"  # a NotReady node: on home's node table, not in a namespace
RENAMES = [
    (re.compile(r"\bq(\d+)\b"), r"shop\1x"),
    (re.compile(r"\bweb\b"), "storefront"),
    (re.compile(r"\bphp-apache\b"), "phpsrv"),
    (re.compile(r"\bwriter-a\b"), "ingest-a"),
    (re.compile(r"\bserver\b"), "backend"),
    (re.compile(r"\bnode-3\b"), "worker-c"),
]


def rename(text: str) -> str:
    for pattern, new in RENAMES:
        text = pattern.sub(new, text)
    return text


def renamed_workshop(directory: Path) -> Path:
    """The workshop's files with every namespace and several objects (and the broken node) renamed."""
    directory.mkdir()
    for path in resolve("workshop")[1]:
        (directory / path.name).write_text(rename(path.read_text()))
    return directory


async def shows_every_problem(pilot: object, app: K8sTui, namespaces: list[str], node_problem: str) -> None:
    await home_loaded(pilot, app)
    home = app.screen
    assert isinstance(home, HomeScreen)
    problems = home.query_one("#problems", VirtualTable)
    await until(pilot, lambda: problems.empty_text.startswith("no problems found in"), "the look over the cluster")
    trouble = home.query_one("#trouble", VirtualTable)
    on_home = {r["ns"] for r in trouble.rows} | {r["ns"] for r in problems.rows}
    missing = [ns for ns in namespaces if ns != node_problem and ns not in on_home]
    assert not missing, (missing, [r["cells"] for r in problems.rows])
    nodes = home.query_one("#nodes", VirtualTable)
    assert any(str(r["cells"][1]).startswith("NotReady") for r in nodes.rows)


async def test_home_shows_the_workshops_ten_problems(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await shows_every_problem(pilot, app, WORKSHOP, NODE_PROBLEM)
        home = app.screen
        problems = home.query_one("#problems", VirtualTable)
        cells = {r["cells"][1]: r["cells"] for r in problems.rows}
        assert "service-no-endpoints" in cells["svc/q4/web"][3]
        assert "hpa-not-scaling" in cells["hpa/q7/php-apache"][3]
        # a problem row opens the core's diagnosis of that object
        problems.focus()
        problems.move_to([r["name"] for r in problems.rows].index("svc/q4/web"))
        await pilot.press("w")
        assert isinstance(app.screen, WhyScreen) and app.screen.target.ref == "svc/q4/web"
        entries = await app.session.history()
        assert not [e for e in entries if e.kind == "diagnosis" and e.target != "svc/q4/web"], (
            "home's look is unrecorded"
        )


async def test_home_shows_them_on_a_renamed_copy_too(
    start_sim: Callable[..., RunningSim], make_app: Callable[..., K8sTui], tmp_path: Path
) -> None:
    sim = start_sim(renamed_workshop(tmp_path / "renamed"), timeline_mode="manual")
    app = make_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await shows_every_problem(pilot, app, [rename(ns) for ns in WORKSHOP], rename(NODE_PROBLEM))
        assert not any(r["ns"] in WORKSHOP for r in app.screen.query_one("#problems", VirtualTable).rows)


async def test_demo_session_runs_the_watchers_so_home_has_open_incidents(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    """``--demo``'s session runs the watchers in-process (nobody else watches its cluster): the incidents they open
    appear under "Open incidents", which was always empty before."""
    app = make_app(workshop, grace="0s")
    app.session.watch_incidents = True
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        home = app.screen
        incidents = home.query_one("#incidents", VirtualTable)
        await until(pilot, lambda: len(incidents.rows) >= 3, "the watchers' incidents on home")
        subjects = {r["cells"][2] for r in incidents.rows}
        assert {"node/node-3", "deploy/q1/app", "sts/q5/db"} <= subjects, subjects
        watchers = app.session.watchers
        assert watchers is not None and not watchers.done()
        await app.session.close()  # what quitting does: the watchers stop with the session
        assert watchers.done() and app.session.watchers is None
