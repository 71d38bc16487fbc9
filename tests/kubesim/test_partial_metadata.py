"""Metadata only, as a real API server serves it to client-go's metadata informers: a LIST asked with ``Accept:
application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`` is a ``PartialObjectMetadataList`` whose items
are ``PartialObjectMetadata`` (metadata, no spec, data or status), paged as any LIST; a GET or a WATCH asked with
``as=PartialObjectMetadata`` sends its objects so (bookmarks too); without it, whole objects as before."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from kubesim.runner import RunningSim
from tests.kubesim.test_api_semantics import raw

BASE = "/api/v1/namespaces/default/configmaps"
LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"
ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"


def _get(sim: RunningSim, path: str, accept: str) -> tuple[int, list[dict[str, Any]] | dict[str, Any]]:
    req = urllib.request.Request(sim.url + path, headers={"Accept": accept, "Authorization": "Bearer kubesim"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    if b'"type"' in body[:20]:  # a watch: one event a line
        return resp.status, [json.loads(line) for line in body.splitlines() if line.strip()]
    found: dict[str, Any] = json.loads(body)
    return resp.status, found


def _write(sim: RunningSim, method: str, path: str, name: str, value: str) -> str:
    body = json.dumps({"metadata": {"name": name, "labels": {"app": "x"}}, "data": {"v": value}}).encode()
    code, obj = raw(sim, method, path, body)
    assert code in (200, 201), obj
    return str(obj["metadata"]["resourceVersion"])  # type: ignore[index]


def test_a_metadata_only_list_is_paged_and_holds_metadata_only(mini: RunningSim) -> None:
    for name in ("ma", "mb", "mc"):
        _write(mini, "POST", BASE, name, "secret-ish-value")
    names: list[str] = []
    query = "limit=2"
    while True:
        code, listed = _get(mini, f"{BASE}?{query}", LIST)
        assert code == 200 and isinstance(listed, dict)
        assert listed["kind"] == "PartialObjectMetadataList" and listed["apiVersion"] == "meta.k8s.io/v1"
        assert listed["metadata"]["resourceVersion"]
        for item in listed["items"]:
            assert set(item) == {"kind", "apiVersion", "metadata"}, item
            assert item["kind"] == "PartialObjectMetadata" and item["apiVersion"] == "meta.k8s.io/v1"
            assert item["metadata"]["resourceVersion"] and item["metadata"]["uid"]
            names.append(item["metadata"]["name"])
        if not listed["metadata"].get("continue"):
            break
        query = f"limit=2&continue={listed['metadata']['continue']}"
    assert {"ma", "mb", "mc"} <= set(names)
    code, whole = _get(mini, f"{BASE}?limit=500", "application/json")
    assert isinstance(whole, dict) and whole["kind"] == "ConfigMapList"
    assert {i["metadata"]["name"]: i["data"]["v"] for i in whole["items"] if i["metadata"]["name"] == "ma"} == {
        "ma": "secret-ish-value"
    }
    assert "secret-ish-value" not in json.dumps(_get(mini, f"{BASE}?limit=500", LIST)[1])


def test_a_get_and_a_watch_send_partial_object_metadata(mini: RunningSim) -> None:
    start = _write(mini, "POST", BASE, "mw", "one")
    code, one = _get(mini, f"{BASE}/mw", ONE)
    assert code == 200 and isinstance(one, dict) and set(one) == {"kind", "apiVersion", "metadata"}
    assert one["kind"] == "PartialObjectMetadata" and one["metadata"]["labels"] == {"app": "x"}
    changed = _write(mini, "PUT", f"{BASE}/mw", "mw", "two")
    query = f"watch=true&resourceVersion={start}&timeoutSeconds=1&allowWatchBookmarks=true"
    code, events = _get(mini, f"{BASE}?{query}", ONE)
    assert code == 200 and isinstance(events, list)
    modified = [e for e in events if e["type"] == "MODIFIED"]
    assert [e["object"]["metadata"]["resourceVersion"] for e in modified] == [changed]
    assert all(e["object"]["kind"] == "PartialObjectMetadata" and "data" not in e["object"] for e in events)
    code, whole = _get(mini, f"{BASE}?{query}", "application/json")
    assert isinstance(whole, list) and [e["object"]["data"] for e in whole if e["type"] == "MODIFIED"] == [{"v": "two"}]
