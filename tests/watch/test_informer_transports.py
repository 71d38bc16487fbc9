"""The informer over both of kube_live's transports (the direct http.client one and the official client's):
the same paged LIST, the same WATCH events."""

from __future__ import annotations

import asyncio

import pytest

from kubewhy.adapters.kube_live import DirectClient, LiveKube, direct_client, official_client
from kubewhy.watch.detect import project_node
from kubewhy.watch.informer import Change, Informer
from tests.waiting import until

from .conftest import Cluster


@pytest.mark.parametrize("transport", ["direct", "official"])
async def test_informer_lists_and_watches_alike_on_both_transports(cluster: Cluster, transport: str) -> None:
    path = str(cluster.sim.kubeconfig)
    api = direct_client(path, None) if transport == "direct" else official_client(path)
    assert api is not None and isinstance(api, DirectClient) == (transport == "direct")
    inf = Informer(LiveKube(api), "Node", project=project_node, page_size=1)
    changes: list[Change] = []
    inf.listeners.append(changes.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        assert sorted(k[1] for k in inf.items) == ["node-1", "node-2"] and inf.stats.lists == 2
        changes.clear()
        await cluster.node_ready("node-1", False)
        await until(lambda: changes, timeout=10, what="the node's change")
        assert [(c.type, c.key) for c in changes] == [("MODIFIED", ("", "node-1"))]
        assert inf.items[("", "node-1")]["conditions"]["Ready"][0] == "Unknown"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
