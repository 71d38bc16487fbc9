"""An API server that comes back with older state (the simulator restarted, a real cluster after an etcd
restore): the informers list again on 504 "Too large resource version" and when a resourceVersion goes
backwards, so a recovered node is seen as recovered; a periodic re-list compare repairs silent drift."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.app import build_client
from bot.pager import SlackNotifier
from kubesim.runner import RunningSim, write_kubeconfig
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.settings import load
from kubewhy.watch.detect import project_node
from kubewhy.watch.engine import Watcher
from kubewhy.watch.informer import Change, Informer
from kubewhy.watch.run import run_watchers
from tests.audit.proxy import FlakyProxy
from tests.bot.slack_double import SlackDouble
from tests.waiting import until

from .conftest import DATA, Cluster, Pages, caught_up, crash_looping, settled, watch_environ
from .test_incident_key import Clock


class Restartable:
    """A cluster behind a proxy: ``restart()`` puts a fresh simulator of the same scenario behind it, with the
    scenario's state and a resourceVersion far below what clients have seen (as after an etcd restore)."""

    def __init__(self, start_sim: Callable[..., RunningSim], tmp_path: Path):
        self.start_sim, self.tmp_path = start_sim, tmp_path
        self.proxy: FlakyProxy | None = None
        self.cluster: Cluster | None = None
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> Cluster:
        sim = self.start_sim(DATA / "two-nodes.yaml", timeline_mode="manual", watch_bookmark_interval=0.3)
        if self.proxy is None:
            self.proxy = await FlakyProxy("127.0.0.1", urlsplit(sim.url).port or 0).start()
        else:
            self.proxy.upstream = ("127.0.0.1", urlsplit(sim.url).port or 0)
            await self.proxy.refuse()  # every open watch is cut, as when the API server goes down
            await self.proxy.restore()
        sim.kubeconfig = write_kubeconfig(self.tmp_path / "proxied.kubeconfig", f"http://127.0.0.1:{self.proxy.port}")
        if self._http is not None:
            await self._http.aclose()
        self._http = httpx.AsyncClient(base_url=sim.url, timeout=10)
        self.cluster = Cluster(sim, self._http)
        return self.cluster

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self.proxy is not None:
            await self.proxy.close()


@pytest.fixture
async def restartable(start_sim: Callable[..., RunningSim], tmp_path: Path) -> AsyncIterator[Restartable]:
    r = Restartable(start_sim, tmp_path)
    yield r
    await r.close()


async def churn(cluster: Cluster, n: int) -> None:
    """``n`` writes: the old server's resourceVersion runs ahead of the scenario's."""
    for i in range(n):
        await cluster.http.post(
            "/api/v1/namespaces/default/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"churn-{i}"}, "data": {}},
        )


