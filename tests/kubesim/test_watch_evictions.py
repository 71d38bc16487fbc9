"""Evictions as a real cluster marks them, seen on a WATCH: through the Eviction API (kubectl drain) the pod gets
the DisruptionTarget condition with reason EvictionByEvictionAPI before it is deleted; the kubelet's eviction
under node pressure fails the pod with reason Evicted and DisruptionTarget TerminationByKubelet."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from kubesim.runner import RunningSim
from tests.conftest import DATA


def pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1"}]},
    }


def disruption(obj: dict[str, Any]) -> str | None:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c.get("reason") for c in conditions if c.get("type") == "DisruptionTarget"), None)


async def test_the_eviction_api_marks_the_pod_as_a_planned_disruption_then_deletes_it(
    start_sim: Callable[..., RunningSim],
) -> None:
    sim = start_sim(DATA / "mini.yaml", timeline_mode="manual")
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        (await http.post("/api/v1/namespaces/default/pods", json=pod("drained"))).raise_for_status()
        (await http.post("/api/v1/namespaces/default/pods", json=pod("pressed"))).raise_for_status()
        version = (await http.get("/api/v1/pods", params={"limit": 1})).json()["metadata"]["resourceVersion"]
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "drained"}}
        r = await http.post("/api/v1/namespaces/default/pods/drained/eviction", json=eviction)
        assert r.status_code == 201, r.text
        step = {"evict": {"namespace": "default", "name": "pressed"}}
        (await http.post("/kubesim/v1/apply", json={"steps": [step]})).raise_for_status()
        r = await http.get("/api/v1/pods", params={"watch": "true", "resourceVersion": version, "timeoutSeconds": "1"})
        events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
        seen = [(e["type"], e["object"]["metadata"]["name"], disruption(e["object"])) for e in events]
        assert seen == [
            ("MODIFIED", "drained", "EvictionByEvictionAPI"),
            ("DELETED", "drained", "EvictionByEvictionAPI"),
            ("MODIFIED", "pressed", "TerminationByKubelet"),
        ]
        assert events[-1]["object"]["status"]["reason"] == "Evicted"

        # a dry run changes nothing
        (await http.post("/api/v1/namespaces/default/pods", json=pod("kept"))).raise_for_status()
        kept = {**eviction, "metadata": {"name": "kept"}}
        r = await http.post("/api/v1/namespaces/default/pods/kept/eviction?dryRun=All", json=kept)
        assert r.status_code == 201
        assert disruption((await http.get("/api/v1/namespaces/default/pods/kept")).json()) is None
