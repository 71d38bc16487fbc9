"""``LiveKube.list_page`` and ``LiveKube.watch`` with ``metadata_only`` on both of kube_live's transports (the direct
http.client one and the official client's): a ``PartialObjectMetadataList`` page of ``PartialObjectMetadata`` items,
then watch events of ``PartialObjectMetadata``; without it, whole objects as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubewhy.adapters.kube_live import DirectClient, LiveKube, direct_client, official_client
from tests.watch.conftest import Cluster


@pytest.mark.parametrize("transport", ["direct", "official"])
async def test_metadata_only_lists_and_watches_on_both_transports(cluster: Cluster, transport: str) -> None:
    path = str(cluster.sim.kubeconfig)
    api = direct_client(path, None) if transport == "direct" else official_client(path)
    assert api is not None and isinstance(api, DirectClient) == (transport == "direct")
    kube = LiveKube(api)
    page = await kube.list_page("Node", limit=1, metadata_only=True)
    assert len(page.items) == 1 and page.continue_token and page.resource_version
    (item,) = page.items
    assert set(item) == {"kind", "apiVersion", "metadata"} and item["kind"] == "PartialObjectMetadata"
    assert item["apiVersion"] == "meta.k8s.io/v1" and item["metadata"]["name"] == "node-1"
    whole = await kube.list_page("Node", limit=1)
    assert whole.items[0]["kind"] == "Node" and "status" in whole.items[0]

    events: list[dict[str, Any]] = []

    async def read() -> None:
        stream = kube.watch("Node", resource_version=page.resource_version, timeout_seconds=5, metadata_only=True)
        async for event in stream:
            events.append(event)
            if event["type"] == "MODIFIED":
                break
        await stream.aclose()

    task = asyncio.create_task(read())
    await cluster.node_ready("node-2", False)  # after the list's version: the watch gets it whenever it opens
    await asyncio.wait_for(task, 10)
    modified = [e for e in events if e["type"] == "MODIFIED"]
    assert [e["object"]["metadata"]["name"] for e in modified] == ["node-2"]
    assert modified[0]["object"]["kind"] == "PartialObjectMetadata" and "status" not in modified[0]["object"]
