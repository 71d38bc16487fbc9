"""The simulator's WATCH answers as the real API server does when the version asked for is not in its history:
504 "Too large resource version" (ResourceVersionTooLarge) for one it has not reached, 410 Expired for one
compacted away."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from kubesim.runner import RunningSim
from tests.conftest import DATA


async def test_a_watch_from_a_version_newer_than_the_server_has_is_504_too_large(
    start_sim: Callable[..., RunningSim],
) -> None:
    sim = start_sim(DATA / "mini.yaml", timeline_mode="manual")
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        current = int((await http.get("/api/v1/pods", params={"limit": 1})).json()["metadata"]["resourceVersion"])
        r = await http.get(
            "/api/v1/pods", params={"watch": "true", "resourceVersion": str(current + 1000), "timeoutSeconds": "1"}
        )
        assert r.status_code == 504
        body = r.json()
        assert body["kind"] == "Status" and body["reason"] == "Timeout" and body["code"] == 504
        assert body["message"] == f"Too large resource version: {current + 1000}, current: {current}"
        assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"

        # the version it has (and one before it) still watch normally
        r = await http.get(
            "/api/v1/pods", params={"watch": "true", "resourceVersion": str(current), "timeoutSeconds": "1"}
        )
        assert r.status_code == 200


async def test_a_watch_from_a_compacted_version_is_410_expired(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(DATA / "mini.yaml", timeline_mode="manual", history_size=5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        first = int((await http.get("/api/v1/namespaces", params={"limit": 1})).json()["metadata"]["resourceVersion"])
        for i in range(10):  # more changes than the history keeps
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {}}
            (await http.post("/api/v1/namespaces/default/configmaps", json=cm)).raise_for_status()
        r = await http.get(
            "/api/v1/configmaps", params={"watch": "true", "resourceVersion": str(first), "timeoutSeconds": "1"}
        )
        assert r.status_code == 200  # as the watch cache does: the stream opens, then an ERROR event
        event = json.loads(r.text.splitlines()[0])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        assert event["object"]["reason"] == "Expired"
