"""The application object every front-end holds: one fix lifecycle (dry run, pre-check, apply, each recorded with
the acting identity and the target's UID), applied once, refused when the object changed under it; laziness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kubesim import load as load_scenario
from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.lifecycle import Action, AlreadyApplied
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, SettingsError, load

SERVICE = parse_target("svc/q4/web")


@pytest.fixture
async def app(start_sim: Callable[..., RunningSim], tmp_path: Path) -> AsyncIterator[Kubewhy]:
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "USER": "alice", "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    async with Kubewhy(load(env, Flags()), source="tui") as made:
        yield made


async def _service_fix(app: Kubewhy) -> Action:
    report = await app.diagnose(SERVICE)
    proposed = app.propose(report, channel="session-1")
    assert proposed, "the workshop's Service has a fix kubewhy can apply"
    action = next(iter(proposed.values()))
    assert app.fix(action.id) is action
    return action


def _events(entries: list[Any]) -> list[str]:
    return [e.summary.split(":", 1)[0] for e in reversed(entries) if e.kind == "fix_event"]


async def test_dry_run_precheck_apply_each_recorded_with_identity_and_uid(app: Kubewhy) -> None:
    action = await _service_fix(app)
    dry = await app.dry_run(action)
    assert dry.ok and dry.dry_run
    live = await app.get(parse_target(f"{action.patch.kind}/{action.patch.namespace}/{action.patch.name}"))
    assert live is not None and action.target_uid == live["metadata"]["uid"]
    assert action.acting_as.kind == "user" and "alice" in action.acting_as.name
    assert "UID" in action.precondition
    check = await app.precheck(action)
    assert check.ok, check.reason
    result = await app.apply(action, actor="alice")
    assert result.ok and not result.dry_run and action.state == "applied"
    with pytest.raises(AlreadyApplied):  # a double submit sends nothing twice
        await app.apply(action, actor="bob")
    entries = await app.history(target=SERVICE)
    assert _events(entries) == ["dry-run", "approved", "applied"], [e.summary for e in entries]
    assert len(action.records) == 3


async def test_apply_is_refused_when_the_object_was_recreated_since_the_dry_run(app: Kubewhy) -> None:
    action = await _service_fix(app)
    assert (await app.dry_run(action)).ok
    objects = app.kube.capabilities.objects
    assert objects is not None
    patch = action.patch
    old = await app.get(parse_target(f"{patch.kind}/{patch.namespace}/{patch.name}"))
    assert old is not None
    from kubewhy.adapters.kube_live import LiveKube

    assert isinstance(app.kube, LiveKube)
    await app.kube._request("DELETE", f"/api/v1/namespaces/{patch.namespace}/services/{patch.name}")
    meta = {k: v for k, v in old["metadata"].items() if k in ("name", "namespace", "labels")}
    spec = {k: v for k, v in old["spec"].items() if k not in ("clusterIP", "clusterIPs")}
    await objects.create(patch.kind, patch.namespace, {**old, "metadata": meta, "spec": spec, "status": {}})
    result = await app.apply(action, actor="alice")
    assert not result.ok and "re-created" in result.message
    assert action.state == "declined"
    assert _events(await app.history(target=SERVICE))[-1] == "declined"


async def test_policies_not_yet_available_are_refused_not_ignored(app: Kubewhy) -> None:
    report = await app.diagnose(SERVICE)
    action = next(iter(app.propose(report, policy="two-person").values()))
    check = await app.precheck(action)
    assert not check.ok and "two-person" in check.reason
    assert not (await app.apply(action, actor="alice")).ok


async def test_a_snapshot_opens_no_ledger_and_cannot_be_watched(tmp_path: Path) -> None:
    files = [str(p) for p in load_scenario("workshop/q01-app-crash").sources]
    env = {"USER": "alice", "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    async with Kubewhy(load(env, Flags(snapshot=files))) as app:
        report = await app.diagnose(parse_target("pod/q1/app-7d4b9c6f5-x2x7k"))
        assert not report.healthy
        assert app._ledger is None and app._watch is None  # nothing opened that was not needed
        with pytest.raises(SettingsError):
            app.watch_source()
        assert app.kube.capabilities.writer is None
        assert await app.incidents() == []  # the ledger opens on first use
        assert app._ledger is not None


async def test_diagnose_falls_back_when_the_target_is_gone(app: Kubewhy) -> None:
    report = await app.diagnose(parse_target("pod/q4/gone"), fallback=parse_target("node/node-1"), timeout=20)
    assert report.target.kind == "Node"
