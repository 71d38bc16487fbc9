"""The change log watches metadata only (issue 29): after its first LIST (whole objects, the fields to diff
against), each kind is watched and re-listed as ``PartialObjectMetadata``; a write that moves nothing the log
compares (a status write: the generation stays) costs no GET, a spec write one GET, whose diff is recorded as
before. The simulator counts the requests asked for metadata only (``stats["partial"]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kubewhy.audit import db
from kubewhy.audit.changelog import ChangeLog
from kubewhy.kinds import info
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from tests.bot.slack_double import SlackDouble
from tests.changes.watchers_up import watchers_up
from tests.waiting import until
from tests.watch.conftest import Cluster, caught_up, watch_environ

NS = "default"
DEPLOY = f"/apis/apps/v1/namespaces/{NS}/deployments/shop"


def _deployment() -> dict[str, Any]:
    labels = {"app": "shop"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": NS, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "shop", "image": "ghcr.io/acme/shop:1.0"}]},
            },
        },
    }


@pytest.fixture
async def watching(cluster: Cluster, slack: SlackDouble, tmp_path: Path) -> AsyncIterator[tuple[Watcher, str]]:
    # through the API, so that the server's defaults are in its spec (a later status write leaves it alone)
    (await cluster.http.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=_deployment())).raise_for_status()
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        KUBEWHY_WATCH_CHANGES="1",
        KUBEWHY_CHANGE_KEY="test-change-key",
        KUBEWHY_WATCH_LEADER_ELECTION="0",
    )
    async with watchers_up(env) as watcher:
        assert watcher.changes is not None
        await until(lambda: all(i.synced.is_set() for i in watcher.changes.informers), what="the change informers")
        yield watcher, load(env).audit.url


async def _stats(cluster: Cluster) -> dict[str, Any]:
    found: dict[str, Any] = (await cluster.http.get("/kubesim/v1/stats")).json()
    return found


async def _put(cluster: Cluster, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    """A write without a read first (the simulator counts the watchers' GETs alone); no resourceVersion: no
    precondition."""
    body = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}
    r = await cluster.http.put(path, json=body)
    r.raise_for_status()
    written: dict[str, Any] = r.json()
    return written


async def test_metadata_only_watches_fetch_a_spec_write_and_skip_a_status_write(
    cluster: Cluster, watching: tuple[Watcher, str]
) -> None:
    watcher, url = watching
    recorder = watcher.changes
    assert recorder is not None
    deployments = next(i for i in recorder.informers if i.kind == "Deployment")
    stats = await _stats(cluster)
    # each kind's WATCH asked for PartialObjectMetadata; its first LIST was whole (the fields to diff against)
    for informer in recorder.informers:  # (Nodes come from the watchers' own informer once they share it)
        assert stats["partial"].get(f"watch {info(informer.kind).plural}", 0) >= 1, stats["partial"]
    assert "list deployments" not in stats["partial"] and stats["requests"]["list deployments"] >= 1
    obj = (await cluster.http.get(DEPLOY)).json()
    (await cluster.http.post("/kubesim/v1/stats/reset")).raise_for_status()

    obj["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": obj["metadata"]["generation"]}
    written = await _put(cluster, f"{DEPLOY}/status", obj)
    assert written["metadata"]["generation"] == obj["metadata"]["generation"]  # a status write
    await caught_up([deployments], cluster)
    assert recorder.stats["gets"] == 0 and recorder.stats["unfetched"] >= 1  # no GET for it
    assert "get deployments" not in (await _stats(cluster))["requests"]

    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/acme/shop:1.1"
    obj = await _put(cluster, DEPLOY, obj)
    await caught_up([deployments], cluster)
    await until(lambda: recorder.stats["written"] >= 1, what="the image change written")
    assert recorder.stats["gets"] == 1 and (await _stats(cluster))["requests"]["get deployments"] == 1

    # a re-LIST (the periodic compare) is metadata only too, and fetches nothing that did not move
    deployments.relist_every = 0.0
    obj["status"] = {**obj.get("status", {}), "readyReplicas": 0}
    await _put(cluster, f"{DEPLOY}/status", obj)
    await until(lambda: deployments.stats.relists >= 1, what="the re-list compare")
    deployments.relist_every = None
    await caught_up([deployments], cluster)
    after = await _stats(cluster)
    assert after["partial"].get("list deployments", 0) >= 1 and after["requests"]["get deployments"] == 1
    assert recorder.stats["gets"] == 1 and recorder.stats["whole"] == 0

    engine = db.make_engine(url)
    try:
        rows = await ChangeLog(engine, url).between(
            ["deploy/default/shop"], watcher.clock() - timedelta(hours=1), watcher.clock() + timedelta(hours=1)
        )
    finally:
        await engine.dispose()
    assert [r["details"] for r in rows] == [["shop: image ghcr.io/acme/shop:1.0 → ghcr.io/acme/shop:1.1"]]
