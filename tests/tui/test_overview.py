"""``:overview`` (k9s's ``:pulses``): the cluster's health by namespace, counted by the core
(:mod:`kubewhy.overview`) from the watch caches and the watchers' ledger, on the workshop cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from kubesim.runner import RunningSim
from kubewhy import overview
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import command, home_loaded
from tui.app import K8sTui
from tui.screens.listing import ResourceScreen
from tui.screens.overview import COLUMNS, OverviewScreen

TITLES = [c.title for c in COLUMNS]


def column(row: tuple[object, ...], title: str) -> object:
    return row[TITLES.index(title)]


def test_pod_health_and_workload_problem_are_the_cores() -> None:
    crashing = {
        "status": {"phase": "Running", "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
    }
    assert overview.pod_health(crashing) == "crashing"
    assert overview.pod_health({"status": {"phase": "Running", "containerStatuses": [{"ready": True}]}}) == "ok"
    assert overview.pod_health({"status": {"phase": "Running", "containerStatuses": [{"ready": False}]}}) == "unready"
    assert overview.pod_health({"status": {"phase": "Failed"}}) == "failed"
    assert overview.pod_health({"status": {"phase": "Succeeded"}}) == "completed"
    assert overview.pod_health({"status": {"phase": "Failed", "reason": "Evicted"}}) == "evicted"
    deploy = {"kind": "Deployment", "spec": {"replicas": 3}, "status": {"readyReplicas": 1}}
    assert overview.workload_problem(deploy) == "1/3 ready"
    assert overview.workload_problem({**deploy, "status": {"readyReplicas": 3}}) == ""
    failed = {
        "kind": "Job",
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    }
    assert "Failed" in overview.workload_problem(failed)
    summary = overview.summarize(
        [("a", "ok"), ("a", "crashing"), ("b", "ok")],
        [("a", "1/3 ready"), ("b", "")],
        ["b", "b", ""],
        ["pod/a/x", "node/n1:memory", "deploy/a/w: grouped"],
    )
    assert [n.namespace for n in summary.namespaces] == ["a", "b"]  # the most troubled first
    a, b = summary.namespaces
    assert (a.pods["crashing"], a.workloads_not_ready, a.incidents, a.troubled) == (1, 1, 2, 4)
    assert (b.pod_count, b.warnings, b.troubled) == (1, 2, 0)
    assert summary.cluster_incidents == 1 and summary.total().incidents == 3
    with pytest.raises(ValueError, match="unknown pod health"):
        overview.summarize([("a", "sad")])


async def test_overview_counts_by_namespace(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        await command(pilot, "pulses")  # k9s's name for it; :overview too
        await until(
            pilot,
            lambda: isinstance(app.screen, OverviewScreen) and app.screen.summary is not None,
            "the overview is counted",
        )
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        rows = {r["name"]: r["cells"] for r in screen.table.rows}
        assert column(rows["q1"], "CRASHING") == 1 and column(rows["q1"], "WARNINGS") > 0
        assert column(rows["q8"], "PENDING") == 2 and column(rows["q8"], "NOT READY") >= 1
        assert column(rows["kube-system"], "CRASHING") == 0
        assert screen.table.rows[0]["style"] == "red"  # a troubled namespace first
        healthy = [r for r in screen.table.rows if not r["style"]]
        assert all(column(r["cells"], "OK") == column(r["cells"], "PODS") for r in healthy)
        # the watchers open incidents (in the ledger the overview reads): one about q1, one about a node
        ledger = await app.session.kubewhy.ledger()
        for subject in ("pod/q1/app-7d4b9c6f5-x2x7k", "node/node-3"):
            await ledger.open_incident(
                cluster="sim", rule="crash-loop", subject=subject, severity="critical", title="t", channel=None
            )
        await screen.load_incidents()
        rows = {r["name"]: r["cells"] for r in screen.table.rows}
        assert column(rows["q1"], "INCIDENTS") == 1 and column(rows["q8"], "INCIDENTS") == 0
        assert screen.summary is not None and screen.summary.cluster_incidents == 1
        # an eviction arrives by the watch: counted without a new LIST
        lists = app.session.stores["Pod"].stats.lists  # type: ignore[attr-defined]
        evicted_before = column(rows["q4"], "EVICTED")
        step = {"evict": {"namespace": "q4", "name": "client-5b8f7c6d94-bnfzt", "message": "low on storage"}}
        await asyncio.to_thread(workshop.control, "apply", {"steps": [step]})
        await until(
            pilot,
            lambda: column({r["name"]: r["cells"] for r in screen.table.rows}["q4"], "EVICTED") == evicted_before + 1,
            "the eviction counted",
        )
        assert app.session.stores["Pod"].stats.lists == lists  # type: ignore[attr-defined]
        # Enter: the namespace's pods
        screen.table.move_to([r["name"] for r in screen.table.rows].index("q8"))
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, ResourceScreen) and app.screen.kind == "Pod" and bool(app.screen.shown),
            "q8's pods",
        )
        assert app.namespace == "q8" and {r["ns"] for r in app.screen.shown} == {"q8"}  # type: ignore[attr-defined]
        await pilot.press("escape")
        await command(pilot, "overview")
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen), ":overview")
