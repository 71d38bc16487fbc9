"""Keys that change the cluster go through the core's one action lifecycle: scale (``z``), rollout restart
(``r``), edit in ``$EDITOR`` (``E``) and delete (``ctrl+d``) each show a confirmation naming the object, the
server-side dry run (and an edit's diff), apply once on ``y``, and leave their audit rows."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from kubesim.runner import RunningSim
from kubewhy.models.target import Target
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import fix_events, listed, select
from tui import actions
from tui.app import K8sTui
from tui.screens.confirm import ConfirmFix
from tui.screens.listing import ResourceScreen
from tui.screens.scale import ScalePrompt


def get(sim: RunningSim, path: str) -> Any:
    request = urllib.request.Request(f"{sim.url}{path}", headers={"Authorization": "Bearer kubesim"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def deployment(sim: RunningSim, ns: str, name: str) -> Any:
    return get(sim, f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")


async def confirmed(pilot: Any, app: K8sTui, names: str) -> ConfirmFix:
    await until(pilot, lambda: isinstance(app.screen, ConfirmFix) and app.screen.dry_run_ok, "the dry run")
    confirm = app.screen
    assert isinstance(confirm, ConfirmFix)
    assert names in str(confirm.query_one("#object", Static).render())  # the confirmation names the object
    return confirm


async def applied(pilot: Any, app: K8sTui) -> list[str]:
    await pilot.press("y")
    await until(pilot, lambda: isinstance(app.screen, ResourceScreen), "applied")
    return fix_events(await app.session.history())


def test_merge_patch() -> None:
    before = {"spec": {"replicas": 1, "paused": False, "template": {"a": 1}}, "metadata": {"labels": {"x": "1"}}}
    after = {"spec": {"replicas": 3, "template": {"a": 1}}, "metadata": {"labels": {"x": "1", "y": "2"}}}
    assert actions.merge_patch(before, after) == {
        "spec": {"replicas": 3, "paused": None},
        "metadata": {"labels": {"y": "2"}},
    }
    assert actions.merge_patch(before, before) is None


async def test_scale_and_restart_confirm_apply_and_audit(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="deploy")
    async with app.run_test(size=SIZE) as pilot:
        deploys = await listed(pilot, app, "Deployment")
        await select(pilot, deploys.table, ("q8", "writer-b"))
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ScalePrompt), "the replicas prompt")
        app.screen.query_one(Input).value = "3"
        await pilot.press("enter")
        await confirmed(pilot, app, "Deployment q8/writer-b")
        assert await applied(pilot, app) == ["dry-run", "approved", "applied"]
        assert deployment(workshop, "q8", "writer-b")["spec"]["replicas"] == 3
        await select(pilot, deploys.table, ("q1", "app"))
        await pilot.press("r")
        await confirmed(pilot, app, "Deployment q1/app")
        assert await applied(pilot, app) == ["dry-run", "approved", "applied"] * 2
        annotations = deployment(workshop, "q1", "app")["spec"]["template"]["metadata"]["annotations"]
        assert "kubectl.kubernetes.io/restartedAt" in annotations
        entries = await app.session.history()
        assert all(e.actor == "tester" for e in entries if e.kind == "fix_event")
        await select(pilot, deploys.table, ("q1", "app"))
        await pilot.press("r")
        await confirmed(pilot, app, "Deployment q1/app")
        await pilot.press("n")  # declined: nothing sent, recorded as declined
        assert isinstance(app.screen, ResourceScreen)
        assert fix_events(await app.session.history())[-2:] == ["dry-run", "declined"]


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """$EDITOR as a script that edits the file it is given with ``sed`` expressions."""

    def use(script: str) -> None:
        path = tmp_path / "edit.sh"
        path.write_text(f"#!/bin/sh\nsed -i -e '{script}' \"$1\"\n")
        path.chmod(0o755)
        monkeypatch.setenv("EDITOR", str(path))
        monkeypatch.delenv("VISUAL", raising=False)

    return use


async def test_edit_in_editor_shows_the_diff_and_applies_a_patch(
    workshop: RunningSim, make_app: Callable[..., K8sTui], editor: Callable[[str], None]
) -> None:
    app = make_app(workshop, start="deploy")
    async with app.run_test(size=SIZE) as pilot:
        deploys = await listed(pilot, app, "Deployment")
        await select(pilot, deploys.table, ("q4", "web"))
        editor("s/^  replicas: .*/  replicas: 2/")
        await pilot.press("E")
        confirm = await confirmed(pilot, app, "Deployment q4/web")
        diff = str(confirm.query_one("#diff", Static).render())
        assert "+  replicas: 2" in diff and "-  replicas: 1" in diff
        assert confirm.fix.patch is not None and confirm.fix.patch.body == {"spec": {"replicas": 2}}
        assert await applied(pilot, app) == ["dry-run", "approved", "applied"]
        assert deployment(workshop, "q4", "web")["spec"]["replicas"] == 2
        # a redaction placeholder is never written back
        editor('s/^  name: web$/  name: web\\n  annotations: {token: "[redacted]"}/')
        await pilot.press("E")
        await until(pilot, lambda: any("redaction placeholder" in n.message for n in app._notifications), "the refusal")
        assert isinstance(app.screen, ResourceScreen)
        assert "token" not in (deployment(workshop, "q4", "web")["metadata"].get("annotations") or {})


def exists(sim: RunningSim, path: str) -> bool:
    try:
        get(sim, path)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise
    return True


async def test_delete_dry_runs_first_names_the_object_and_audits(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    pod = "/api/v1/namespaces/q7/pods/load-generator"
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        await select(pilot, pods.table, ("q7", "load-generator"))
        await pilot.press("ctrl+d")
        confirm = await confirmed(pilot, app, "Pod q7/load-generator")
        assert "deletion of pod q7/load-generator would be accepted" in str(confirm.query_one("#dry-run").render())
        assert "may be deleted by tester" in str(confirm.query_one("#precondition").render())
        assert exists(workshop, pod)  # the server-side dry run deleted nothing
        assert workshop.stats().get("delete pods") == 1
        assert await applied(pilot, app) == ["dry-run", "approved", "applied"]
        assert not exists(workshop, pod)
        entries = await app.session.history()
        done = [e.summary for e in entries if e.kind == "fix_event"]
        assert any(s.startswith("applied: Delete pod/q7/load-generator") for s in done), done
        await select(pilot, pods.table, ("q8", "writer-a-6f9c8d7b5-qvp8n"))
        await pilot.press("ctrl+d")
        await confirmed(pilot, app, "Pod q8/writer-a-6f9c8d7b5-qvp8n")
        await pilot.press("n")  # declined: nothing deleted
        assert exists(workshop, "/api/v1/namespaces/q8/pods/writer-a-6f9c8d7b5-qvp8n")
        assert fix_events(await app.session.history())[-2:] == ["dry-run", "declined"]


async def test_delete_precheck_asks_rbac_for_the_delete_verb(make_app: Callable[..., K8sTui], tmp_path: Path) -> None:
    """The pre-check's access review asks for ``delete`` (not ``patch``): a read-only identity is refused, with the
    reason, before anything is sent."""
    from kubesim.runner import run_in_thread
    from kubesim.scenario import Identity
    from kubesim.scenario import load as load_scenario
    from kubesim.server import SimOptions

    scenario = load_scenario("workshop")
    scenario.users["kubesim"] = Identity("viewer", read_only=True)
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "ro.kubeconfig")
    try:
        app = make_app(sim, start="pods")
        async with app.run_test(size=SIZE) as pilot:
            kubewhy = app.session.kubewhy
            target = Target("Pod", "load-generator", "q7")
            action = kubewhy.propose_fix(actions.delete_fix(target), target=target, finding_id=actions.ACTION_ID)
            check = await kubewhy.precheck(action)
            assert not check.ok and check.rbac is False
            assert "may not delete it (RBAC)" in check.reason, check.reason
            assert sim.stats().get("create selfsubjectaccessreviews") == 1
            assert not any(k.startswith("delete") for k in sim.stats())
            await pilot.pause()
    finally:
        sim.stop()
