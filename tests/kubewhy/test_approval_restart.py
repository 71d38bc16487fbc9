"""Issue 27's decision on what an approval pins, tested as it asks: a pod that restarts while the approval is
pending (its Deployment's status syncing, a new resourceVersion each time) leaves the approval valid; a change to
the fields the fix patches makes it stale. Against the simulator: deploy/q1/app is OOM-killed, its pod restarting,
and the fix raises the Deployment's memory limit."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.lifecycle import Action
from kubewhy.models.target import parse_target
from tests.kubewhy.test_approval_pin import app

pytestmark = pytest.mark.asyncio
__all__ = ["app"]  # the fixture of test_approval_pin: a Kubewhy on the workshop, as the TUI opens it
APP = parse_target("deploy/q1/app")
POD = "app-7d4b9c6f5-x2x7k"


def _patch(sim: RunningSim, kind: str, name: str, merge: dict[str, Any]) -> None:
    target = {"kind": kind, "namespace": "q1", "name": name}
    sim.control("apply", {"steps": [{"patch": {"target": target, "merge": merge}}]})


def _restart(sim: RunningSim) -> None:
    """The pod is OOM-killed once more; the Deployment's status follows (what a controller writes)."""
    pod = sim.cluster.store.get(("", "pods"), "q1", POD)
    assert pod is not None
    statuses = copy.deepcopy(pod["status"]["containerStatuses"])
    for status in statuses:
        status["restartCount"] = int(status.get("restartCount", 0)) + 1
    _patch(sim, "Pod", POD, {"status": {"containerStatuses": statuses}})
    _patch(sim, "Deployment", "app", {"status": {"unavailableReplicas": 1, "readyReplicas": 0}})


async def _oom_fix(kubewhy: Kubewhy) -> Action:
    report = await kubewhy.diagnose(APP)
    proposed = kubewhy.propose(report)
    action = next(a for a in proposed.values() if a.finding_id == "oom-killed")
    assert action.patch.kind == "Deployment"
    assert (await kubewhy.dry_run(action, actor="alice")).ok
    return action


async def test_a_pod_restarting_while_the_approval_is_pending_leaves_it_valid(
    app: tuple[Kubewhy, RunningSim],
) -> None:
    kubewhy, sim = app
    action = await _oom_fix(kubewhy)
    pinned = action.reviews["alice"].pin
    assert pinned is not None
    for _ in range(3):
        _restart(sim)
    live = await kubewhy.get(APP)
    assert live is not None and live["metadata"]["resourceVersion"] != pinned.resource_version  # it moved
    result = await kubewhy.apply(action, actor="alice")
    assert result.ok, result.message
    assert action.state == "applied"


async def test_a_change_to_the_patched_fields_while_pending_makes_it_stale(app: tuple[Kubewhy, RunningSim]) -> None:
    kubewhy, sim = app
    action = await _oom_fix(kubewhy)
    _restart(sim)
    live = await kubewhy.get(APP)
    assert live is not None
    containers = copy.deepcopy(live["spec"]["template"]["spec"]["containers"])
    containers[0].setdefault("resources", {}).setdefault("limits", {})["memory"] = "300Mi"  # someone else's change
    _patch(sim, "Deployment", "app", {"spec": {"template": {"spec": {"containers": containers}}}})
    result = await kubewhy.apply(action, actor="alice")
    assert not result.ok and "changed since the dry run" in result.message, result.message
    after = await kubewhy.get(APP)
    assert after is not None
    assert after["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "300Mi"
