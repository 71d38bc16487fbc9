"""The kubelet sampler over the simulator's kubelets (node proxy, real HTTP): the rates it takes from consecutive
readings, the `for` of the default rules under a virtual clock, a restarted container's counter reset (no rate,
no page), nodes whose proxy refuses or hangs (skipped, counted, the others read), the request budget (spread
across ticks, the interval stretched and said), and the stored samples every replica's diagnoses read."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kubelet import CADVISOR, KubeletStats
from kubewhy.app import Kubewhy
from kubewhy.audit import db
from kubewhy.audit.migrate import upgrade
from kubewhy.audit.samples import SampleStore
from kubewhy.settings import Flags, load
from kubewhy.watch.engine import Watcher, WatchOptions
from kubewhy.watch.rules import RuleSet, load_rules
from kubewhy.watch.sampler import Sampler, StoredSamples
from tests.prometheus.promcases import FILLING, MEMORY, THROTTLED

SERVER = ("q10", "server-7b6f4c9d8c-jhk7g", "server")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    sim: RunningSim
    http: httpx.AsyncClient
    watcher: Watcher
    clock: Clock
    rules: RuleSet

    def rule(self, rule_id: str) -> Any:
        return next(r for r in self.rules.rules if r.id == rule_id)

    def sampler(self, **kw: Any) -> Sampler:
        return Sampler(self.watcher, self.watcher.source.capabilities.nodes, self.rules.rules, **kw)  # type: ignore[arg-type]

    async def apply(self, *steps: dict[str, Any]) -> None:
        (await self.http.post("/kubesim/v1/apply", json={"steps": list(steps)})).raise_for_status()

    async def fault(self, **spec: Any) -> None:
        (await self.http.post("/kubesim/v1/faults", json=spec)).raise_for_status()

    async def pods_seen(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        for _ in range(200):
            if any(predicate(p) for p in self.watcher.pods.items.values()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the pod cache never showed the change")


Start = Callable[[str], Any]


@pytest.fixture
async def rig(start_sim: Callable[..., RunningSim]) -> AsyncIterator[Start]:
    """A watcher's pod cache on a simulated cluster (nothing paged: its candidates are what the rules feed)."""
    tasks: list[asyncio.Task[Any]] = []
    clients: list[httpx.AsyncClient] = []

    async def go(scenario: str) -> Rig:
        sim = start_sim(scenario, timeline_mode="manual", watch_bookmark_interval=0.5)
        kube = LiveKube(build_api_client(str(sim.kubeconfig)))
        rules, clock = load_rules(), Clock()
        app = Kubewhy(load({"KUBECONFIG": str(sim.kubeconfig)}, Flags()), source="watcher", kube=kube, audit=False)
        watcher = Watcher(app, kube, None, None, rules, WatchOptions(cluster="test"), clock=clock)  # type: ignore[arg-type]
        watcher.ready.set()
        tasks.append(asyncio.create_task(watcher.pods.run()))
        await asyncio.wait_for(watcher.pods.synced.wait(), 10)
        http = httpx.AsyncClient(base_url=sim.url, timeout=10)
        clients.append(http)
        return Rig(sim, http, watcher, clock, rules)

    yield go
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for http in clients:
        await http.aclose()


async def _round(rig: Rig, sampler: Sampler, seconds: float, pause: float = 1.0) -> None:
    """The virtual clock moves ``seconds``; the simulator's counters move ``pause`` real seconds; one whole
    round of reads."""
    await asyncio.sleep(pause)
    rig.clock.advance(seconds)
    await sampler.visit(sampler.plan())


