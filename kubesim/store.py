"""In-memory object store with resourceVersions, a bounded change history and watch fan-out.

It plays etcd plus the API server's watch cache: every write bumps one global resourceVersion, is kept
in a bounded history (so a watch can resume from a recent resourceVersion, and gets 410 Gone when the
version has been compacted away), and is offered to every open watch of that resource.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Key = tuple[str, str]  # (group, plural)
EVENTS: Key = ("", "events")
PODS: Key = ("", "pods")
Predicate = Callable[[dict[str, Any]], bool]


class StoreError(Exception):
    status = 500
    reason = "InternalError"


class NotFound(StoreError):
    status, reason = 404, "NotFound"


class AlreadyExists(StoreError):
    status, reason = 409, "AlreadyExists"


class Conflict(StoreError):
    status, reason = 409, "Conflict"


class Gone(StoreError):
    status, reason = 410, "Expired"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Entry:
    obj: dict[str, Any]
    _raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = dumps(self.obj)
        return self._raw


@dataclass
class Change:
    rv: int
    key: Key
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(eq=False)
class Watcher:
    key: Key
    namespace: str | None
    predicate: Predicate | None
    queue: asyncio.Queue[Change | None] = field(default_factory=lambda: asyncio.Queue(maxsize=100_000))
    overflowed: bool = False

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return self.predicate is None or self.predicate(obj)

    def translate(self, change: Change) -> str | None:
        """The watch event type this watcher sees for a change, given its selectors (None: not seen)."""
        new_ok = self._matches(change.obj)
        if change.type == "DELETED":
            return "DELETED" if new_ok else None
        old_ok = self._matches(change.old)
        if new_ok and old_ok:
            return "MODIFIED"
        if new_ok:
            return "ADDED"
        if old_ok:
            return "DELETED"
        return None

    def offer(self, change: Change) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            # A watcher that cannot keep up is closed, as the API server does with slow watchers.
            self.overflowed = True


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self, history_size: int = 20_000):
        self.rv = 0
        self.buckets: dict[Key, dict[tuple[str, str], Entry]] = {}
        self.history: deque[Change] = deque(maxlen=history_size)
        self.watchers: dict[Key, set[Watcher]] = {}
        self._sorted: dict[Key, list[tuple[str, str]] | None] = {}
        # Events by involvedObject.name: `kubectl describe` and kubewhy list events of one object among
        # tens of thousands; a real API server answers that from its watch cache in Go, this keeps it cheap.
        self._events_by_target: dict[str, set[tuple[str, str]]] = {}
        self._events_by_reason: dict[str, set[tuple[str, str]]] = {}
        # Pods by spec.nodeName: the kubelet's (and kubewhy's "pods on this node") field selector, which the
        # real API server answers from an index of its watch cache.
        self._pods_by_node: dict[str, set[tuple[str, str]]] = {}

    # ---- reads --------------------------------------------------------------------------------------------
    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        entry = self.buckets.get(key, {}).get((namespace, name))
        return entry.obj if entry else None

    def get_entry(self, key: Key, namespace: str, name: str) -> Entry | None:
        return self.buckets.get(key, {}).get((namespace, name))

    def entries(
        self,
        key: Key,
        namespace: str | None = None,
        predicate: Predicate | None = None,
        start_after: tuple[str, str] | None = None,
    ) -> Iterable[tuple[tuple[str, str], Entry]]:
        """Entries in etcd key order (namespace, name), optionally after a continue position."""
        bucket = self.buckets.get(key, {})
        order = self._order(key)
        start = bisect.bisect_right(order, start_after) if start_after is not None else 0
        if namespace is not None:
            start = max(start, bisect.bisect_left(order, (namespace, "")))
        for k in itertools.islice(order, start, None):
            if namespace is not None and k[0] != namespace:
                break  # past the namespace's range
            entry = bucket[k]
            if predicate is not None and not predicate(entry.obj):
                continue
            yield k, entry

    def _order(self, key: Key) -> list[tuple[str, str]]:
        order = self._sorted.get(key)
        if order is None:
            order = sorted(self.buckets.get(key, {}))
            self._sorted[key] = order
        return order

    def count_after(self, key: Key, namespace: str | None, after: tuple[str, str]) -> int:
        """How many entries (of one namespace, or all) come after ``after`` in key order: a page's
        ``remainingItemCount`` without walking the rest."""
        order = self._order(key)
        end = len(order) if namespace is None else bisect.bisect_left(order, (namespace + "\x00", ""))
        return max(end - bisect.bisect_right(order, after), 0)

    def events_about(self, name: str) -> list[tuple[tuple[str, str], Entry]]:
        bucket = self.buckets.get(EVENTS, {})
        return sorted((k, bucket[k]) for k in self._events_by_target.get(name, ()) if k in bucket)

    def events_with_reason(self, reason: str) -> list[tuple[tuple[str, str], Entry]]:
        bucket = self.buckets.get(EVENTS, {})
        return sorted((k, bucket[k]) for k in self._events_by_reason.get(reason, ()) if k in bucket)

    def pods_on(self, node: str) -> list[tuple[tuple[str, str], Entry]]:
        bucket = self.buckets.get(PODS, {})
        return sorted((k, bucket[k]) for k in self._pods_by_node.get(node, ()) if k in bucket)

    def _index(self, key: Key, obj: dict[str, Any], add: bool) -> None:
        if key == PODS:
            indexes = [(self._pods_by_node, str((obj.get("spec") or {}).get("nodeName") or ""))]
        elif key == EVENTS:
            target = (obj.get("involvedObject") or {}).get("name", "")
            indexes = [(self._events_by_target, target), (self._events_by_reason, obj.get("reason", ""))]
        else:
            return
        for index, value in indexes:
            keys = index.setdefault(value, set())
            if add:
                keys.add(_ident(obj))
            else:
                keys.discard(_ident(obj))

    def all_objects(self, key: Key) -> list[dict[str, Any]]:
        return [e.obj for e in self.buckets.get(key, {}).values()]

    @property
    def oldest_rv(self) -> int:
        return self.history[0].rv if self.history else self.rv + 1

    # ---- writes -------------------------------------------------------------------------------------------
    def _commit(self, key: Key, change_type: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        change = Change(self.rv, key, change_type, obj, old)
        self.history.append(change)
        for watcher in self.watchers.get(key, ()):
            watcher.offer(change)

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def load(self, key: Key, obj: dict[str, Any]) -> None:
        """Put an object without history (scenario start-up)."""
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self.buckets.setdefault(key, {})[_ident(obj)] = Entry(obj)
        self._sorted[key] = None
        self._index(key, obj, True)

    def create(self, key: Key, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        ident = _ident(obj)
        bucket = self.buckets.setdefault(key, {})
        if ident in bucket:
            raise AlreadyExists(ident[1])
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("creationTimestamp", now_rfc3339())
        if "generation" not in meta and "spec" in obj and key[0] in ("apps", "batch", "autoscaling", "policy"):
            meta["generation"] = 1
        if dry_run:
            meta["resourceVersion"] = str(self.rv)
            return obj
        meta["resourceVersion"] = str(self._next_rv())
        bucket[ident] = Entry(obj)
        order = self._sorted.get(key)
        if order is not None:  # kept in order: a create among 150,000 pods must not sort them all again
            bisect.insort(order, ident)
        self._index(key, obj, True)
        self._commit(key, "ADDED", obj, None)
        return obj

    def update(
        self, key: Key, obj: dict[str, Any], *, dry_run: bool = False, expect_rv: str | None = None
    ) -> dict[str, Any]:
        ident = _ident(obj)
        bucket = self.buckets.get(key, {})
        entry = bucket.get(ident)
        if entry is None:
            raise NotFound(ident[1])
        old = entry.obj
        if expect_rv and expect_rv != old["metadata"].get("resourceVersion"):
            raise Conflict(ident[1])
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        for immutable in ("uid", "creationTimestamp"):
            if immutable in old["metadata"]:
                meta[immutable] = old["metadata"][immutable]
        if "generation" in old["metadata"]:
            meta["generation"] = old["metadata"]["generation"] + (1 if obj.get("spec") != old.get("spec") else 0)
        if dry_run:
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj
        if _without_rv(obj) == _without_rv(old):
            return old  # a no-op write does not bump the resourceVersion, as on a real server
        meta["resourceVersion"] = str(self._next_rv())
        bucket[ident] = Entry(obj)
        self._index(key, old, False)
        self._index(key, obj, True)
        self._commit(key, "MODIFIED", obj, old)
        return obj

    def delete(self, key: Key, namespace: str, name: str, *, dry_run: bool = False) -> dict[str, Any]:
        bucket = self.buckets.get(key, {})
        entry = bucket.get((namespace, name))
        if entry is None:
            raise NotFound(name)
        if dry_run:
            return entry.obj
        del bucket[(namespace, name)]
        order = self._sorted.get(key)
        if order is not None:
            i = bisect.bisect_left(order, (namespace, name))
            if i < len(order) and order[i] == (namespace, name):
                del order[i]
            else:
                self._sorted[key] = None
        self._index(key, entry.obj, False)
        obj = copy.deepcopy(entry.obj)
        obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self._commit(key, "DELETED", obj, entry.obj)
        return obj

    # ---- watches ------------------------------------------------------------------------------------------
    def watch(
        self, key: Key, namespace: str | None, predicate: Predicate | None, since_rv: int | None
    ) -> tuple[Watcher, list[Change]]:
        """Open a watch. Returns the watcher and the backlog of changes after ``since_rv``.

        ``since_rv`` None means "from now, after synthetic ADDED events" (the caller sends those).
        """
        if since_rv is not None and since_rv < self.rv and since_rv < self.oldest_rv - 1:
            raise Gone(f"too old resource version: {since_rv} ({self.oldest_rv - 1})")
        watcher = Watcher(key, namespace, predicate)
        backlog = []
        if since_rv is not None:
            backlog = [c for c in self.history if c.rv > since_rv and c.key == key]
        self.watchers.setdefault(key, set()).add(watcher)
        return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        self.watchers.get(watcher.key, set()).discard(watcher)

    def close_all_watches(self) -> None:
        for watchers in self.watchers.values():
            for w in watchers:
                try:
                    w.queue.put_nowait(None)
                except asyncio.QueueFull:
                    w.overflowed = True


def _ident(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta["name"]


def _without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}
