"""Background diagnoses yield to people: the application's one priority gate for diagnoses.

A person's diagnosis (``/k8s why``, the TUI's ``w``, ``kubewhy why``, an MCP client) and the watchers' run in the
same process and the same event loop (``k8sbot``). At start-up the watchers page every incident already open, each
with its diagnosis: hundreds of diagnoses at once. Interleaved with them, a person's answer would take as long as
the whole storm. So diagnoses go through two lanes (:meth:`Kubewhy.diagnose <kubewhy.app.Kubewhy.diagnose>`):

- **people**: at most ``people`` at once; never queued behind background work;
- **background** (the watchers, the Alertmanager intake, verify-after-fix): at most ``background`` at once, and
  none starts while a person's diagnosis is in flight or waiting. Waiting background diagnoses start most urgent
  first (``severity``: critical before warning before info), then in arrival order.

``background=0`` turns the gate off (every diagnosis starts at once, as before it existed: for comparisons).

A background diagnosis already running is not interrupted: with ``background`` small (2), a person's diagnosis
shares the loop with at most two others. A waiter that is cancelled (a timeout, a stopping watcher) leaves the
queue; a slot granted to a waiter cancelled before it ran is handed on.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

PEOPLE = 8  # a person's diagnoses at once (a channel's burst of /k8s why)
BACKGROUND = 2  # background diagnoses at once, when no person's is in flight

# The sources (:attr:`Kubewhy.source`, ``diagnose(source=)``) whose diagnoses nobody is waiting for on a screen.
BACKGROUND_SOURCES = frozenset({"watcher", "alertmanager", "verify"})

# Severity -> rank (lower starts first); anything else ranks with "warning".
_RANKS = {"critical": 0, "page": 0, "error": 1, "high": 1, "warning": 2, "medium": 2, "info": 3, "low": 3}


def is_background(source: str) -> bool:
    return source in BACKGROUND_SOURCES


def rank(severity: str | None) -> int:
    return _RANKS.get((severity or "warning").lower(), 2)


class LaneStats(NamedTuple):
    """What the gate holds now: people's diagnoses in flight or waiting, background running and waiting."""

    people: int
    background: int
    queued: int


class Lanes:
    """See the module docstring. One per application object (its diagnoses share one event loop)."""

    def __init__(self, people: int = PEOPLE, background: int = BACKGROUND):
        self.gated = background > 0
        self.people_bound = max(1, people)
        self.background_bound = max(1, background)
        self._people_gate = asyncio.Semaphore(self.people_bound)
        self._people = 0  # in flight or waiting for a people slot
        self._running = 0  # background diagnoses running
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []  # (rank, arrival, waiter)
        self._arrival = itertools.count()

    @property
    def stats(self) -> LaneStats:
        return LaneStats(self._people, self._running, sum(1 for *_, f in self._queue if not f.done()))

    @asynccontextmanager
    async def person(self) -> AsyncIterator[None]:
        """A person's diagnosis: holds back every background diagnosis not yet started until it ends."""
        self._people += 1
        try:
            async with self._people_gate:
                yield
        finally:
            self._people -= 1
            self._dispatch()

    @asynccontextmanager
    async def background(self, severity: str | None = None) -> AsyncIterator[None]:
        """A background diagnosis: waits for a slot, and for no person's diagnosis to be in flight."""
        await self._acquire(rank(severity))
        try:
            yield
        finally:
            self._running -= 1
            self._dispatch()

    @asynccontextmanager
    async def lane(self, source: str, severity: str | None = None) -> AsyncIterator[None]:
        """The lane ``source``'s diagnoses take (:data:`BACKGROUND_SOURCES`, else a person's)."""
        if not self.gated:
            yield
            return
        gate = self.background(severity) if is_background(source) else self.person()
        async with gate:
            yield

    async def _acquire(self, order: int) -> None:
        if not self._queue and self._people == 0 and self._running < self.background_bound:
            self._running += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (order, next(self._arrival), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted, then cancelled before it ran: hand it on
                self._running -= 1
                self._dispatch()
            raise

    def _dispatch(self) -> None:
        """Start waiting background diagnoses while no person's is in flight and slots are free."""
        while self._queue and self._people == 0 and self._running < self.background_bound:
            _, _, waiter = heapq.heappop(self._queue)
            if waiter.done():  # its task was cancelled while it waited
                continue
            self._running += 1
            waiter.set_result(None)