async def test_throttling_under_the_default_rule_holds_its_for_then_feeds_the_workload(rig: Start) -> None:
    r: Rig = await rig(THROTTLED)
    sampler, rule = r.sampler(), r.rule("cpu-throttling")
    assert rule.for_ == timedelta(minutes=5) and rule.threshold == 0.25
    await sampler.visit(sampler.plan())
    assert sampler.present(rule) == {}  # one reading: no rate yet
    for _ in range(4):
        await _round(r, sampler, 60)
        assert sampler.present(rule) == {}  # over the threshold, not yet for 5 minutes
    state = sampler.containers[SERVER]
    assert state.ratio == pytest.approx(0.62, abs=0.03) and state.window == 60
    assert r.watcher.candidates == {}
    await _round(r, sampler, 60)
    # the reading that completes the 5 minutes feeds the watcher at once, not at the next `every`
    assert ("cpu-throttling", "deploy/q10/server") in r.watcher.candidates
    found = sampler.present(rule)
    assert list(found) == ["metric/cpu-throttling/q10/server-7b6f4c9d8c-jhk7g/server"]
    signal = found["metric/cpu-throttling/q10/server-7b6f4c9d8c-jhk7g/server"]
    assert signal.subject == "deploy/q10/server" and "CPU-throttled (6" in signal.summary, signal.summary
    assert await sampler.evaluate(rule) == 1
    assert ("cpu-throttling", "deploy/q10/server") in r.watcher.candidates
    # only the containers of nodes running a pod with a limit were read, each node once a round
    assert sampler.stats.requests == len(sampler.plan()) * 6 and not sampler.stats.skipped
    # the load generator has no throttling: never over
    assert all(k[1].startswith("server-") for k, s in sampler.containers.items() if s.since)


async def test_memory_and_a_filling_volume_hold_their_for_from_readings(rig: Start) -> None:
    r: Rig = await rig(MEMORY)
    sampler, rule = r.sampler(), r.rule("memory-near-limit")
    await sampler.visit(sampler.plan())
    for _ in range(5):
        assert sampler.present(rule) == {}
        await _round(r, sampler, 60, pause=0.05)
    assert [s.subject for s in sampler.present(rule).values()] == ["deploy/mem/api"]

    f: Rig = await rig(FILLING)
    sampler, rule = f.sampler(), f.rule("pvc-filling")
    assert sampler.plan() == [("node-1", "metrics/cadvisor"), ("node-1", "stats/summary")]  # limits, claims
    # its 24Mi a minute, in the virtual minutes of this test (one real second each)
    await f.apply(
        {"usage": {"volume": "ingest/data-collector-0", "set": {"used": "8601Mi", "growthPerMinute": "1440Mi"}}}
    )
    await sampler.visit(sampler.plan())
    for _ in range(5):
        assert sampler.present(rule) == {}  # 84% used: under 90%, and one reading has no trend
        await _round(f, sampler, 60)
    held = sampler.present(rule)
    assert list(held) == ["pvc/ingest/data-collector-0"], held  # full within 6 h at its trend; collector-1 is not
    assert re.search(r"filling up \(8\d% used, full within 6 h", held["pvc/ingest/data-collector-0"].summary)


async def test_a_restarted_containers_counter_reset_gives_no_rate_and_pages_nothing(rig: Start) -> None:
    r: Rig = await rig(THROTTLED)
    sampler, rule = r.sampler(interval=1.0), r.rule("cpu-throttling")
    pod = "q10/server-7b6f4c9d8c-jhk7g"
    # the limit was raised: not throttled any more, though its counters still hold an hour at 62%
    await r.apply({"usage": {"pod": pod, "container": "server", "set": {"throttledRatio": 0.0}}})
    await sampler.visit(sampler.plan())
    await _round(r, sampler, 60)
    assert sampler.containers[SERVER].ratio == pytest.approx(0.0, abs=0.01)
    # the container restarts: its counters start again from 0 (a difference across that would be ~62%)
    await r.apply({"usage": {"pod": pod, "container": "server", "restart": True}})
    await r.pods_seen(lambda p: p["name"] == SERVER[1] and p["containers"][0]["restarts"] == 1)
    before, old = sampler.stats.resets, sampler.containers[SERVER].last.counters
    await _round(r, sampler, 60)
    assert sampler.stats.resets == before + 1
    new = sampler.containers[SERVER].last.counters
    assert new.periods is not None and old.periods is not None and new.throttled is not None
    assert old.throttled is not None and (new.throttled - old.throttled) / (new.periods - old.periods) > 0.5
    assert sampler.containers[SERVER].ratio is None  # no rate across a reset
    for _ in range(6):
        await _round(r, sampler, 60)
        assert sampler.present(rule) == {}
        assert await sampler.evaluate(rule) == 0 and r.watcher.candidates == {}  # nothing for the engine to page
    assert sampler.containers[SERVER].ratio == pytest.approx(0.0, abs=0.01)
    # a reset seen only in the counters (a restart count the cache has not caught up with) is one too
    await r.apply({"usage": {"pod": pod, "container": "server", "restart": True, "set": {"throttledRatio": 0.0}}})
    state = sampler.containers[SERVER]
    state.last.restarts = None
    await _round(r, sampler, 60)
    assert sampler.stats.resets == before + 2 and state.ratio is None


