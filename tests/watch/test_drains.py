"""A drain is planned: pods evicted through the Eviction API (``kubectl drain``) page nothing, while the
kubelet's evictions under node pressure page once per node and resource. Both are told apart as a real cluster
marks them (the DisruptionTarget condition: EvictionByEvictionAPI vs TerminationByKubelet)."""

from __future__ import annotations

from typing import Any

from tests.bot.slack_double import SlackDouble

from .conftest import Cluster, Pages, pod, running, settled
from .test_incident_key import Clock, Start, start  # noqa: F401 - the fixture

DRAINED = 40


async def test_a_drain_through_the_eviction_api_pages_nothing_and_kubelet_evictions_page_once(
    cluster: Cluster,
    slack: SlackDouble,
    start: Start,  # noqa: F811
) -> None:
    objects: list[dict[str, Any]] = [
        pod("web", f"web-5c8d7f9b6d-{i:05d}", "node-1", owner="web", status=running()) for i in range(DRAINED)
    ]
    objects += [pod("batch", f"job-{i}", "node-2", status=running()) for i in range(3)]
    await cluster.preload(objects)
    pages, clock = Pages(slack), Clock()
    watcher, _ = await start(cluster, clock)

    for i in range(DRAINED):  # what `kubectl drain node-1` does, pod by pod
        name = f"web-5c8d7f9b6d-{i:05d}"
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "web"}}
        r = await cluster.http.post(f"/api/v1/namespaces/web/pods/{name}/eviction", json=eviction)
        assert r.status_code == 201, r.text
    await settled(watcher, cluster)
    assert pages.posts() == [], pages.summary()

    steps = [{"evict": {"namespace": "batch", "name": f"job-{i}"}} for i in range(3)]  # the kubelet, under pressure
    (await cluster.http.post("/kubesim/v1/apply", json={"steps": steps})).raise_for_status()
    await pages.wait(lambda: len(pages.posts()) == 1, what="the kubelet's evictions")
    await settled(watcher, cluster)
    assert len(pages.posts()) == 1 and "node-2" in pages.posts()[0]["text"], pages.summary()
