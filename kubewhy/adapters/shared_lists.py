"""Lists shared between the diagnoses of a long-lived front-end for a moment.

A watcher that starts with 200 incidents open diagnoses them eight at a time, and every diagnosis of a
workload's pod asks for the same cluster-wide lists (the nodes, for ``single-point``'s node counts): 200 LISTs of
500 nodes, each parsed into its own copy, eight copies alive at once (about 40 MB at 10,000 pods; see
docs/benchmarks.md). Behind this reader, a LIST asked again within ``ttl`` seconds of the same question (kind,
namespace, selectors) is answered from the one in flight or just answered, as :class:`..cache.CachedKube`
shares reads inside one diagnosis. A bot answering a burst of ``/k8s why`` gains the same.

The answer may be ``ttl`` seconds old: the watch streams that open an incident are that stale anyway, and a
``get`` (a diagnosis' target, a node by name) always goes to the server. Results are shared, never copied, as
inside a diagnosis: nothing downstream mutates what a reader returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .delegate import DelegatingKube
from .ports import KubeReader, Obj

TTL = 2.0  # seconds a LIST answer is shared: well under a page's latency, long enough to span a storm's wave


class SharedLists(DelegatingKube):
    def __init__(self, inner: KubeReader, ttl: float = TTL, clock: Callable[[], float] = time.monotonic):
        super().__init__(inner)
        self.ttl = ttl
        self._clock = clock
        self._lists: dict[tuple[Any, ...], _Answer] = {}
        self.shared = 0  # LISTs answered without a request, for the benchmarks

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        now = self._clock()
        for old in [k for k, a in self._lists.items() if a.expired(now, self.ttl)]:
            del self._lists[old]  # an expired answer holds no memory
        key = (kind, namespace, label_selector, field_selector)
        held = self._lists.get(key)
        if held is not None:
            self.shared += 1
            return await asyncio.shield(held.future)
        answer = _Answer(
            asyncio.ensure_future(
                self._inner.list(kind, namespace, label_selector=label_selector, field_selector=field_selector)
            )
        )
        self._lists[key] = answer
        answer.future.add_done_callback(lambda f: self._settled(key, answer))
        return await asyncio.shield(answer.future)

    def forget(self) -> None:
        """Share nothing read before now: the application object calls it after a change it made (a fix applied)
        and before a verification, which must see the cluster after the change. Callers already waiting keep
        their answer."""
        self._lists.clear()

    def _settled(self, key: tuple[Any, ...], answer: _Answer) -> None:
        """The answer is shared for ``ttl`` from when it arrived; a refused or failed LIST only with the callers
        already waiting for it: the next one asks again."""
        fut = answer.future
        if fut.cancelled() or fut.exception() is not None:
            if self._lists.get(key) is answer:
                del self._lists[key]
        else:
            answer.at = self._clock()


class _Answer:
    __slots__ = ("at", "future")

    def __init__(self, future: asyncio.Future[list[Obj]]):
        self.future = future
        self.at: float | None = None  # when it arrived

    def expired(self, now: float, ttl: float) -> bool:
        return self.at is not None and now - self.at > ttl


__all__ = ["TTL", "SharedLists"]
