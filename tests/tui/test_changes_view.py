"""``:changes`` and the why screen's changes pane show the core's change timeline (``kubewhy changes``): the
front-end only asks and prints; an edit made through k8stui shows up as a change by its manager."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static, TextArea

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import command, home_loaded, listed, select
from tui.app import K8sTui
from tui.screens.text import TextScreen
from tui.screens.why import WhyScreen


async def test_changes_command_and_the_why_pane(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        await command(pilot, "changes deploy/q1/app 2h")
        screen = app.screen
        assert isinstance(screen, TextScreen) and screen.title_text == "changes deploy/q1/app (last 2h)"
        area = screen.query_one("#text", TextArea)
        await until(pilot, lambda: "What changed around deploy/q1/app" in area.text, "the timeline")
        assert "revision 1" in area.text and "ScalingReplicaSet" in area.text, area.text
        await pilot.press("escape")
        await command(pilot, "deploy")
        deploys = await listed(pilot, app, "Deployment")
        await select(pilot, deploys.table, ("q1", "app"))
        await command(pilot, "changes")  # the selected object
        assert isinstance(app.screen, TextScreen) and app.screen.target.ref == "deploy/q1/app"
        await pilot.press("escape", "w")
        why = app.screen
        assert isinstance(why, WhyScreen)
        pane = why.query_one("#changes", Static)
        await until(pilot, lambda: "What changed around deploy/q1/app" in str(pane.render()), "the changes pane")
        assert "revision 1" in str(pane.render())
        entries = await app.session.history()
        assert sum(e.summary == "show changes" for e in entries) >= 3, [e.summary for e in entries]
        await command(pilot, "changes deploy/q1/app soon")  # a bad window: said, nothing opened
        assert app.screen is why
