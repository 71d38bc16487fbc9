"""`--generate …,failing=N`: that many crash-looping pods, each in a workload of its own, spread over the cluster;
the rest as the default generator makes them (one in 50 without it)."""

from __future__ import annotations

from kubelab.cli_sim import _parse_generate
from kubesim.generate import large_scenario


def _failing(pods: int, **kw: int) -> list[dict[str, object]]:
    scenario = large_scenario(pods=pods, nodes=20, events=50, **kw)
    return [
        o
        for o in scenario.objects
        if o["kind"] == "Pod" and o["status"]["containerStatuses"][0]["state"].get("waiting")  # type: ignore[index]
    ]


def test_failing_sets_how_many_pods_crash_loop_one_workload_each() -> None:
    found = _failing(2000, failing=25)
    assert len(found) == 25
    owners = {o["metadata"]["ownerReferences"][0]["name"] for o in found}  # type: ignore[index]
    assert len(owners) == 25
    assert len({o["spec"]["nodeName"] for o in found}) > 1  # type: ignore[index]
    assert len(_failing(2000)) == 40 and _failing(300, failing=0) == []


def test_the_cli_spec_takes_failing() -> None:
    assert _parse_generate("pods=150000,nodes=5000,events=150000,failing=300") == {
        "pods": 150000,
        "nodes": 5000,
        "events": 150000,
        "failing": 300,
    }
