"""The sampler finds what left a node from its own index of the keys last read there (kubewhy.watch.sampler), not
by scanning every container of the cluster: a container gone from its node is forgotten, one rescheduled under the
same name (a StatefulSet's pod) follows its new node, and a volume the same."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubewhy.adapters.kubelet_stream import Counters, VolumeFigures
from kubewhy.watch.rules import load_rules
from kubewhy.watch.sampler import Sampler

C = Counters(periods=100.0, throttled=1.0, working_set=1e6, instance="x")
A, B = ("q1", "web-0", "web"), ("q1", "db-0", "db")


def _sampler() -> Sampler:
    watcher: Any = SimpleNamespace(pods=SimpleNamespace(items={}), clock=None)
    return Sampler(watcher, None, load_rules().rules, clock=lambda: 0.0)  # type: ignore[arg-type]


def test_a_container_gone_from_its_node_is_forgotten_and_one_rescheduled_follows_its_node() -> None:
    sampler = _sampler()
    sampler._on_counters("node-1", 1.0, {A: C, B: C})
    sampler._on_counters("node-2", 2.0, {B: C})  # db-0 rescheduled on node-2, same name
    sampler._on_counters("node-1", 3.0, {A: C})  # node-1 no longer runs it: it is node-2's now, kept
    assert sampler.containers[B].last.node == "node-2" and sampler.containers[A].last.node == "node-1"
    sampler._on_counters("node-2", 4.0, {})  # gone from node-2
    assert set(sampler.containers) == {A}
    sampler._on_counters("node-1", 5.0, {})
    assert not sampler.containers


def test_a_volume_gone_from_its_node_is_forgotten_and_one_moved_follows_its_node() -> None:
    sampler = _sampler()
    v = VolumeFigures(used=1, capacity=10, available=9)
    sampler._on_volumes("node-1", 1.0, {("q1", "data-db-0"): v, ("q1", "logs"): v})
    sampler._on_volumes("node-2", 2.0, {("q1", "data-db-0"): v})
    sampler._on_volumes("node-1", 3.0, {("q1", "logs"): v})
    assert {k: s.node for k, s in sampler.volumes.items()} == {("q1", "data-db-0"): "node-2", ("q1", "logs"): "node-1"}
    sampler._on_volumes("node-2", 4.0, {})
    assert set(sampler.volumes) == {("q1", "logs")}
