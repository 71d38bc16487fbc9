"""cpu-throttling, memory-near-limit and pvc-filling proven over a real Prometheus; nothing on the healthy cluster.

Each scenario's last hour is back-filled into its own Prometheus; the diagnosis runs through the real HTTP API,
offline (snapshot) and through the simulator (live).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kubelab.evaluate import evaluate
from kubesim.prometheus import RunningPrometheus
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom import PromMetrics
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from tests.prometheus.promcases import FILLING, HEALTHY, MEMORY, THROTTLED, load_scenario

CATALOG = load_dirs([])

CASES = [
    (
        THROTTLED,
        "pod/q10/server-7b6f4c9d8c-jhk7g",
        "cpu-throttling",
        [r"throttled periods / periods over 5m for server: 6\d%", r"resources.limits.cpu: 100m"],
    ),
    (THROTTLED, "deploy/q10/server", "cpu-throttling", [r"resources.limits.cpu: 100m"]),
    # Back-filled series go on past "now" at the same trend, so values move a little while the session runs.
    (
        MEMORY,
        "pod/mem/api-5c8d7f9b6d-k2m4p",
        "memory-near-limit",
        [r"4[78]\d\.\dMiB = 9\d% of resources.limits.memory 512Mi", r"trend \(deriv over 15m\): \+1\.5MiB/min"],
    ),
    (FILLING, "pvc/ingest/data-collector-0", "pvc-filling", [r"\d\.\dGiB available", r"time to full ≈ [3-6]\dm"]),
    (FILLING, "pod/ingest/collector-0", "pvc-filling", [r"time to full ≈ [3-6]\dm"]),
]


def snapshot_deps(name: str, prom: RunningPrometheus) -> Deps:
    kube = SnapshotKube([Path(p) for p in load_scenario(name).sources])
    return Deps(kube=kube, catalog=CATALOG, clock=kube.clock, prom=PromMetrics(prom.url, timeout=10))


def run(target: str, deps: Deps) -> Report:
    return asyncio.run(diagnose(parse_target(target), deps))


@pytest.mark.parametrize("scenario,target,playbook,evidence", CASES, ids=[f"{c[2]}:{c[1]}" for c in CASES])
def test_metric_cause_is_proven_offline(
    prometheus_for: Callable[[str], RunningPrometheus], scenario: str, target: str, playbook: str, evidence: list[str]
) -> None:
    report = run(target, snapshot_deps(scenario, prometheus_for(scenario)))
    found = {f.id: f for f in report.findings}
    assert playbook in found, (list(found), [c.to_dict() for c in report.checks if c.status != "ok"])
    text = "\n".join(found[playbook].evidence)
    for pattern in evidence:
        assert re.search(pattern, text), (pattern, text)
    assert found[playbook].chart, "the finding names a series to chart"


@pytest.mark.parametrize("scenario,target,playbook,evidence", CASES[::2], ids=[f"{c[2]}:{c[1]}" for c in CASES[::2]])
def test_metric_cause_is_proven_through_the_simulator(  # type: ignore[no-untyped-def]
    start_sim,
    prometheus_for,
    scenario: str,
    target: str,  # type: ignore[no-untyped-def]
    playbook: str,
    evidence: list[str],
) -> None:
    sim = start_sim(scenario, timeline_mode="manual")
    deps = Deps(
        kube=LiveKube(build_api_client(str(sim.kubeconfig))),
        catalog=CATALOG,
        prom=PromMetrics(prometheus_for(scenario).url, timeout=10),
    )
    report = run(target, deps)
    assert playbook in {f.id for f in report.findings}


NEGATIVE = [
    (MEMORY, "pod/mem/worker-7f6b8c5d4-q9z8x"),  # 25% of its limit, flat
    (FILLING, "pvc/ingest/data-collector-1"),  # 3% used, flat
    (FILLING, "pod/ingest/collector-1"),
]


@pytest.mark.parametrize("scenario,target", NEGATIVE, ids=[t for _, t in NEGATIVE])
def test_neighbours_with_metrics_are_not_reported(prometheus_for, scenario: str, target: str) -> None:  # type: ignore[no-untyped-def]
    report = run(target, snapshot_deps(scenario, prometheus_for(scenario)))
    assert report.findings == []
    ran = [
        c
        for c in report.checks
        if c.id.split(".")[0] in ("memory-near-limit", "pvc-filling") and not c.id.endswith(".when")
    ]
    # The kubelet checks stand back when Prometheus answers; every other metric check ran.
    assert all(c.status == "skipped" for c in ran if c.id.endswith(".kubelet"))
    ran = [c for c in ran if not c.id.endswith(".kubelet")]
    assert ran and all(c.status == "ok" for c in ran), [c.to_dict() for c in ran]


def test_nothing_on_the_healthy_cluster(prometheus_for: Callable[[str], RunningPrometheus]) -> None:
    scenario = load_scenario(HEALTHY)
    assert scenario.expect
    deps = snapshot_deps(HEALTHY, prometheus_for(HEALTHY))
    metric_checks_ok = 0
    for exp in scenario.expect:
        report = run(exp.target, deps)
        assert report.findings == [], (exp.target, [f.id for f in report.findings])
        metric_checks_ok += sum(
            1
            for c in report.checks
            if c.status == "ok"
            and c.id.split(".")[-1] in ("throttling", "working_set", "available", "peak", "growth", "trend")
        )
    # The metric playbooks really ran against Prometheus (and found nothing): not skipped, not failed.
    assert metric_checks_ok >= 6, metric_checks_ok


@pytest.mark.parametrize("mode", ["snapshot", "live"])
def test_eval_with_prometheus_auto_passes_q10(prometheus_binaries, mode: str) -> None:  # type: ignore[no-untyped-def]
    result = asyncio.run(evaluate([THROTTLED], CATALOG, mode, prometheus="auto"))  # type: ignore[arg-type]
    assert result.cases and result.passed, [(c.target, c.found, c.missing, c.error) for c in result.cases]
    assert all("cpu-throttling" in c.found for c in result.cases)


def test_eval_without_prometheus_cannot_prove_q10() -> None:
    result = asyncio.run(evaluate([THROTTLED], CATALOG, "snapshot", prometheus="off"))
    assert not result.passed and all("cpu-throttling" in c.missing for c in result.cases)
