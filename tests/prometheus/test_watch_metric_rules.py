"""The watchers' metric rules (CPU throttling, memory near the limit, a PVC filling) over a real Prometheus:
one cluster-wide query per rule, the subject named from the watchers' pod cache, nothing on a healthy cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from kubesim.prometheus import RunningPrometheus
from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.prom import PromMetrics
from kubewhy.app import Kubewhy
from kubewhy.settings import Flags, load
from kubewhy.watch.engine import Watcher, WatchOptions
from kubewhy.watch.metrics import evaluate
from kubewhy.watch.rules import load_rules
from tests.prometheus.promcases import FILLING, HEALTHY, MEMORY, THROTTLED

CASES = [
    (THROTTLED, "cpu-throttling", "deploy/q10/server"),
    (MEMORY, "memory-near-limit", "deploy/mem/api"),
    (FILLING, "pvc-filling", "pvc/ingest/data-collector-0"),
]


async def _candidates(sim: RunningSim, prom: RunningPrometheus, rule_id: str) -> dict[tuple[str, str], Any]:
    kube = LiveKube(build_api_client(str(sim.kubeconfig)))
    rules = load_rules()
    rule = next(r for r in rules.rules if r.id == rule_id)
    app = Kubewhy(load({"KUBECONFIG": str(sim.kubeconfig)}, Flags()), source="watcher", kube=kube, audit=False)
    watcher = Watcher(
        app,  # not opened: evaluating a rule feeds candidates, nothing is diagnosed or recorded
        kube,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        rules,  # type: ignore[arg-type]
        WatchOptions(cluster="test"),
    )
    task = asyncio.create_task(watcher.pods.run())
    try:
        await asyncio.wait_for(watcher.pods.synced.wait(), 10)
        await evaluate(rule, PromMetrics(prom.url, timeout=10), watcher)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return watcher.candidates


@pytest.mark.parametrize("scenario,rule,subject", CASES, ids=[c[1] for c in CASES])
async def test_metric_rule_finds_its_subject_over_real_prometheus(
    prometheus_for: Callable[[str], RunningPrometheus],
    start_sim: Callable[..., RunningSim],
    scenario: str,
    rule: str,
    subject: str,
) -> None:
    prom = prometheus_for(scenario)
    sim = start_sim(scenario, timeline_mode="manual")
    found = await _candidates(sim, prom, rule)
    assert (rule, subject) in found, list(found)
    cand = found[(rule, subject)]
    assert cand.rule.for_ == timedelta(minutes=5) and cand.items  # over the threshold for the whole window


async def test_metric_rules_find_nothing_on_a_healthy_cluster(
    prometheus_for: Callable[[str], RunningPrometheus], start_sim: Callable[..., RunningSim]
) -> None:
    prom = prometheus_for(HEALTHY)
    sim = start_sim(HEALTHY, timeline_mode="manual")
    for rule in ("cpu-throttling", "memory-near-limit", "pvc-filling"):
        assert await _candidates(sim, prom, rule) == {}
