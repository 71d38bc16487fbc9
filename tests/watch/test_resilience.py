"""Cut streams and ``410 Gone``: no transition missed, none emitted twice, no replay of every object."""

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
from kubewhy.watch.detect import project_pod
from kubewhy.watch.engine import Watcher
from kubewhy.watch.informer import Change, Informer
from kubewhy.watch.run import run_watchers
from tests.audit.proxy import FlakyProxy
from tests.bot.slack_double import SlackDouble
from tests.waiting import until

from .conftest import DATA, Cluster, Pages, caught_up, crash_looping, running, settled, ticks_of, watch_environ


@pytest.fixture
async def proxied(start_sim: Callable[..., RunningSim], tmp_path: Path) -> AsyncIterator[tuple[Cluster, FlakyProxy]]:
    """A simulator with a short change history (20 versions), behind a proxy a test can cut."""
    sim = start_sim(DATA / "two-nodes.yaml", timeline_mode="manual", watch_bookmark_interval=0.3, history_size=20)
    port = urlsplit(sim.url).port or 0
    proxy = await FlakyProxy("127.0.0.1", port).start()
    sim.kubeconfig = write_kubeconfig(tmp_path / "proxied.kubeconfig", f"http://127.0.0.1:{proxy.port}")
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        yield Cluster(sim, http), proxy
    await proxy.close()


async def test_informer_resumes_a_cut_stream_and_relists_on_410_emitting_each_real_transition_once(
    proxied: tuple[Cluster, FlakyProxy],
) -> None:
    cluster, proxy = proxied
    for i in range(5):
        await cluster.create_pod("app", f"p{i}", "node-1")
    source = LiveKube(build_api_client(str(cluster.sim.kubeconfig)), timeout=5)
    inf = Informer(source, "Pod", project=project_pod, page_size=2)  # paged: 6 pods in 3 pages
    changes: list[Change] = []
    inf.listeners.append(changes.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        assert len(inf.items) == 6 and inf.stats.lists == 3
        changes.clear()

        # 1. the stream is cut mid-flight; changes made meanwhile arrive after the reconnect, each once
        await proxy.refuse()
        await cluster.pod_status("app", "p0", crash_looping(3))
        await cluster.pod_status("app", "p1", crash_looping(4))
        await proxy.restore()
        await until(lambda: {c.key[1] for c in changes} >= {"p0", "p1"}, what="p0 and p1 after the reconnect")
        await caught_up([inf], cluster)  # every write seen: nothing more can come
        assert sorted(c.key[1] for c in changes) == ["p0", "p1"]
        assert inf.stats.relists == 0  # resumed from its resourceVersion, no LIST needed

        # 2. cut again while more changes happen than the server keeps (history 20): 410 Gone, re-LIST, diff
        changes.clear()
        await proxy.refuse()
        await cluster.pod_status("app", "p2", crash_looping(5))  # a real transition
        for n in range(30):  # 30 versions of p4 (its restarts churn): the stream's resume point is gone
            await cluster.pod_status("app", "p4", running(restarts=n + 1))
        await cluster.delete_pod("app", "p1")
        await proxy.restore()
        await until(
            lambda: inf.stats.relists >= 1 and {c.key[1] for c in changes} >= {"p1", "p2", "p4"},
            what="the re-LIST's changes",
        )
        await caught_up([inf], cluster)
        by_pod = {c.key[1]: c for c in changes}
        assert sorted(c.key[1] for c in changes) == ["p1", "p2", "p4"]  # one change each, p0/p3 not replayed
        assert by_pod["p1"].type == "DELETED" and by_pod["p2"].type == "MODIFIED"
        assert by_pod["p4"].new is not None and by_pod["p4"].new["containers"][0]["restarts"] == 30
        assert inf.items[("app", "p2")]["containers"][0]["waiting"] == "CrashLoopBackOff"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_watchers_page_once_across_a_cut_stream_and_a_410(
    proxied: tuple[Cluster, FlakyProxy], slack: SlackDouble, tmp_path: Path
) -> None:
    cluster, proxy = proxied
    env = watch_environ(cluster, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
    settings = load(env)
    stop, ready = asyncio.Event(), asyncio.Event()
    box: list[Watcher] = []

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    task = asyncio.create_task(
        run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
    )
    pages = Pages(slack)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await proxy.refuse()  # the node goes NotReady while the watch is cut
        await cluster.node_ready("node-2", False)
        await proxy.restore()
        await pages.wait(lambda: len(pages.posts()) == 1, what="the page after the reconnect")

        await proxy.refuse()  # more changes than the history keeps: the watcher must re-LIST
        for i in range(25):
            await cluster.create_pod("noise", f"n{i}", "node-1")
        await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))
        await proxy.restore()
        await pages.wait(lambda: len(pages.posts()) == 2, what="the crash loop that happened during the cut")
        await settled(box[0], cluster)
        texts = [p["text"] for p in pages.posts()]
        assert len(texts) == 2 and "node-2" in texts[0] and "cart" in texts[1]  # nothing paged twice
        assert box[0].pods.stats.relists >= 1  # it did go through 410 Gone and a re-LIST
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_the_database_going_away_delays_the_page_and_never_doubles_it(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, pg_url: str
) -> None:
    db = urlsplit(pg_url)
    proxy = await FlakyProxy(db.hostname or "127.0.0.1", db.port or 5432).start()
    url = pg_url.replace(f"{db.hostname}:{db.port}", f"127.0.0.1:{proxy.port}")
    env = watch_environ(cluster, slack, tmp_path, database_url=url, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
    settings = load(env)
    stop, ready = asyncio.Event(), asyncio.Event()
    box: list[Watcher] = []

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    task = asyncio.create_task(
        run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
    )
    pages = Pages(slack)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        watcher = box[0]
        ticks = ticks_of(watcher)
        await proxy.refuse()  # Postgres restarts
        await cluster.node_ready("node-2", False)

        def due() -> bool:  # the node's grace is over: with the database up, the next tick would page it
            cand = watcher.candidates.get(("node-not-ready", "node/node-2"))
            return cand is not None and watcher.clock() - cand.since >= cand.rule.grace

        await until(due, what="the node's page to fall due")
        seen = ticks.count
        await until(lambda: ticks.count >= seen + 2, what="two whole ticks with the page due")
        assert pages.posts() == []  # no page it could not record: it would be paged again later
        await proxy.restore()
        await pages.wait(lambda: len(pages.posts()) == 1, what="the page once the database is back")
        await settled(watcher, cluster)
        assert len(pages.posts()) == 1 and not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await proxy.close()
