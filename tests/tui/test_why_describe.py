"""The why screen reads cleanly (no blank or repeated evidence, each fix once) and ``d`` is ``kubectl describe``:
events, mounts, probes, conditions, resources as kubectl lays them out."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.widgets import Static, TextArea

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import CRASHING, home_loaded, listed, names, select
from tui.app import K8sTui
from tui.screens.text import TextScreen
from tui.screens.why import WhyScreen

BULLET = re.compile(r"^\s+• (.*)$", re.MULTILINE)


async def test_why_shows_each_piece_of_evidence_and_each_fix_once(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        await select(pilot, pods.table, ("q5", "db-0"))  # a full volume: the crash's previous log has blank lines
        await pilot.press("w")
        why = app.screen
        assert isinstance(why, WhyScreen)
        await until(pilot, lambda: why.report is not None, "the diagnosis ends")
        assert why.report is not None
        causes = str(why.query_one("#causes", Static).render())
        bullets = [b.strip() for b in BULLET.findall(causes)]
        assert bullets and all(b and not b.endswith(":") for b in bullets), bullets  # no blank "previous log:"
        assert len(bullets) == len(set(bullets)), bullets
        assert "No space left on device" in causes
        commands = [" ".join(fix.command.split()) for _, fix in why.fixes]
        assert commands and len(commands) == len(set(commands))
        every = {" ".join(fix.command.split()) for f in why.report.findings for fix in f.fixes}
        assert set(commands) == every  # nothing lost, only repeats dropped


async def describe(pilot: object, app: K8sTui) -> str:
    screen = app.screen
    assert isinstance(screen, TextScreen)
    text = screen.query_one("#text", TextArea)
    await until(pilot, lambda: "Events:" in text.text, "describe loads")
    return text.text


async def test_describe_is_laid_out_as_kubectl(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        await select(pilot, trouble, CRASHING)
        await pilot.press("d")
        text = await describe(pilot, app)
        assert re.search(r"^Name:\s+app-7d4b9c6f5-x2x7k$", text, re.MULTILINE)
        assert re.search(r"^Controlled By:\s+ReplicaSet/app-7d4b9c6f5$", text, re.MULTILINE)
        assert re.search(r"^    Last State: Terminated\n      Reason:\s+OOMKilled\n      Exit Code:\s+137$", text, re.M)
        assert re.search(r"^    Limits:\n      cpu:\s+100m\n      memory:\s+96Mi$", text, re.MULTILINE)
        assert re.search(r"^    Liveness: http-get http://:8080/healthz .*timeout=1s .*#failure=3$", text, re.M)
        assert re.search(r"^    Mounts:\s+/var/run/secrets/kubernetes.io/serviceaccount from \S+ \(ro\)$", text, re.M)
        assert re.search(r"^Conditions:\n  Type\s+Status\n  -+\s+-+\n", text, re.MULTILINE)
        assert re.search(r"^  Warning\s+BackOff\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Back-off restarting", text, re.M)
        assert "{'" not in text and "{}" not in text  # nothing printed as a Python dict
        await pilot.press("escape")
        await pilot.press("colon", *"svc", "enter")
        services = await listed(pilot, app, "Service")
        await select(pilot, services.table, ("q4", "web"))
        await pilot.press("d")
        text = await describe(pilot, app)
        assert re.search(r"^Selector:\s+app=webb$", text, re.MULTILINE)
        assert re.search(r"^Endpoints:\s+<none>$", text, re.MULTILINE)  # the selector's typo: no endpoints
        assert ("q4", "web") in names(services.table)