async def test_a_node_whose_proxy_refuses_or_hangs_is_skipped_and_counted(rig: Start) -> None:
    r: Rig = await rig("workshop")
    sampler = r.sampler(timeout=0.5, concurrency=8)
    nodes = sorted({n for n, _ in sampler.plan()})
    assert nodes == ["node-1", "node-2"], nodes  # node-3 is NotReady: its pods are not running
    # node-1's proxy refuses (no nodes/proxy there): skipped, counted, node-2 read
    await r.fault(status=403, path="/nodes/node-1/proxy/metrics/cadvisor", times=1, message="nodes/proxy is forbidden")
    await sampler.visit(sampler.plan())
    assert {s.last.node for s in sampler.containers.values()} == {"node-2"}
    assert sampler.stats.skipped == {"forbidden": 1}
    # node-2's kubelet hangs: skipped after the timeout, counted, node-1 read
    sampler.containers.clear()
    await r.fault(delay=5, path="/nodes/node-2/proxy/metrics/cadvisor", times=1)
    await sampler.visit(sampler.plan())
    assert {s.last.node for s in sampler.containers.values()} == {"node-1"}
    assert sampler.stats.skipped == {"forbidden": 1, "timeout": 1}
    # a node not Ready answers 503 through the proxy: skipped as unavailable
    await sampler.visit([("node-3", "metrics/cadvisor")])
    assert sampler.stats.skipped["unavailable"] == 1 and sampler.stats.ok == sampler.stats.requests - 3


async def test_the_request_budget_spreads_nodes_across_ticks_and_stretches_the_interval(rig: Start) -> None:
    r: Rig = await rig("workshop")
    planned = len(r.sampler().plan())
    assert planned >= 3
    # a budget that fits: every read within the interval, spread over its ticks
    sampler = r.sampler(interval=float(planned), rate=10.0, step=1.0)
    sent = []
    for _ in range(planned):
        before = sampler.stats.requests
        await sampler.tick()
        await sampler.settle()
        sent.append(sampler.stats.requests - before)
        r.clock.advance(1.0)
    assert sum(sent) == planned and max(sent) == 1, sent  # one node per tick, not all at once
    assert sampler.stats.stretch == 1.0 and "every" in sampler.cadence() and "stretched" not in sampler.cadence()
    # a budget too small for the interval: the round takes planned / rate seconds, and the page says so
    slow = r.sampler(interval=1.0, rate=0.5, step=1.0)
    await slow.tick()
    await slow.settle()
    assert slow.stats.stretch == pytest.approx(planned / 0.5)
    assert f"stretched x{planned / 0.5:.1f} to keep to 0.5 requests/s" in slow.cadence()
    rates = []
    for _ in range(6):
        before = slow.stats.requests
        r.clock.advance(1.0)
        await slow.tick()
        await slow.settle()
        rates.append(slow.stats.requests - before)
    assert sum(rates) <= 0.5 * 7 + 1 and max(rates) <= 1, rates
    # a round that really took longer (slow kubelets) says so too
    busy = r.sampler(interval=1.0, rate=100.0, step=1.0)
    await busy.tick()
    await busy.settle()
    r.clock.advance(5.0)
    await busy.tick()
    await busy.settle()
    assert busy.cadence() == "kubelets read every 5s: the interval stretched x5.0 by slow kubelets"


