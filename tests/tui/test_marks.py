"""Marks and multi-select, as in k9s: space marks or unmarks the row, ctrl+space marks a range, ctrl+\\ clears
the marks; scale, rollout restart and delete then act on every marked row, through the core's one action lifecycle:
one confirmation naming every object, a server-side dry run and a pre-check of each, audit rows per object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input, Static

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_actions import deployment, get
from tests.tui.test_pilot import listed, names, typed
from tui.app import K8sTui
from tui.screens.confirm import ConfirmBatch
from tui.screens.listing import ResourceScreen
from tui.screens.scale import ScalePrompt


async def filtered(pilot: Any, screen: ResourceScreen, text: str) -> None:
    await pilot.press("slash")
    await typed(pilot, text)
    await pilot.press("enter")
    await until(pilot, lambda: screen.filter_text == text and bool(screen.shown), f"the filter /{text}")


def status(screen: ResourceScreen) -> str:
    return str(screen.query_one("#status", Static).render())


async def batch(pilot: Any, app: K8sTui, count: int) -> ConfirmBatch:
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, ConfirmBatch)
            and "dry runs accepted" in str(app.screen.query_one("#dry-run", Static).render())
        ),
        "the dry runs of every marked object",
    )
    confirm = app.screen
    assert isinstance(confirm, ConfirmBatch)
    assert confirm.dry_run_ok and len(confirm.actions) == count
    return confirm


def objects(confirm: ConfirmBatch) -> list[str]:
    return [str(confirm.query_one(f"#object-{i}", Static).render()) for i in range(len(confirm.items))]


async def audit_rows(app: K8sTui, verb: str) -> dict[str, list[str]]:
    """Per object, the lifecycle's records of ``verb`` (``dry-run``, ``approved``, ``applied``), oldest first."""
    found: dict[str, list[str]] = {}
    for entry in reversed(await app.session.history()):
        if entry.kind == "fix_event" and f": {verb} " in entry.summary:
            step, _, title = entry.summary.partition(": ")
            found.setdefault(title.split(" ")[-1] if verb == "Delete" else title, []).append(step)
    return found


async def test_space_marks_ctrl_space_ranges_ctrl_backslash_clears(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        table = pods.table
        table.move_to(0)
        await pilot.press("space", "down", "down", "space")
        assert [names(table)[0], names(table)[2]] == [(r["ns"], r["name"]) for r in table.marked_rows()]
        assert "2 marked" in status(pods) and table.cursor == 2  # space marks; it no longer pages
        await pilot.press("space")  # unmarks
        assert len(table.marked_rows()) == 1 and "1 marked" in status(pods)
        await pilot.press("down", "down", "down", "ctrl+@")  # the range from the mark above to the cursor
        assert [(r["ns"], r["name"]) for r in table.marked_rows()] == names(table)[:6]
        await filtered(pilot, pods, "q1")  # a mark is kept by object, through a filter
        assert all(r["ns"] == "q1" for r in table.marked_rows())
        await pilot.press("escape")  # clears the filter, not the marks
        await until(pilot, lambda: not pods.filter_text, "the filter cleared")
        assert len(table.marked_rows()) == 6
        await pilot.press("ctrl+backslash")
        assert table.marked_rows() == [] and "marked" not in status(pods)
        # a key that needs a kind the marks are not: refused, naming them, nothing proposed
        await pilot.press("space", "z")
        await pilot.pause()
        assert isinstance(app.screen, ResourceScreen) and len(app.session.kubewhy.fixes) == 0


async def test_scale_and_restart_every_marked_deployment(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="deploy")
    async with app.run_test(size=SIZE) as pilot:
        deploys = await listed(pilot, app, "Deployment")
        await filtered(pilot, deploys, "writer")
        assert names(deploys.table) == [("q8", "writer-a"), ("q8", "writer-b")]
        await pilot.press("space", "down", "space", "z")
        await until(pilot, lambda: isinstance(app.screen, ScalePrompt), "one replicas prompt for both")
        assert "Scale 2 marked objects" in str(app.screen.query_one(Static).render())
        app.screen.query_one(Input).value = "2"
        await pilot.press("enter")
        confirm = await batch(pilot, app, 2)
        shown = objects(confirm)
        assert "Object: Deployment q8/writer-a" in shown[0] and "Object: Deployment q8/writer-b" in shown[1]
        assert all("dry run accepted" in line for line in shown)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ResourceScreen), "applied")
        assert [deployment(workshop, "q8", n)["spec"]["replicas"] for n in ("writer-a", "writer-b")] == [2, 2]
        rows = await audit_rows(app, "Scale")
        assert rows == {
            f"Scale deploy/q8/{n} to 2 replicas": ["dry-run", "approved", "applied"] for n in ("writer-a", "writer-b")
        }
        assert deploys.table.marked_rows() == []  # applied: the marks are cleared, as k9s does
        await pilot.press("space", "up", "space", "r")
        confirm = await batch(pilot, app, 2)
        await pilot.press("n")  # declined: nothing sent, a declined row per object, the marks kept
        await until(pilot, lambda: isinstance(app.screen, ResourceScreen), "declined")
        history = [e.summary for e in await app.session.history() if e.kind == "fix_event"]
        assert sum(s.startswith("declined: Rollout restart deploy/q8/writer-") for s in history) == 2
        assert len(deploys.table.marked_rows()) == 2
        await pilot.press("r")
        await batch(pilot, app, 2)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ResourceScreen), "applied")
        for name in ("writer-a", "writer-b"):
            template = deployment(workshop, "q8", name)["spec"]["template"]
            assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


async def test_delete_every_marked_pod(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        await filtered(pilot, pods, "q8")
        marked = names(pods.table)[:3]
        await pilot.press("space", "down", "down", "ctrl+@", "ctrl+d")
        confirm = await batch(pilot, app, 3)
        for (ns, name), line in zip(marked, objects(confirm), strict=True):
            assert f"Object: Pod {ns}/{name}" in line
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ResourceScreen), "applied")
        await until(pilot, lambda: not set(marked) & set(names(pods.table)), "the pods gone from the list")
        left = {p["metadata"]["name"] for p in get(workshop, "/api/v1/namespaces/q8/pods")["items"]}
        assert not {name for _, name in marked} & left
        rows = await audit_rows(app, "Delete")
        assert rows == {f"pod/q8/{name}": ["dry-run", "approved", "applied"] for _, name in marked}
