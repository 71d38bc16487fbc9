"""``LiveKube.list_page`` carries the server's ``remainingItemCount`` (``ListPage.remaining``) on both of
kube_live's transports (the direct http.client one and the official client's): home marks its problems "in n of
N pods loaded" from it while the rest of the LIST arrives."""

from __future__ import annotations

import pytest

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import DirectClient, LiveKube, direct_client, official_client


@pytest.mark.parametrize("transport", ["direct", "official"])
async def test_list_page_says_how_many_remain_on_both_transports(workshop: RunningSim, transport: str) -> None:
    path = str(workshop.kubeconfig)
    api = direct_client(path, None) if transport == "direct" else official_client(path)
    assert api is not None and isinstance(api, DirectClient) == (transport == "direct")
    kube = LiveKube(api)
    whole = await kube.list("Node")
    assert len(whole) >= 2
    first = await kube.list_page("Node", limit=1)
    assert len(first.items) == 1 and first.continue_token
    assert first.remaining == len(whole) - 1
    last = await kube.list_page("Node", limit=len(whole))
    assert last.continue_token is None and last.remaining is None  # nothing after it: the server says nothing