async def test_stored_samples_serve_a_diagnosis_a_rate_on_any_replica(rig: Start, tmp_path: Path) -> None:
    r: Rig = await rig(THROTTLED)
    url = db.resolve_url(f"sqlite:///{tmp_path / 'audit.db'}")
    engine = db.make_engine(url)
    try:
        await upgrade(engine)
        store = SampleStore(engine, url, cluster="test")
        sampler = Sampler(
            r.watcher,
            r.watcher.source.capabilities.nodes,  # type: ignore[arg-type]
            r.rules.rules,
            store=store,
            clock=lambda: r.clock.now.timestamp() - 60,  # the sampler read a minute ago
        )
        await sampler.visit(sampler.plan())
        assert await store.count() >= 2
        node = next(s.last.node for k, s in sampler.containers.items() if k == SERVER)
        await asyncio.sleep(1.1)  # the simulator's counters move on
        # another replica: its own reader, the same database; one request, and a rate from the stored sample
        other = KubeletStats(
            r.watcher.source.capabilities.nodes,  # type: ignore[arg-type]
            samples=StoredSamples(SampleStore(engine, url, cluster="test")),
            clock=lambda: r.clock.now.timestamp(),
        )
        measured = await other.cpu_throttling(node)
        row = next(c for c in measured["containers"] if c["pod"] == SERVER[1])
        assert row["recent"] and measured["seconds"] == pytest.approx(60, abs=1)
        assert "change since a sample 60s earlier" in measured["source"]
        assert (await StoredSamples(store).recent(node, CADVISOR))[0].at == pytest.approx(r.clock.now.timestamp() - 60)
        # rows of nodes no longer read go (the sampler prunes every tenth round)
        kept = await store.count()
        assert await store.prune(r.clock.now.timestamp() - 120) == 0 and await store.count() == kept
        assert await store.prune(r.clock.now.timestamp()) == kept and await store.count() == 0
    finally:
        await engine.dispose()


async def test_the_samplers_last_two_readings_give_a_diagnosis_its_rate_with_no_request(
    rig: Start, tmp_path: Path
) -> None:
    r: Rig = await rig(THROTTLED)
    url = db.resolve_url(f"sqlite:///{tmp_path / 'audit.db'}")
    engine = db.make_engine(url)
    try:
        await upgrade(engine)
        store = SampleStore(engine, url, cluster="test")
        when = {"at": r.clock.now.timestamp() - 40}
        sampler = Sampler(
            r.watcher,
            r.watcher.source.capabilities.nodes,  # type: ignore[arg-type]
            r.rules.rules,
            store=store,
            clock=lambda: when["at"],
        )
        await sampler.visit(sampler.plan())
        await asyncio.sleep(1.1)  # the simulator's counters move on
        when["at"] += 30
        await sampler.visit(sampler.plan())
        node = sampler.containers[SERVER].last.node
        stats = (await r.http.get("/kubesim/v1/stats")).json()["requests"]
        reader = KubeletStats(
            r.watcher.source.capabilities.nodes,  # type: ignore[arg-type]
            samples=StoredSamples(SampleStore(engine, url, cluster="test")),
            fresh=60,
            clock=lambda: r.clock.now.timestamp(),
        )
        measured = await reader.cpu_throttling(node)
        row = next(c for c in measured["containers"] if c["pod"] == SERVER[1])
        assert row["recent"] and row["ratio"] == pytest.approx(0.62, abs=0.03)
        assert measured["seconds"] == pytest.approx(30) and "last two readings, 30s apart" in measured["source"]
        assert (await r.http.get("/kubesim/v1/stats")).json()["requests"] == stats  # not one request more
        # a sampler that stopped (the newest reading older than `fresh`): the kubelet is read again
        late = KubeletStats(
            r.watcher.source.capabilities.nodes,  # type: ignore[arg-type]
            samples=StoredSamples(SampleStore(engine, url, cluster="test")),
            fresh=5,
            clock=lambda: r.clock.now.timestamp(),
        )
        await late.cpu_throttling(node)
        after = (await r.http.get("/kubesim/v1/stats")).json()["requests"]
        assert after.get("get nodes/proxy/metrics/cadvisor", 0) == stats.get("get nodes/proxy/metrics/cadvisor", 0) + 1
    finally:
        await engine.dispose()


async def test_only_the_leader_samples(rig: Start) -> None:
    r: Rig = await rig(THROTTLED)

    class Follower:
        is_leader = False

    r.watcher.elector = Follower()  # type: ignore[assignment]
    sampler = r.sampler(interval=1.0)
    for _ in range(3):
        await sampler.tick()
        r.clock.advance(1.0)
    await sampler.settle()
    assert sampler.stats.requests == 0 and await sampler.evaluate(r.rule("cpu-throttling")) == 0
    r.watcher.elector = None  # it leads now
    await sampler.tick()
    await sampler.settle()
    assert sampler.stats.requests >= 1
