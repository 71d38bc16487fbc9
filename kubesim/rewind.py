"""A list as it was at a past resourceVersion (``resourceVersionMatch=Exact``), rebuilt from the store's history.

A real API server answers an Exact list from etcd's multi-version store: the objects as they were at that
revision, or 410 Expired once compaction has dropped it. The simulator keeps its current objects and a bounded
history of changes (kubesim/store.py), so it starts from now and undoes, newest first, every change of the
resource made after the asked version. A version older than the history reaches is the same honest 410; one
newer than the store's is etcd's 504 "Too large resource version".
"""

from __future__ import annotations

from .store import Entry, Gone, Key, Predicate, Store, StoreError


class TooLarge(StoreError):
    status, reason = 504, "Timeout"


def entries_at(
    store: Store,
    key: Key,
    namespace: str | None,
    predicate: Predicate | None,
    start_after: tuple[str, str] | None,
    rv: int,
) -> list[tuple[tuple[str, str], Entry]]:
    """The entries of ``key`` (in one namespace, or all) as they were right after ``rv``, in etcd key order."""
    if rv > store.rv:
        raise TooLarge(f"Too large resource version: {rv}, current: {store.rv}")
    if rv < store.oldest_rv - 1:
        raise Gone(f"The resourceVersion for the provided list is too old: {rv}")
    objects = {ident: entry.obj for ident, entry in store.entries(key, namespace)}
    for change in reversed(store.history):
        if change.rv <= rv:
            break
        meta = change.obj.get("metadata") or {}
        ident = (meta.get("namespace") or "", meta.get("name") or "")
        if change.key != key or (namespace is not None and ident[0] != namespace):
            continue
        if change.type == "ADDED" or change.old is None:
            objects.pop(ident, None)
        else:  # MODIFIED or DELETED: what it was before
            objects[ident] = change.old
    return [
        (ident, Entry(objects[ident]))
        for ident in sorted(objects)
        if (start_after is None or ident > start_after) and (predicate is None or predicate(objects[ident]))
    ]


__all__ = ["TooLarge", "entries_at"]
