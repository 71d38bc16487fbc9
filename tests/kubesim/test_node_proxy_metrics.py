"""Metric evidence without Prometheus: the kubelets' cAdvisor and Summary API through the API server's node proxy.

The simulator serves ``/api/v1/nodes/NODE/proxy/metrics/cadvisor`` and ``/stats/summary`` from its usage model;
kubewhy reads them through the live adapter (real HTTP) and proves CPU throttling, memory near its limit and a
PVC filling up with no Prometheus configured. Each node is read once: a throttling ratio is then the container's
lifetime average and a growth is unknown (rates from stored samples: tests/kubewhy/test_kubelet_samples.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Callable

import pytest

from kubesim.runner import RunningSim
from kubewhy import compose
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.kubelet import KubeletStats, parse_counters
from kubewhy.errors import KubeApiError
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.service import diagnose
from kubewhy.settings import KubeSettings, PromSettings, Settings
from tests.conftest import run_kubectl

Q10 = "workshop/q10-p99-latency"
MEMORY = "catalogue/memory-near-limit"
FILLING = "catalogue/pvc-filling"


def live(sim: RunningSim) -> LiveKube:
    return LiveKube(build_api_client(str(sim.kubeconfig)))


def diagnose_without_prometheus(sim: RunningSim, *targets: str) -> list[Report]:
    """Through the composition root, as the CLI does: no Prometheus, so the kubelet reader is wired in."""
    settings = Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)))

    async def run() -> list[Report]:
        async with compose.opened(settings, audit=False) as deps:
            assert deps.prom is None and isinstance(deps.kubelet, KubeletStats)
            return [await diagnose(parse_target(t), deps) for t in targets]

    return asyncio.run(run())


def finding(report: Report, playbook: str) -> str:
    found = {f.id: f for f in report.findings}
    assert playbook in found, (list(found), [c.to_dict() for c in report.checks if c.status != "ok"])
    return "\n".join([found[playbook].summary, *found[playbook].evidence])


def test_the_node_proxy_serves_the_kubelets_endpoints(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop")
    kube = live(sim)
    cadvisor = asyncio.run(kube.node_proxy("node-1", "metrics/cadvisor"))
    counters = parse_counters(cadvisor)
    server = ("q10", "server-7b6f4c9d8c-jhk7g", "server")
    assert counters["container_cpu_cfs_periods_total"][server] > 0
    assert counters["container_cpu_cfs_throttled_periods_total"][server] > 0
    assert all(ns != "q3" for ns, _, _ in counters["container_cpu_cfs_periods_total"]), "q3 runs on node-2"
    summary = json.loads(asyncio.run(kube.node_proxy("node-1", "stats/summary")))
    assert summary["node"]["nodeName"] == "node-1"
    pods = {(p["podRef"]["namespace"], p["podRef"]["name"]): p for p in summary["pods"]}
    memory = pods[("q10", "server-7b6f4c9d8c-jhk7g")]["containers"][0]["memory"]
    assert memory["workingSetBytes"] == 71 * 2**20  # the scenario's usage: 71Mi
    volumes = [v for p in summary["pods"] for v in p.get("volume", [])]
    assert {"name": "data-db-0", "namespace": "q5"} in [v["pvcRef"] for v in volumes]
    # The same through kubectl, as a user with nodes/proxy rights would read it.
    raw = run_kubectl(sim, "get", "--raw", "/api/v1/nodes/node-1/proxy/stats/summary").stdout
    assert json.loads(raw)["node"]["nodeName"] == "node-1"


def test_a_node_without_a_kubelet_answers_like_an_api_server(start_sim: Callable[..., RunningSim]) -> None:
    kube = live(start_sim("workshop"))
    with pytest.raises(KubeApiError) as not_ready:
        asyncio.run(kube.node_proxy("node-3", "stats/summary"))  # NotReady: its kubelet stopped
    assert not_ready.value.status == 503 and "10250" in str(not_ready.value)
    with pytest.raises(KubeApiError) as missing:
        asyncio.run(kube.node_proxy("node-9", "metrics/cadvisor"))
    assert missing.value.status == 404 and 'nodes "node-9" not found' in str(missing.value)
    with pytest.raises(KubeApiError) as unknown:
        asyncio.run(kube.node_proxy("node-1", "configz"))
    assert unknown.value.status == 404 and "stats/summary" in str(unknown.value)


def test_cpu_throttling_is_proven_through_the_node_proxy(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(Q10, timeline_mode="manual")
    pod, deploy = diagnose_without_prometheus(sim, "pod/q10/server-7b6f4c9d8c-jhk7g", "deploy/q10/server")
    text = finding(pod, "cpu-throttling")
    assert re.search(r"has been throttled in 6\d% of CFS periods under its CPU limit of 100m over its lifetime", text)
    assert re.search(
        r"throttled periods / periods over the container's lifetime \(since 20\d\d-\d\d-\d\dT[\d:]+Z\) for server: "
        r"6\d% \(kubelet of node-1 via the API server's node proxy \(/api/v1/nodes/node-1/proxy/metrics/cadvisor\), "
        r"one sample",
        text,
    ), text
    assert "does not show whether the container is throttled now" in text, text
    assert "cpu-throttling" in {f.id for f in deploy.findings}
    assert not {"oom-killed", "app-crash", "liveness-throttled"} & {f.id for f in pod.findings}
    # The load generator has no CPU limit, so no CFS periods: nothing to prove, nothing reported.
    (generator,) = diagnose_without_prometheus(sim, "pod/q10/load-generator-6d9c7f5b84-dd4gl")
    assert "cpu-throttling" not in {f.id for f in generator.findings}


def test_memory_near_its_limit_is_proven_through_the_node_proxy(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(MEMORY, timeline_mode="manual")
    api, worker = diagnose_without_prometheus(sim, "pod/mem/api-5c8d7f9b6d-k2m4p", "pod/mem/worker-7f6b8c5d4-q9z8x")
    text = finding(api, "memory-near-limit")
    assert re.search(
        r"workingSetBytes \(kubelet of node-1 via the API server's node proxy "
        r"\(/api/v1/nodes/node-1/proxy/stats/summary\), one sample, no earlier sample for a trend\) of api: "
        r"47\d\.\dMiB = 9\d% of resources.limits.memory 512Mi",
        text,
    ), text
    assert "trend: not measured (one kubelet reading and no recent sample" in text, text
    assert worker.findings == [], "64Mi of a 256Mi limit, flat"
    checks = {c.id: c for c in worker.checks}
    assert checks["memory-near-limit.kubelet"].status == "ok"


def test_pvc_fill_level_is_read_through_the_node_proxy(start_sim: Callable[..., RunningSim]) -> None:
    """One reading gives the fill level, not the rate: pvc-filling (a time to full) is not claimed from it. With a
    recent stored sample it is (tests/kubewhy/test_kubelet_samples.py)."""
    sim = start_sim(FILLING, timeline_mode="manual")
    pvc, pod, quiet = diagnose_without_prometheus(
        sim, "pvc/ingest/data-collector-0", "pod/ingest/collector-0", "pvc/ingest/data-collector-1"
    )
    for report in (pvc, pod, quiet):
        assert {c.id: c for c in report.checks}["pvc-filling.kubelet"].status == "ok"
        assert "pvc-filling" not in {f.id for f in report.findings}
    measured = asyncio.run(KubeletStats(live(sim)).stats("node-1"))
    (volume,) = [v for v in measured["volumes"] if v["claim"] == "data-collector-0"]
    assert 0.8 < volume["used"] / volume["capacity"] < 0.9 and volume["growth"] is None
    assert measured["seconds"] == 0.0 and "one sample" in measured["source"]


def test_with_prometheus_or_offline_the_kubelet_is_not_asked(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(Q10, timeline_mode="manual")
    base = Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)))
    assert isinstance(compose.build_kubelet(base, live(sim)), KubeletStats)
    with_prom = dataclasses.replace(base, prometheus=PromSettings(url="http://127.0.0.1:9"))
    deps = asyncio.run(compose.build(with_prom, audit=False))
    assert deps.prom is not None and deps.kubelet is None
    assert compose.build_kubelet(base, SnapshotKube([], objects=[], endpoint="a dump")) is None
