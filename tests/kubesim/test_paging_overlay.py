"""Continued pages read at the first page's version while the world moves on between every page: each page and
its ``remainingItemCount`` are those of the snapshot, and a list at now is in key order after creates and deletes
(the store keeps its order rather than sorting again; kubesim/rewind.py, kubesim/store.py)."""

from __future__ import annotations

import json
from typing import Any

from kubesim.runner import RunningSim
from tests.kubesim.test_api_semantics import raw

BASE = "/api/v1/namespaces/default/configmaps"


def _put(sim: RunningSim, method: str, path: str, name: str = "", value: str | None = None) -> None:
    body = json.dumps({"metadata": {"name": name}, "data": {"v": value}}).encode() if value is not None else None
    code, obj = raw(sim, method, path, body)
    assert code in (200, 201), obj


def _mine(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(i["metadata"]["name"], (i.get("data") or {}).get("v")) for i in items if i["metadata"]["name"][0] == "y"]


def test_every_page_and_its_remaining_count_come_from_the_first_pages_snapshot(mini: RunningSim) -> None:
    for n in range(0, 20, 2):  # y00, y02, ... y18
        _put(mini, "POST", BASE, f"y{n:02d}", "old")
    code, snapshot = raw(mini, "GET", BASE)
    assert code == 200
    expected: list[dict[str, Any]] = snapshot["items"]  # type: ignore[assignment]
    got: list[dict[str, Any]] = []
    remaining: list[int] = []
    query, step = "", 0
    while True:
        code, page = raw(mini, "GET", f"{BASE}?limit=2{query}")
        assert code == 200, page
        got += page["items"]  # type: ignore[arg-type]
        meta = page["metadata"]
        assert isinstance(meta, dict)
        if "remainingItemCount" in meta:
            remaining.append(meta["remainingItemCount"])
        # between every two pages: one created before and after the position, one changed, one deleted
        _put(mini, "POST", BASE, f"y{2 * step + 1:02d}", "new")  # odd names: created after the snapshot
        _put(mini, "POST", BASE, f"yz{step}", "new")
        if step < 4:
            _put(mini, "PUT", f"{BASE}/y{18 - 2 * step:02d}", f"y{18 - 2 * step:02d}", "changed")
        if step < 3:
            _put(mini, "DELETE", f"{BASE}/y{4 + 2 * step:02d}")
        step += 1
        if not meta.get("continue"):
            break
        query = f"&continue={meta['continue']}"
    assert _mine(got) == _mine(expected)
    assert [i["metadata"]["name"] for i in got] == [i["metadata"]["name"] for i in expected]
    assert remaining == [len(expected) - 2 * (k + 1) for k in range(len(remaining))]
    assert len(remaining) == (len(expected) + 1) // 2 - 1


def test_a_list_at_now_is_in_key_order_after_creates_and_deletes(mini: RunningSim) -> None:
    for name in ("y5", "y1", "y9", "y3"):
        _put(mini, "POST", BASE, name, "v")
    raw(mini, "GET", BASE)  # the order is computed once ...
    for name in ("y7", "y0", "y4"):  # ... and kept through creates and deletes
        _put(mini, "POST", BASE, name, "v")
    _put(mini, "DELETE", f"{BASE}/y9")
    _put(mini, "DELETE", f"{BASE}/y0")
    code, listed = raw(mini, "GET", BASE)
    assert code == 200
    names = [n for n, _ in _mine(listed["items"])]  # type: ignore[arg-type]
    assert names == ["y1", "y3", "y4", "y5", "y7"]
