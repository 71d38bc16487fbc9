"""The why screen's faults that came from the core (issue 26), checked on what the core returns over the
simulator: statefulset-stuck names only the NotReady nodes that hold the StatefulSet's pods, app-crash never says
"last -2h ago" nor lists blank "previous log:" lines, and on q1 the ``set resources`` fixes are applied as a patch
of the Deployment (``a`` applies them)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import OptionList

from kubesim.runner import RunningSim, run_in_thread
from kubesim.scenario import load as load_scenario
from kubesim.server import SimOptions
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import CRASHING, home_loaded, select
from tui.app import K8sTui
from tui.screens.confirm import ConfirmFix
from tui.screens.why import WhyScreen

CATALOG = load_dirs([])


def why(sim: RunningSim, target: str) -> Report:
    kube = LiveKube(build_api_client(str(sim.kubeconfig)))
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=CATALOG)))


def finding(report: Report, ident: str) -> Any:
    return next(f for f in report.findings if f.id == ident)


def test_statefulset_stuck_names_only_the_nodes_that_hold_its_pods(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    workshop = start_sim("workshop", timeline_mode="manual")  # node-3 is NotReady (q2); q5's db-0 is on node-1
    stuck = finding(why(workshop, "sts/q5/db"), "statefulset-stuck")
    assert not any("NotReady" in line or "node-3" in line for line in stuck.evidence), stuck.evidence
    scenario = load_scenario("workshop")  # the same, with db-0 on the NotReady node
    for obj in scenario.objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Pod" and meta.get("name") == "db-0" and meta.get("namespace") == "q5":
            obj["spec"]["nodeName"] = "node-3"
    moved = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "moved.kubeconfig")
    try:
        stuck = finding(why(moved, "sts/q5/db"), "statefulset-stuck")
        assert "pods on NotReady nodes: db-0 on node-3" in stuck.evidence, stuck.evidence
    finally:
        moved.stop()


def test_app_crash_has_no_negative_age_and_no_blank_log_lines(start_sim: Callable[..., RunningSim]) -> None:
    workshop = start_sim("workshop", timeline_mode="manual")
    skewed = finding(why(workshop, "pod/q3/uploader-6c5f8d9b47-2w4h8"), "app-crash")  # its node's clock is ahead
    assert " -" not in skewed.summary.split("time(s)")[1].split(".")[0], skewed.summary
    assert "in the future (the node's clock is ahead of this one)" in skewed.summary, skewed.summary
    crash = finding(why(workshop, "pod/q5/db-0"), "app-crash")  # postgres' previous log has blank lines
    logs = [line for line in crash.evidence if line.startswith("previous log:")]
    assert logs and all(line.removeprefix("previous log:").strip() for line in logs), crash.evidence


def deployment(sim: RunningSim, ns: str, name: str) -> Any:
    request = urllib.request.Request(
        f"{sim.url}/apis/apps/v1/namespaces/{ns}/deployments/{name}", headers={"Authorization": "Bearer kubesim"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


async def test_a_applies_set_resources_as_a_patch_of_the_workload(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        await select(pilot, trouble, CRASHING)
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, WhyScreen)
        await until(pilot, lambda: screen.report is not None, "the diagnosis ends")
        titles = [fix.title for _, fix in screen.fixes]
        memory = titles.index("Raise the memory limit above the observed peak")
        fix = screen.fixes[memory][1]
        assert "set resources deployment/app" in fix.command and fix.patch is not None
        assert (fix.patch.kind, fix.patch.namespace, fix.patch.name) == ("Deployment", "q1", "app")
        screen.query_one("#fixes", OptionList).highlighted = memory
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFix) and app.screen.dry_run_ok, "the dry run")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, WhyScreen), "applied")
        (container,) = deployment(workshop, "q1", "app")["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["limits"]["memory"] == "192Mi"
        assert container["resources"]["limits"]["cpu"] == "100m"  # the rest of the container is kept
