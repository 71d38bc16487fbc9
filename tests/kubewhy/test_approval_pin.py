"""An approval is pinned to what the approver's dry run saw (issue 27): the patch, the fix, the target's UID, its
generation and the fields the patch touches; not the resourceVersion, which churns. Against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.lifecycle import Action, with_precondition
from kubewhy.models.findings import Patch
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, load

SERVICE = parse_target("svc/q4/web")


@pytest.fixture
async def app(start_sim: Callable[..., RunningSim], tmp_path: Path) -> AsyncIterator[tuple[Kubewhy, RunningSim]]:
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "USER": "alice", "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    async with Kubewhy(load(env, Flags()), source="tui") as made:
        yield made, sim


async def _reviewed(app: Kubewhy) -> Action:
    report = await app.diagnose(SERVICE)
    action = next(iter(app.propose(report).values()))
    assert (await app.dry_run(action, actor="alice")).ok
    review = action.reviews["alice"]
    assert review.pin is not None and review.pin.uid is not None
    return action


def _change(sim: RunningSim, merge: dict[str, object]) -> None:
    sim.control(
        "apply",
        {"steps": [{"patch": {"target": {"kind": "Service", "namespace": "q4", "name": "web"}, "merge": merge}}]},
    )


async def test_churn_elsewhere_keeps_the_approval_a_change_to_the_patched_fields_makes_it_stale(
    app: tuple[Kubewhy, RunningSim],
) -> None:
    kubewhy, sim = app
    action = await _reviewed(kubewhy)
    before = action.reviews["alice"].pin
    _change(sim, {"metadata": {"annotations": {"restarted-at": "now"}}, "status": {"loadBalancer": {}}})
    live = await kubewhy.get(SERVICE)
    assert live is not None and before is not None and live["metadata"]["resourceVersion"] != before.resource_version
    # the object moved (a new resourceVersion), but not where the fix writes: still approvable
    _change(sim, {"spec": {"selector": {"app": "someone-else"}}})  # ...until the selector itself changes
    result = await kubewhy.apply(action, actor="alice")
    assert not result.ok and "fields the fix changes were changed since the dry run" in result.message
    assert action.approved_by is None  # nothing was sent: a fresh dry run may be approved
    assert (await kubewhy.dry_run(action, actor="alice")).ok
    result = await kubewhy.apply(action, actor="alice")
    assert result.ok, result.message
    entries = await kubewhy.history(target=SERVICE)
    events = [e.summary.split(":")[0] for e in reversed(entries) if e.kind == "fix_event"]
    assert events == ["dry-run", "declined", "dry-run", "approved", "applied"], events


async def test_an_unrelated_change_does_not_stale_the_approval(app: tuple[Kubewhy, RunningSim]) -> None:
    kubewhy, sim = app
    action = await _reviewed(kubewhy)
    _change(sim, {"metadata": {"labels": {"restarts": "7"}}, "status": {"conditions": []}})
    result = await kubewhy.apply(action, actor="alice")
    assert result.ok, result.message


async def test_an_approval_expires(app: tuple[Kubewhy, RunningSim]) -> None:
    kubewhy, _ = app
    action = await _reviewed(kubewhy)
    action.ttl = timedelta(0)
    result = await kubewhy.apply(action, actor="alice")
    assert not result.ok and "expired" in result.message


def test_the_resource_version_is_a_precondition_of_the_final_patch() -> None:
    json_patch = Patch("Service", "web", "q4", "json", [{"op": "replace", "path": "/spec/selector", "value": {}}])
    pinned = with_precondition(json_patch, "42")
    assert pinned.body[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "42"}
    merge = Patch("Deployment", "api", "q1", "strategic", {"spec": {"replicas": 2}})
    assert with_precondition(merge, "42").body == {"spec": {"replicas": 2}, "metadata": {"resourceVersion": "42"}}
    assert merge.body == {"spec": {"replicas": 2}}  # the proposal itself is left alone