async def test_the_informer_lists_again_when_the_server_comes_back_with_older_state(
    restartable: Restartable,
) -> None:
    old = await restartable.start()
    await churn(old, 30)
    await old.node_ready("node-2", False)
    source = LiveKube(build_api_client(str(old.sim.kubeconfig)), timeout=5)
    # Watches of 2 s: a WATCH the proxy's cut misses (opened at that very moment) stays on the old simulator,
    # which this test keeps running; the next one, through the proxy, reaches the restored server either way.
    inf = Informer(source, "Node", project=project_node, watch_timeout=2)
    changes: list[Change] = []
    inf.listeners.append(changes.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        assert inf.items[("", "node-2")]["conditions"]["Ready"][0] == "Unknown"
        seen = int(inf.resource_version)
        changes.clear()

        new = await restartable.start()  # node-2 Ready again, and the server's version far behind
        assert await new.resource_version() < seen
        await until(lambda: inf.stats.relists >= 1, what="a LIST after 504 Too large resource version", timeout=60)
        await caught_up([inf], new)
        assert inf.items[("", "node-2")]["conditions"]["Ready"][0] == "True"
        # only what differs: node-2's readiness (the restored scenario may also re-date node-1's conditions by a
        # second, when the new simulator starts in the next second: a change of timestamps, not of state)
        ready = [
            (c.type, c.key[1])
            for c in changes
            if c.old is None or c.new is None or c.old["conditions"]["Ready"][0] != c.new["conditions"]["Ready"][0]
        ]
        assert ready == [("MODIFIED", "node-2")]
        assert int(inf.resource_version) <= await new.resource_version()

        # a change on the new server reaches the cache: the informer watches it from its own versions now
        await new.node_ready("node-1", False)
        await until(lambda: inf.items[("", "node-1")]["conditions"]["Ready"][0] == "Unknown", what="node-1")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_event_older_than_what_was_seen_makes_the_informer_list_again(restartable: Restartable) -> None:
    old = await restartable.start()
    source = LiveKube(build_api_client(str(old.sim.kubeconfig)), timeout=5)
    inf = Informer(source, "Node", project=project_node)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        inf.resource_version = str(int(inf.resource_version) + 5)  # as if the server had gone back in time
        lists = inf.stats.lists
        await old.node_ready("node-2", False)  # a new event, at a version below the one held: backwards
        await until(lambda: inf.stats.backwards >= 1 and inf.stats.lists > lists, what="a LIST after going back")
        await caught_up([inf], old)
        assert inf.items[("", "node-2")]["conditions"]["Ready"][0] == "Unknown"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_periodic_relist_compare_repairs_silent_drift(cluster: Cluster) -> None:
    now = [0.0]
    source = LiveKube(build_api_client(str(cluster.sim.kubeconfig)), timeout=5)
    inf = Informer(source, "Node", project=project_node, clock=lambda: now[0])
    changes: list[Change] = []
    inf.listeners.append(changes.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        changes.clear()
        # an event the watch never delivered: the cache believes node-1 is NotReady
        stale = dict(inf.items[("", "node-1")])
        stale["conditions"] = {**stale["conditions"], "Ready": ("False", "KubeletNotReady", "", "")}
        inf.items[("", "node-1")] = stale
        now[0] += 599.0  # not due yet: a bookmark passes and nothing is listed
        watches = inf.stats.watches
        await until(lambda: inf.stats.events >= 2, what="bookmarks")
        assert inf.stats.relists == 0 and inf.stats.watches == watches
        now[0] += 2.0  # ten minutes since the LIST: the next bookmark re-lists and compares
        await until(lambda: inf.stats.relists == 1, what="the periodic re-list")
        assert inf.stats.drift == 1
        assert [(c.type, c.key[1]) for c in changes] == [("MODIFIED", "node-1")]
        assert inf.items[("", "node-1")]["conditions"]["Ready"][0] == "True"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_node_recovered_during_a_restore_resolves_and_a_new_oom_kill_on_it_pages(
    restartable: Restartable, slack: SlackDouble, tmp_path: Path
) -> None:
    old = await restartable.start()
    await churn(old, 30)
    clock = Clock()
    env = watch_environ(old, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
    settings = load(env)
    stop, ready = asyncio.Event(), asyncio.Event()
    box: list[Watcher] = []

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    notifier = SlackNotifier(build_client(settings.slack))
    task = asyncio.create_task(run_watchers(settings, notifier, stop=stop, on_ready=on_ready, clock=clock))
    pages = Pages(slack)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        watcher = box[0]
        await old.node_ready("node-2", False)
        clock.advance(5)  # past its grace
        await pages.wait(lambda: len(pages.posts()) == 1, what="the NotReady page")

        new = await restartable.start()  # restored: node-2 is Ready there
        await until(lambda: watcher.nodes.stats.relists >= 1, what="the nodes listed again")
        clock.advance(5)  # past resolve_after
        await pages.wait(lambda: any("Resolved" in r.get("text", "") for r in pages.replies()), what="resolve")

        status = crash_looping(4, "OOMKilled")
        await new.create_pod("q1", "app-5c8d7f9b6d-aaaaa", "node-2", owner="app", status=status)
        await pages.wait(lambda: len(pages.posts()) == 2, what="the OOM kill's own page")
        await settled(watcher, new)
        assert len(pages.posts()) == 2 and "pod/q1/app-" in pages.posts()[1]["text"], pages.summary()
        assert watcher.stats["absorbed"] == 0  # not swallowed by the old node incident
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
