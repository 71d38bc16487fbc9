"""A paged list is one snapshot: every page after the first is read at the version its continue token carries,
whether the list began at now or at an Exact version, as kube-apiserver reads etcd (kubesim/paging.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from kubesim.runner import RunningSim
from tests.conftest import DATA
from tests.kubesim.test_api_semantics import raw

BASE = "/api/v1/namespaces/default/configmaps"


def _write(sim: RunningSim, method: str, path: str, name: str = "", value: str | None = None) -> str:
    body = json.dumps({"metadata": {"name": name}, "data": {"v": value}}).encode() if value is not None else None
    code, obj = raw(sim, method, path, body)
    assert code in (200, 201), obj
    return str(obj["metadata"]["resourceVersion"])  # type: ignore[index]


def _pages(sim: RunningSim, first: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a list (limit 1), with the changes made after the first page: the items and the metas."""
    items: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    query = first
    while True:
        code, listed = raw(sim, "GET", f"{BASE}?limit=1&{query}")
        assert code == 200, listed
        items += listed["items"]  # type: ignore[arg-type]
        metas.append(listed["metadata"])  # type: ignore[arg-type]
        if len(metas) == 1:  # the world moves on while the client pages
            _write(sim, "PUT", f"{BASE}/xb", "xb", "changed")
            _write(sim, "POST", BASE, "xz", "new")
            _write(sim, "DELETE", f"{BASE}/xc")
        token = metas[-1].get("continue")
        if not token:
            return items, metas
        query = f"continue={token}"


def _values(items: list[dict[str, Any]]) -> dict[str, str | None]:
    return {i["metadata"]["name"]: (i.get("data") or {}).get("v") for i in items if i["metadata"]["name"][0] == "x"}


def test_later_pages_are_read_at_the_first_pages_version(mini: RunningSim) -> None:
    for name in ("xa", "xb", "xc"):
        _write(mini, "POST", BASE, name, "old")
    items, metas = _pages(mini, "")
    assert _values(items) == {"xa": "old", "xb": "old", "xc": "old"}
    assert {m["resourceVersion"] for m in metas} == {metas[0]["resourceVersion"]}
    token = json.loads(base64.urlsafe_b64decode(metas[0]["continue"] + "=="))
    assert token["v"] == "meta.k8s.io/v1" and token["rv"] == int(metas[0]["resourceVersion"])
    assert token["start"].endswith("\x00")  # kube-apiserver's own token: the key after the last item
    assert metas[0]["remainingItemCount"] == len(items) - 1


def test_a_paged_exact_list_stays_at_its_version(mini: RunningSim) -> None:
    for name in ("xa", "xb", "xc"):
        at = _write(mini, "POST", BASE, name, "old")
    _write(mini, "PUT", f"{BASE}/xa", "xa", "newer")  # after the version asked for
    items, metas = _pages(mini, f"resourceVersionMatch=Exact&resourceVersion={at}")
    assert _values(items) == {"xa": "old", "xb": "old", "xc": "old"}
    assert {m["resourceVersion"] for m in metas} == {at}
    assert metas[0]["remainingItemCount"] == len(items) - 1


def test_continue_refuses_a_version_or_a_match_and_a_bad_token(mini: RunningSim) -> None:
    for name in ("xa", "xb"):
        _write(mini, "POST", BASE, name, "v")
    _, listed = raw(mini, "GET", f"{BASE}?limit=1")
    token = listed["metadata"]["continue"]  # type: ignore[index]
    code, body = raw(mini, "GET", f"{BASE}?limit=1&continue={token}&resourceVersionMatch=Exact&resourceVersion=3")
    assert (code, body["reason"]) == (422, "Invalid"), body
    assert body["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden when continue is provided"
    )
    assert body["details"]["causes"][0]["field"] == "resourceVersionMatch"  # type: ignore[index]
    code, body = raw(mini, "GET", f"{BASE}?limit=1&continue={token}&resourceVersion=3")
    assert (code, body["message"]) == (400, "specifying resource version is not allowed when using continue")
    code, body = raw(mini, "GET", f"{BASE}?limit=1&continue=bm90LWpzb24")
    assert code == 400 and str(body["message"]).startswith("invalid continue token: continue key is not valid")
    code, body = raw(mini, "GET", f"{BASE}?resourceVersionMatch=Exact&resourceVersion=0")
    assert code == 422 and 'forbidden for resourceVersion "0"' in str(body["message"])


def test_a_token_older_than_the_history_is_gone_with_one_that_goes_on(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(DATA / "mini.yaml", timeline_mode="manual", history_size=2)
    for name in ("xa", "xb", "xc"):
        _write(sim, "POST", BASE, name, "old")
    _, listed = raw(sim, "GET", f"{BASE}?limit=2")
    for n in range(3):  # more changes than the history keeps
        _write(sim, "PUT", f"{BASE}/xc", "xc", f"v{n}")
    code, body = raw(sim, "GET", f"{BASE}?limit=2&continue={listed['metadata']['continue']}")  # type: ignore[index]
    assert (code, body["reason"], body["kind"]) == (410, "Expired", "Status"), body
    assert "continue parameter is too old" in str(body["message"])
    fresh = body["metadata"]["continue"]  # type: ignore[index]
    assert json.loads(base64.urlsafe_b64decode(fresh + "=="))["rv"] == -1
    code, rest = raw(sim, "GET", f"{BASE}?limit=2&continue={fresh}")
    assert code == 200 and _values(rest["items"]) == {"xb": "old", "xc": "v2"}, rest  # type: ignore[arg-type]
