"""A list as it was at a past resourceVersion (``resourceVersionMatch=Exact``, and every continued page of a paged
list), rebuilt from the store's history.

A real API server answers an Exact list from etcd's multi-version store: the objects as they were at that
revision, or 410 Expired once compaction has dropped it. The simulator keeps its current objects and a bounded
history of changes (kubesim/store.py), so it starts from now and undoes, newest first, every change of the
resource made after the asked version. A version older than the history reaches is the same honest 410; one
newer than the store's is etcd's 504 "Too large resource version".

The undoing is an overlay on the current key order, read lazily from the page's start: a page of 500 costs its
500 entries and the changes made since, not the whole resource. Every page after the first of a paged LIST is
read at the first page's version, and any write in between (a Lease renewal is enough) moves the store past it:
at 150,000 pods, rebuilding the whole list for each of 300 pages made one LIST take minutes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from .store import Entry, Gone, Key, Predicate, Store, StoreError


class TooLarge(StoreError):
    status, reason = 504, "Timeout"


class Past:
    """The entries of one resource (in one namespace, or all) as they were right after a version, in etcd key
    order after ``start_after``; iterate it for the page, ``count_after`` for ``remainingItemCount``."""

    def __init__(
        self,
        store: Store,
        key: Key,
        namespace: str | None,
        predicate: Predicate | None,
        start_after: tuple[str, str] | None,
        before: dict[tuple[str, str], dict[str, Any] | None],
    ):
        self.store, self.key, self.namespace, self.predicate, self.start_after = (
            store,
            key,
            namespace,
            predicate,
            start_after,
        )
        self.before = before  # what each object changed since was then (None: it did not exist)
        bucket = store.buckets.get(key, {})
        # objects deleted since: not in the current order, put back where they were
        self.gone = sorted(k for k, obj in before.items() if obj is not None and k not in bucket)
        self.born = {k for k, obj in before.items() if obj is None and k in bucket}  # created since: not there then

    def __iter__(self) -> Iterator[tuple[tuple[str, str], Entry]]:
        start = self.start_after
        gone = self.gone[bisect.bisect_right(self.gone, start) :] if start is not None else self.gone
        if self.namespace is not None:
            gone = [k for k in gone if k[0] == self.namespace]
        current = self.store.entries(self.key, self.namespace, None, start)
        pred, before = self.predicate, self.before
        for k, found in _merge(current, gone):
            if k in before:
                old = before[k]
                if old is None:
                    continue
                found = Entry(old)
            assert found is not None  # a deleted key is always in the overlay
            if pred is None or pred(found.obj):
                yield k, found

    def count_after(self, last: tuple[str, str]) -> int:
        """How many entries come after ``last`` (without a predicate)."""
        now = self.store.count_after(self.key, self.namespace, last)
        born = sum(1 for k in self.born if k > last and (self.namespace is None or k[0] == self.namespace))
        gone = sum(1 for k in self.gone if k > last and (self.namespace is None or k[0] == self.namespace))
        return max(now - born + gone, 0)


def _merge(
    current: Iterable[tuple[tuple[str, str], Entry]], gone: list[tuple[str, str]]
) -> Iterator[tuple[tuple[str, str], Entry | None]]:
    """The current entries and the keys of deleted ones, in key order (a deleted key comes with no entry: the
    caller takes its object from the overlay)."""
    i = 0
    for k, entry in current:
        while i < len(gone) and gone[i] < k:
            yield gone[i], None
            i += 1
        yield k, entry
    yield from ((k, None) for k in itertools.islice(gone, i, None))


def entries_at(
    store: Store,
    key: Key,
    namespace: str | None,
    predicate: Predicate | None,
    start_after: tuple[str, str] | None,
    rv: int,
) -> Past:
    """The entries of ``key`` (in one namespace, or all) as they were right after ``rv``, in etcd key order."""
    if rv > store.rv:
        raise TooLarge(f"Too large resource version: {rv}, current: {store.rv}")
    if rv < store.oldest_rv - 1:
        raise Gone(f"The resourceVersion for the provided list is too old: {rv}")
    before: dict[tuple[str, str], dict[str, Any] | None] = {}
    for change in reversed(store.history):  # newest first: the oldest change after rv has the last word
        if change.rv <= rv:
            break
        if change.key != key:
            continue
        meta = change.obj.get("metadata") or {}
        ident = (meta.get("namespace") or "", meta.get("name") or "")
        if namespace is not None and ident[0] != namespace:
            continue
        before[ident] = None if change.type == "ADDED" or change.old is None else change.old
    return Past(store, key, namespace, predicate, start_after, before)


__all__ = ["Past", "TooLarge", "entries_at"]
