"""The periodic re-list of a full cache (kubewhy/watch/informer.py) compares page by page in place: the cache is
never held twice (at 150,000 pods that is a second copy of every projection), its pages are large enough that
one re-list costs at most RELIST_PAGES requests, and what differs comes out once."""

from __future__ import annotations

import asyncio

import pytest

from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.watch import informer as informer_module
from kubewhy.watch.detect import project_pod
from kubewhy.watch.informer import Change, Informer
from tests.waiting import until

from .conftest import Cluster


async def test_a_relist_compares_in_place_in_few_pages(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(informer_module, "RELIST_PAGES", 2)
    for i in range(5):
        await cluster.create_pod("default", f"web-{i}", "node-1", owner="web")
    now = [0.0]
    source = LiveKube(build_api_client(str(cluster.sim.kubeconfig)), timeout=5)
    inf = Informer(source, "Pod", project=project_pod, page_size=1, clock=lambda: now[0])
    changes: list[Change] = []
    inf.listeners.append(changes.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        pods = len(inf.items)
        assert pods >= 3 and inf.stats.lists == pods  # the first LIST: one pod a page
        cache = inf.items
        keys = sorted(inf.items)
        kept, changed = keys[0], keys[1]
        kept_obj = inf.items[kept]
        stale = dict(inf.items[changed])
        stale["phase"] = "Unknown"  # drift: an update the watch never delivered
        inf.items[changed] = stale
        ghost = ("gone", "ghost-pod")
        inf.items[ghost] = {**kept_obj, "namespace": "gone", "name": "ghost-pod"}  # a delete never delivered
        changes.clear()
        lists = inf.stats.lists
        now[0] += 601.0  # the compare is due: the next bookmark re-lists
        await until(lambda: inf.stats.relists == 1, what="the periodic re-list")
        limit = -(-(pods + 1) // 2)  # half the cache (the ghost included), not one pod a page
        assert inf.stats.lists - lists == -(-pods // limit) == 2
        assert inf.items is cache  # compared in place: no second cache
        assert inf.items[kept] is kept_obj  # an equal object is kept as it was
        assert sorted((c.type, c.key) for c in changes) == [("DELETED", ghost), ("MODIFIED", changed)]
        assert inf.items[changed]["phase"] != "Unknown" and ghost not in inf.items
        assert inf.stats.drift == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
