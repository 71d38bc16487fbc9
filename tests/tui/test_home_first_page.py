"""Home and the lists draw from the first page of a paged LIST and fill in (issue 24): while the simulator refuses
the later pages (a fault on ``continue=``), home already lists the workloads of the unwell pods of the first page,
each marked "checking", under "n problems in m of N pods loaded"; once the pages come, the mark says "all N pods"
and the diagnoses replace every "checking" with a cause (or drop the row the core finds well). The events list
likewise shows its first page marked "n of N loaded", then every event."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable

import pytest

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import LiveKube, direct_client
from kubewhy.models.target import Target
from tests.tui.conftest import SIZE, until
from tests.tui.test_home_progress import home_screen, problems_mark
from tui import data, rows
from tui.app import K8sTui
from tui.screens.home import CHECKING
from tui.screens.listing import EventsScreen
from tui.widgets.table import VirtualTable

FIRST_EVENTS = 5  # the events list's first page in these tests


def hold_later_pages(sim: RunningSim, path: str) -> None:
    """Every later page (``continue=``) of a LIST of ``path`` fails until :func:`release`."""
    sim.control("faults", {"status": 500, "method": "GET", "path": path, "query": "continue=", "times": None})


def release(sim: RunningSim) -> None:
    req = urllib.request.Request(f"{sim.url}/kubesim/v1/faults", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        json.loads(resp.read())


async def first_page_suspects(sim: RunningSim) -> tuple[int, set[str], int]:
    """The smallest first page holding an unwell pod (as the LIST orders them), the workloads of its unwell pods
    read as home reads them, and how many pods there are."""
    api = direct_client(str(sim.kubeconfig), None)
    assert api is not None
    kube = LiveKube(api)
    pods = [rows.project_pod(obj) for obj in (await kube.list_page("Pod", limit=10_000)).items]
    first = next(at for at, row in enumerate(pods) if row["suspect"]) + 1
    assert first < len(pods), "the workshop has pods after its first unwell one"
    page = await kube.list_page("Pod", limit=first)
    assert page.remaining == len(pods) - first
    refs = {Target(r["owner"][0], r["owner"][1], r["ns"]).ref for r in pods[:first] if r["suspect"]}
    return first, refs, len(pods)


async def test_home_lists_the_first_pages_suspects_checking_then_their_causes(
    workshop: RunningSim, make_app: Callable[..., K8sTui], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, suspects, total = await first_page_suspects(workshop)
    monkeypatch.setattr(data, "FIRST_PAGE", first)
    hold_later_pages(workshop, "/pods")
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        home = await home_screen(pilot, app)
        home.shown.clear()  # no diagnosis starts while it is clear (as behind another screen): "checking" stays
        problems = home.query_one("#problems", VirtualTable)
        await until(pilot, lambda: f"in {first} of {total} pods loaded" in problems_mark(home), "the first page")
        await until(pilot, lambda: suspects <= {r["name"] for r in problems.rows}, "the first page's suspects")
        by_ref = {r["name"]: r for r in problems.rows}
        assert all(by_ref[ref]["cells"][3] == CHECKING for ref in suspects)
        found = int(re.search(r"(\d+) problems in", problems_mark(home)).group(1))  # type: ignore[union-attr]
        assert found == len(problems.rows) >= len(suspects)
        assert "pods loading" in str(home.query_one("#heading").render())  # the counts need every pod

        release(workshop)
        home.shown.set()
        done = re.compile(rf"problems in all {total} pods · all \d+ looked at")
        await until(pilot, lambda: done.search(problems_mark(home)) is not None, "every pod and every diagnosis")
        assert all(r["cells"][3] != CHECKING for r in problems.rows)
        assert problems.rows, "the workshop has problems the core finds"


async def test_events_list_shows_its_first_page_then_every_event(
    workshop: RunningSim, make_app: Callable[..., K8sTui], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "FIRST_PAGE", FIRST_EVENTS)
    hold_later_pages(workshop, "/events")
    app = make_app(workshop, start="events")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, EventsScreen) and bool(app.screen.table.rows), "events")
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        status = str(screen.query_one("#status").render())
        m = re.search(r"(\d+) of (\d+) events  ·  (\d+) of (\d+) loaded", status)
        assert m is not None, status
        assert int(m.group(1)) == int(m.group(3)) == FIRST_EVENTS == len(screen.table.rows)
        total = int(m.group(4))
        assert total > FIRST_EVENTS
        release(workshop)
        await until(pilot, lambda: screen.store.synced.is_set() and len(screen.table.rows) == total, "every event")
        await until(pilot, lambda: "loaded" not in str(screen.query_one("#status").render()), "the mark gone")
