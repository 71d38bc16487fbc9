"""Kubelet evidence from one reading per node: lifetime ratios, rates from recent stored samples, and no reading
at all when no playbook would use it.

The readings go over HTTP to the simulator's node proxy (kubesim/kubelet.py). A stored sample stands for what
the kubelet sampler (issue 31) or an earlier diagnosis of the same process kept: it is the simulator's own
reading with its counters set back, as they stood a minute earlier.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from kubesim.runner import RunningSim
from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kubelet import (
    CADVISOR,
    SUMMARY,
    KubeletStats,
    MemorySamples,
    Sample,
    parse_counters,
    throttling,
)
from kubewhy.checks.kubelet import kubelet_throttling
from kubewhy.checks.registry import CheckContext
from kubewhy.errors import CheckSkipped
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

Q10 = "workshop/q10-p99-latency"
SERVER = "pod/q10/server-7b6f4c9d8c-jhk7g"
KEY = ("q10", "server-7b6f4c9d8c-jhk7g", "server")
PERIODS, THROTTLED = "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total"
CATALOG = load_dirs([])


def live(sim: RunningSim) -> LiveKube:
    return LiveKube(build_api_client(str(sim.kubeconfig)))


def proxied(sim: RunningSim) -> dict[str, int]:
    return {k: v for k, v in sim.stats().items() if "nodes/proxy" in k}


async def why(kube: LiveKube, kubelet: KubeletStats, target: str) -> Report:
    return await diagnose(parse_target(target), Deps(kube=kube, catalog=CATALOG, kubelet=kubelet))


def text_of(report: Report, playbook: str) -> str:
    found = {f.id: f for f in report.findings}
    assert playbook in found, (list(found), [c.to_dict() for c in report.checks if "kubelet" in c.id])
    return "\n".join([found[playbook].summary, *found[playbook].evidence])


def test_one_reading_gives_the_lifetime_ratio_an_earlier_one_the_recent_ratio() -> None:
    now = parse_counters(
        'container_cpu_cfs_periods_total{container="app",namespace="a",pod="p"} 1100 1718359200000\n'
        'container_cpu_cfs_throttled_periods_total{container="app",namespace="a",pod="p"} 925\n'
        'container_cpu_cfs_periods_total{container="",namespace="a",pod="p"} 9\n'
        'container_cpu_cfs_periods_total{container="POD",namespace="a",pod="p"} 9\n'
    )
    before = parse_counters(
        'container_cpu_cfs_periods_total{container="app",namespace="a",pod="p"} 1000\n'
        'container_cpu_cfs_throttled_periods_total{container="app",namespace="a",pod="p"} 900\n'
    )
    row = {"namespace": "a", "pod": "p", "container": "app"}
    # 25 of the last 100 periods were throttled, whatever the totals since the container started (84%).
    assert throttling(now, before) == [{**row, "ratio": 0.25, "periods": 100.0, "recent": True}]
    assert throttling(now) == [{**row, "ratio": 925 / 1100, "periods": 1100.0, "recent": False}]
    # Counters that did not advance prove nothing recent; counters that went back belong to a restarted container.
    assert throttling(now, now)[0]["recent"] is False
    assert throttling(before, now) == [{**row, "ratio": 0.9, "periods": 1000.0, "recent": False}]


async def earlier_cadvisor(kube: LiveKube, seconds: float, throttled_share: float) -> Sample:
    """The simulator's counters as they stood ``seconds`` ago, had ``throttled_share`` of the periods since then
    been throttled (the scenario itself throttles 62% of them, all along)."""
    counters = parse_counters(await kube.node_proxy("node-1", CADVISOR))
    periods = seconds * 10  # CFS periods of 100 ms
    counters[PERIODS][KEY] -= periods
    counters[THROTTLED][KEY] -= periods * throttled_share
    return Sample(time.time() - seconds, counters)


async def test_a_recent_stored_sample_outweighs_the_lifetime_average(start_sim: Callable[..., RunningSim]) -> None:
    """A container throttled for the last minutes after a quieter life: the stored sample shows it, and the
    finding says "is throttled" over the last 3 minutes, from one request to the kubelet."""
    sim = start_sim(Q10, timeline_mode="manual")
    kube = live(sim)
    samples = MemorySamples()
    samples.keep("node-1", CADVISOR, await earlier_cadvisor(kube, 180, 0.9))
    sim.reset_stats()
    report = await why(kube, KubeletStats(kube, samples=samples), SERVER)
    text = text_of(report, "cpu-throttling")
    assert "Container server is throttled in 90% of CFS periods under its CPU limit of 100m:" in text, text
    assert re.search(
        r"over the last 3m for server: 90% \(kubelet of node-1 .*change since a sample 180s earlier\)", text
    )
    assert "lifetime" not in text and "inconclusive" not in text, text
    assert proxied(sim).get("get nodes/proxy/metrics/cadvisor") == 1
    assert [s.at for s in await samples.recent("node-1", CADVISOR)][-1] > time.time() - 5, "the reading is kept"

    # The other way round: quiet for the last minutes, so the lifetime's 62% is not claimed.
    samples = MemorySamples()
    samples.keep("node-1", CADVISOR, await earlier_cadvisor(kube, 180, 0.05))
    report = await why(kube, KubeletStats(kube, samples=samples), SERVER)
    assert "cpu-throttling" not in {f.id for f in report.findings}


async def test_samples_too_fresh_or_too_old_leave_the_lifetime_average(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(Q10, timeline_mode="manual")
    kube = live(sim)
    for age in (3.0, 3600.0):  # within cAdvisor's housekeeping interval; older than what "now" means
        samples = MemorySamples()
        samples.keep("node-1", CADVISOR, await earlier_cadvisor(kube, age, 0.9))
        text = text_of(await why(kube, KubeletStats(kube, samples=samples), SERVER), "cpu-throttling")
        assert "has been throttled in 6" in text and "over its lifetime (since " in text, (age, text)


async def test_a_stored_summary_sample_gives_the_volume_its_rate(start_sim: Callable[..., RunningSim]) -> None:
    """One reading cannot say a volume fills up; with the Summary the sampler kept 3 minutes ago it can, and
    pvc-filling names the time to full."""
    sim = start_sim("catalogue/pvc-filling", timeline_mode="manual")
    kube = live(sim)
    doc = json.loads(await kube.node_proxy("node-1", SUMMARY))
    earlier = copy.deepcopy(doc)
    for pod in earlier["pods"]:
        for volume in pod.get("volume") or []:
            volume["time"] = "2024-06-14T09:57:00Z"
            if volume["pvcRef"]["name"] == "data-collector-0":
                volume["usedBytes"] -= 3 * 24 * 2**20  # the scenario's 24Mi a minute
    samples = MemorySamples()
    samples.keep("node-1", SUMMARY, Sample(time.time() - 180, earlier))
    report = await why(kube, KubeletStats(kube, samples=samples), "pvc/ingest/data-collector-0")
    text = text_of(report, "pvc-filling")
    assert re.search(r"Volume data-collector-0 is 8\d% full and loses 2\d\.\dMiB/min of free space", text), text
    assert re.search(r"change since a kubelet sample 3m earlier = -2\d\.\dMiB/min; time to full ≈ [5-7]\dm", text)


async def test_the_kubelet_is_not_read_when_no_playbook_would_use_it(start_sim: Callable[..., RunningSim]) -> None:
    """liveness-throttled reads the ratio only for a liveness timeout under a low CPU limit: thumbd's probe
    answers 503 at once, so nothing is read; a container without a CPU limit has no CFS periods to read."""
    sim = start_sim("catalogue/liveness-throttled--near-miss", timeline_mode="manual")
    kube = live(sim)
    report = await why(kube, KubeletStats(kube), "pod/imaging/thumbd-6t82t7r7wt-d72b5")
    checks = {c.id: c for c in report.checks}
    assert checks["liveness-throttled.kubelet"].status == "skipped"
    assert "not needed" in checks["liveness-throttled.kubelet"].detail
    # (cpu-throttling does read it: thumbd runs under a CPU limit)
    assert checks["cpu-throttling.kubelet"].status == "ok" and proxied(sim)["get nodes/proxy/metrics/cadvisor"] == 1

    sim = start_sim(Q10, timeline_mode="manual")
    kube = live(sim)
    generator = await kube.get("Pod", "q10", "load-generator-6d9c7f5b84-dd4gl")
    assert generator is not None
    ctx = CheckContext(kube=CachedKube(kube), prom=None, clock=lambda: datetime.now(UTC), kubelet=KubeletStats(kube))
    with pytest.raises(CheckSkipped, match="no running container of pod load-generator.* has a CPU limit"):
        await kubelet_throttling(ctx, generator)
    with pytest.raises(CheckSkipped, match="not needed"):
        await kubelet_throttling(ctx, generator, needed=False)
    assert not proxied(sim), proxied(sim)


async def test_a_crash_looping_pod_is_diagnosed_without_the_kubelet(start_sim: Callable[..., RunningSim]) -> None:
    """q01 (and the benchmark's target): the container waits in CrashLoopBackOff, so no counters run and nothing
    is read; liveness-throttled still names the cause from the probe timeouts and the 100m limit."""
    sim = start_sim("workshop/q01-app-crash", timeline_mode="manual")
    kube = live(sim)
    report = await why(kube, KubeletStats(kube), "pod/q1/app-7d4b9c6f5-x2x7k")
    checks = {c.id: c for c in report.checks}
    assert "liveness-throttled" in {f.id for f in report.findings}
    assert "no running container" in checks["liveness-throttled.kubelet"].detail
    assert not proxied(sim), proxied(sim)


class UnreachableStore:
    """A sample store whose database is down (the sampler's, say)."""

    async def recent(self, node: str, path: str) -> list[Sample]:
        raise ConnectionRefusedError(f"cannot read the samples of {node}: the database is down")

    def keep(self, node: str, path: str, sample: Sample) -> None:
        pass


async def test_a_failing_sample_store_costs_the_rate_not_the_reading(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(Q10, timeline_mode="manual")
    kube = live(sim)
    text = text_of(await why(kube, KubeletStats(kube, samples=UnreachableStore()), SERVER), "cpu-throttling")
    assert "has been throttled in 6" in text and "over its lifetime" in text, text
