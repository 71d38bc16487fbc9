"""An informer: a paged LIST into a local cache, then a WATCH from the list's resourceVersion, for ever.

What the Python client's ``watch.stream`` lacks and this does:

- **Bookmarks** are requested and move the resourceVersion on, so a reconnect after a quiet hour does not start
  from a version the server has compacted away.
- **410 Gone** (an HTTP answer or an ERROR event): LIST again and *diff* against the cache, so only real
  transitions come out: no replay of every object, and nothing that changed between the LIST and the WATCH lost.
- **A server that went back in time** (restarted with older state, an etcd restore): a WATCH at a version it
  has not reached gets 504 "Too large resource version"; an event or a LIST older than the version already seen
  means the same. Both lead to a LIST diffed against the cache: a recovered node is seen as recovered.
- **Silent drift** (a missed event, a proxy that dropped one): every ``relist_every`` seconds (10 minutes) the
  cache is compared with a fresh LIST; what differs comes out as changes and is counted in ``stats.drift``.
- **A cut stream** (server timeout, reset, proxy) resumes from the last version seen, with jittered backoff on
  errors; ``error`` holds the last one for a front-end to show.
- **Paged LISTs** (``limit``/``continue``), and a projection that keeps only the fields the consumer needs: the
  watchers' rules and the TUI's lists cache small dicts, not whole pods.
- Changes whose projection did not change are not emitted (a pod's status heartbeat is not a transition).

``resume_from`` starts with a WATCH from a saved resourceVersion instead of a LIST (the watchers' event stream,
where objects seen before the restart must not count again); ``cache=False`` keeps no objects (events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..adapters.ports import Obj, WatchSource
from ..errors import KubeApiError, KubewhyError
from .backoff import Backoff

log = logging.getLogger("kubewhy.watch")

Key = tuple[str, str]
ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True)
class Change:
    type: ChangeType
    key: Key
    old: Obj | None
    new: Obj | None

    @property
    def obj(self) -> Obj:
        """The object after the change (before it, for a deletion)."""
        found = self.new if self.new is not None else self.old
        assert found is not None
        return found


class Gone(Exception):
    """LIST again: the resourceVersion we asked for is no longer in the server's history (410), newer than the
    server has (504 "Too large resource version"), went backwards, or the periodic re-list is due."""


RELIST_EVERY = 600.0  # seconds between re-list compares (silent drift)
# A re-list of a full cache takes pages of at least 1/RELIST_PAGES of it: at 150,000 pods, 20 requests every
# 10 minutes instead of 300 (issue 24: the steady budget is 15 requests a minute, whatever the cluster's size).
RELIST_PAGES = 20


def relist_limit(page_size: int, cached: int) -> int:
    """The page size of a re-list compare of a cache of ``cached`` objects (at most RELIST_PAGES pages)."""
    return max(page_size, -(-cached // RELIST_PAGES))


def _older(version: str, than: str) -> bool:
    """``version`` is before ``than`` (resourceVersions are opaque, but etcd's, like the simulator's, are
    increasing integers: compare only those)."""
    return version.isdigit() and than.isdigit() and int(version) < int(than)


def too_large(exc: KubeApiError) -> bool:
    return exc.status == 504 and "too large resource version" in str(exc).lower()


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


@dataclass
class InformerStats:
    lists: int = 0  # LIST requests (pages)
    relists: int = 0  # LISTs after the first (410, 504 too large, a version going backwards, the periodic compare)
    drift: int = 0  # changes found by a periodic re-list compare: events the watch did not deliver
    backwards: int = 0  # times the server's resourceVersion went backwards (restarted with older state)
    watches: int = 0  # WATCH requests
    events: int = 0  # watch events received (bookmarks included)
    emitted: int = 0  # changes given to listeners
    last_event_at: float = 0.0  # time.monotonic() of the last event


@dataclass
class Informer:
    source: WatchSource
    kind: str
    namespace: str | None = None
    project: Callable[[Obj], Obj] = field(default=lambda obj: obj)
    page_size: int = 500
    watch_timeout: int = 300  # seconds the server holds each WATCH open (it ends it; we resume)
    cache: bool = True
    resume_from: str | None = None
    on_version: Callable[[str], None] | None = None  # the resourceVersion moved (persist it)
    backoff: Backoff = field(default_factory=Backoff)
    relist_every: float | None = RELIST_EVERY  # the periodic re-list compare (caches only); None: never
    clock: Callable[[], float] = time.monotonic  # for the periodic compare (tests move a virtual one)

    def __post_init__(self) -> None:
        self.items: dict[Key, Obj] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.synced = asyncio.Event()
        self.error: str | None = None
        self.resource_version = ""
        self.stats = InformerStats()
        self._listed_at = 0.0
        self._periodic = False

    # ---- running ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """LIST, then WATCH for ever (until cancelled)."""
        need_list = self.resume_from is None
        if not need_list:
            self.resource_version = self.resume_from or ""
            self.synced.set()
        while True:
            try:
                if need_list:
                    await self._list(relist=self.synced.is_set())
                    need_list = False
                await self._watch()
                self.error = None
                self.backoff.reset()
            except Gone as exc:
                log.info("%s: listing again at resourceVersion %s: %s", self.kind, self.resource_version, exc)
                need_list = True
            except KubewhyError as exc:
                self.error = str(exc)
                delay = self.backoff.next()
                log.warning("%s: %s (retrying in %.1f s)", self.kind, exc, delay)
                await asyncio.sleep(delay)

    async def _list(self, *, relist: bool) -> None:
        """LIST every page. The first LIST fills a new cache; a re-list of a full cache compares page by page in
        place (what differs comes out as it arrives, what is gone at the end), so a 150,000-pod cache is never
        held twice."""
        in_place = relist and self.cache and bool(self.items)
        emitted = self.stats.emitted  # what this LIST brings out (the drift, for a periodic compare)
        fresh: dict[Key, Obj] = {}
        seen: set[Key] = set()
        token: str | None = None
        version = ""
        limit = self.page_size if self.cache else 1  # without a cache only the version matters: one object
        if in_place:
            limit = relist_limit(limit, len(self.items))
        while True:
            try:
                page = await self.source.list_page(self.kind, self.namespace, limit=limit, continue_token=token)
            except KubeApiError as exc:
                if exc.status == 410 and token is not None:  # the continue token expired: start over
                    fresh, seen, token = {}, set(), None
                    continue
                raise
            self.stats.lists += 1
            version = page.resource_version or version
            if in_place:
                for obj in page.items:
                    key = key_of(obj)
                    seen.add(key)
                    self._compare(key, self.project(obj))
            elif self.cache:
                for obj in page.items:
                    fresh[key_of(obj)] = self.project(obj)
            token = page.continue_token if self.cache else None
            if not token:
                break
        if relist:
            self.stats.relists += 1
        if _older(version, self.resource_version):
            self.stats.backwards += 1
            log.warning(
                "%s: the server's state is older than what was seen (%s < %s): restarted or restored",
                self.kind,
                version,
                self.resource_version,
            )
        if in_place:
            for key in [k for k in self.items if k not in seen]:
                self._emit(Change("DELETED", key, self.items.pop(key), None))
        else:
            self._replace(fresh)
        if self._periodic:
            self.stats.drift += self.stats.emitted - emitted
            self._periodic = False
        if version:
            self.resource_version = ""  # the list's version is the truth now, even an older one
        self._moved(version)
        self._listed_at = self.clock()
        self.synced.set()

    def _compare(self, key: Key, obj: Obj) -> None:
        """One object of a re-list against the cache: kept as it was when equal, else changed and emitted."""
        before = self.items.get(key)
        if before is None:
            self.items[key] = obj
            self._emit(Change("ADDED", key, None, obj))
        elif before != obj:
            self.items[key] = obj
            self._emit(Change("MODIFIED", key, before, obj))

    def _replace(self, fresh: dict[Key, Obj]) -> None:
        """Swap the cache for a LIST's result, emitting only what differs (nothing at the first LIST's start:
        every object comes out as ADDED, which the consumer treats as state, not news)."""
        old = self.items
        self.items = fresh
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._emit(Change("ADDED", key, None, obj))
            elif before != obj:
                self._emit(Change("MODIFIED", key, before, obj))
        for key, before in old.items():
            if key not in fresh:
                self._emit(Change("DELETED", key, before, None))

    async def _watch(self) -> None:
        self.stats.watches += 1
        stream = self.source.watch(
            self.kind, self.namespace, resource_version=self.resource_version, timeout_seconds=self.watch_timeout
        )
        try:
            async with contextlib.aclosing(stream):  # a cancelled watch closes its connection now, not at GC
                async for event in stream:
                    self._on_event(event)
        except KubeApiError as exc:
            if exc.status == 410 or too_large(exc):
                raise Gone(str(exc)) from None
            raise

    def _on_event(self, event: Obj) -> None:
        self.stats.events += 1
        self.stats.last_event_at = time.monotonic()
        self.backoff.reset()
        self._handle(event)
        if self.cache and self.relist_every is not None and self.clock() - self._listed_at >= self.relist_every:
            self._periodic = True
            raise Gone(f"the periodic re-list compare is due (every {self.relist_every:.0f} s)")

    def _handle(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message", "resourceVersion too old"))
            raise KubeApiError(f"watch of {self.kind}: {obj.get('message', obj)}", obj.get("code"))
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if _older(version, self.resource_version):
            self.stats.backwards += 1
            raise Gone(f"resourceVersion went backwards ({version} < {self.resource_version}): the server restarted")
        if kind == "BOOKMARK":
            self._moved(version)
            return
        key = key_of(obj)
        new = self.project(obj)
        before = self.items.get(key)
        if kind == "DELETED":
            if self.cache:
                self.items.pop(key, None)
            self._emit(Change("DELETED", key, before if before is not None else new, None))
        elif kind in ("ADDED", "MODIFIED"):
            if before == new and self.cache:
                self._moved(version)
                return
            if self.cache:
                self.items[key] = new
            self._emit(Change("ADDED" if before is None else "MODIFIED", key, before, new))
        self._moved(version)

    def _moved(self, version: str) -> None:
        if version and version != self.resource_version:
            self.resource_version = version
            if self.on_version is not None:
                self.on_version(version)

    def _emit(self, change: Change) -> None:
        self.stats.emitted += 1
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:  # a consumer's bug must not stop the stream
                log.exception("%s: listener failed on %s %s", self.kind, change.type, change.key)


__all__ = ["Change", "Gone", "Informer", "InformerStats", "Key", "key_of", "relist_limit"]
