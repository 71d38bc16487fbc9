"""The watcher: informers feed signals into candidates; a tick turns candidates into incidents, pages, updates
and resolves, through the ledger, so that each incident is paged once.

- **Level, not edge.** A candidate is "this rule holds for this subject now". After a restart, a re-LIST or a
  leadership change, the candidates are rebuilt from the cluster and matched against the ledger's open
  incidents: what was paged is not paged again, what happened meanwhile is paged, what cleared is resolved.
- **Grace** counts from when the condition began (a node's ``lastTransitionTime``), **hysteresis** from when it
  cleared (``resolve_after``); episodic rules (evictions, OOM kills) are over when none happened for that long.
- **Storms** are one incident per subject (evictions per node and reason; pod problems per owner workload), its
  message updated in place at most every ``update_interval`` seconds.
- **Causes group**: a pod incident on a node whose NotReady incident is open is absorbed by it.
- Only the Lease holder acts; the others keep their caches warm, ready to take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import KubewhyError
from ..models.target import Target
from ..silences import silenced
from .detect import (
    EPISODIC,
    PLANNED,
    Signal,
    eviction_resource,
    node_signals,
    parse_time,
    pod_signals,
    project_node,
    project_pod,
)
from .informer import Change, Informer
from .notify import Notifier, Page, announce_resolved, cause_of
from .rules import NODE_DETECTORS, Rule, RuleSet

if TYPE_CHECKING:
    from ..adapters.ports import WatchSource
    from ..app import Kubewhy
    from ..audit.ledger import Ledger, LedgerIncident, Mute
    from ..changes.recorder import ChangeRecorder
    from ..models.findings import Report
    from .lease import LeaseElector

log = logging.getLogger("kubewhy.watch")
ACTOR = "kubewhy-watch"
# The change log's streams are held open 30 minutes, not the watchers' 5: its kinds change rarely and page nobody,
# and each re-open is a request, 14 kinds of them (the API server's own default is 30 to 60 minutes).
CHANGE_WATCH_TIMEOUT = 1800
MAX_OCCURRENCES = 50_000  # distinct events remembered per incident (counts go on beyond it)
MEMORY = timedelta(days=7)  # how far back the ledger's incidents are read at start (undated occurrences)
MEMORY_ITEMS = 2_000  # undated occurrences kept per incident


@dataclass
class Candidate:
    rule: Rule
    subject: str
    since: datetime
    last_seen: datetime
    items: dict[str, Signal] = field(default_factory=dict)
    occurrences: OrderedDict[str, None] = field(default_factory=OrderedDict)
    count: int = 0
    last_occurrence: datetime | None = None
    absent_since: datetime | None = None
    sample: Signal | None = None  # the first signal: its object is what the page diagnoses
    incident: LedgerIncident | None = None
    absorbed_into: Candidate | None = None
    suppressed: bool = False  # resolved by a person while the condition held: wait until it clears
    dirty: bool = False
    busy: bool = False
    next_update: float = 0.0
    retry_at: float = 0.0
    thread_at: float = 0.0
    undated: dict[str, str] = field(default_factory=dict)  # occurrences without a time: when first seen (ISO)

    @property
    def fingerprint_tail(self) -> str:
        """The incident's key after the cluster: the rule's family and the subject (a cause on a subject)."""
        return f"{self.rule.family}|{self.subject}"

    def occurred(self, key: str, at: datetime) -> bool:
        """A distinct event at ``at`` (when it happened in the cluster, not when it was seen)."""
        if key in self.occurrences:
            return False
        self.occurrences[key] = None
        if len(self.occurrences) > MAX_OCCURRENCES:
            self.occurrences.popitem(last=False)
        self.count += 1
        self.last_occurrence = at if self.last_occurrence is None else max(self.last_occurrence, at)
        self.dirty = True
        return True

    def active(self, now: datetime) -> bool:
        if self.rule.detect in EPISODIC:
            return self.last_occurrence is not None and now - self.last_occurrence < self.rule.resolve_after
        return bool(self.items)


SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
# What a start-up storm does first: pages of new incidents (critical first, then the oldest condition), then
# another rule joining a paged incident, then in-place updates and reminders, then resolves.
OPEN, JOIN, UPDATE, RESOLVE = 0, 1, 2, 3


class PriorityGate:
    """At most ``limit`` holders at once; when full, waiters are let in lowest priority first (then in order of
    arrival), not first come first served: a page waits behind no update, reminder or resolve."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self.held = 0
        self._waiting: list[tuple[tuple[Any, ...], int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, fut in self._waiting if not fut.done())

    @contextlib.asynccontextmanager
    async def hold(self, priority: tuple[Any, ...]) -> AsyncIterator[None]:
        if self.held < self.limit:  # (then nobody waits: a leaving holder hands its slot to a waiter first)
            self.held += 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._arrivals), fut))
            try:
                await fut  # woken with the slot of the holder that left (``held`` unchanged)
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._release()  # given the slot as it was cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            *_, fut = heapq.heappop(self._waiting)
            if not fut.done():
                fut.set_result(None)
                return
        self.held -= 1


@dataclass
class WatchOptions:
    cluster: str
    channel: str | None = None
    identity: str = "kubewhy-watch"
    update_interval: float = 2.0  # seconds between in-place updates of one message (storms)
    thread_interval: float = 60.0  # seconds between thread replies about one incident's growth
    tick: float = 0.25
    refresh_interval: float = 3.0  # re-read open incidents and mutes (acks, resolves, mutes from Slack)
    diagnose_timeout: float = 20.0
    # seconds a first page waits for its diagnosis; past them it goes out saying so, and the cause is written
    # into it (and the whole report into its thread) when the diagnosis ends: at 150,000 pods a diagnosis during
    # the start-up LIST takes longer than the page may (issue 24: the first page within 10 s of start)
    page_wait: float = 5.0
    claim_stale_after: float = 30.0  # seconds after which a dead replica's unposted claim may be taken over
    drain_timeout: float = 4.0  # on stop: how long pages in flight may take to finish (within the 10 s budget)
    page_size: int = 500
    watch_timeout: int = 300
    save_timeout: float = 1.0  # on stop: how long saving the watch position may take
    concurrency: int = 8  # pages, updates and resolves in flight at once (a start-up storm waits its turn)
    change_kinds: tuple[str, ...] = ()  # the change log's kinds (kubewhy/changes/recorder.py); () records none
    change_key: bytes = b""  # the change log's HMAC key (kept outside the database)


class Watcher:
    """``app``: the process's application object (diagnoses, the audit log); ``source``: its watch stream."""

    def __init__(
        self,
        app: Kubewhy,
        source: WatchSource,
        ledger: Ledger,
        notifier: Notifier,
        rules: RuleSet,
        options: WatchOptions,
        *,
        elector: LeaseElector | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.app, self.source, self.ledger, self.notifier = app, source, ledger, notifier
        self.rules, self.options, self.elector, self.clock = rules, options, elector, clock
        self.candidates: dict[tuple[str, str], Candidate] = {}
        self.by_object: dict[str, set[tuple[str, str]]] = {}
        self._metric_items: dict[str, set[str]] = {}
        self.mutes: list[Mute] = []
        self.stats = {"pages": 0, "updates": 0, "replies": 0, "resolves": 0, "absorbed": 0, "adopted": 0, "errors": 0}
        self.nodes = Informer(
            source,
            "Node",
            project=self._node_projection(options),
            page_size=options.page_size,
            watch_timeout=options.watch_timeout,
        )
        self.pods = Informer(
            source, "Pod", project=self._project_pod, page_size=options.page_size, watch_timeout=options.watch_timeout
        )
        self.events: Informer | None = None
        self.changes = self._change_recorder(source, options)
        self.nodes.listeners.append(self._on_node)
        self.pods.listeners.append(self._on_pod)
        self._tasks: list[asyncio.Task[Any]] = []
        self._posted: dict[int, str] = {}  # incident id -> message posted but not yet saved in the ledger
        self._posting: set[int] = set()  # incidents being posted by this process (one candidate at a time)
        self._first_seen: dict[str, datetime] = {}  # undated occurrences: first seen (kept in the ledger)
        self._work = PriorityGate(options.concurrency)
        self._opening: set[str] = set()  # incidents (fingerprint tails) a candidate is opening: one per workload
        self._early = False  # nodes synced, pods not yet: new incidents page; nothing updates or resolves
        self._open_now: dict[str, LedgerIncident] = {}  # the ledger's open incidents at the last refresh
        self._refreshed = 0.0
        self._was_leading = False
        self._reaudit = False  # on taking the lead: record the open incidents' pages again (idempotent)
        self.ready = asyncio.Event()  # caches synced and the ledger read: pages from now on are real

    def _node_projection(self, options: WatchOptions) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """The node informer's projection: the rules' fields, and the change log's beside them when it records
        Nodes (it shares this informer rather than LIST and WATCH Nodes again)."""
        if "Node" not in options.change_kinds or self.app.audit is None:
            return project_node
        from ..changes.recorder import projection, with_changes

        return with_changes(project_node, projection("Node", options.change_key))

    def _project_pod(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The pod informer's projection. While its first LIST pages in (150,000 pods are 300 pages), a pod with a
        problem is also handed to the candidates as its page arrives: the informer emits its changes only once the
        LIST is whole, and a page at start-up must not wait for the last of 300 (the changes it emits then find
        the candidates there already: the same signals, counted once)."""
        projected = project_pod(obj)
        if not self.pods.synced.is_set():
            signals = pod_signals(projected, self.rules, self.clock())
            if signals:
                meta = obj.get("metadata") or {}
                self._reconsider(f"pod/{meta.get('namespace') or ''}/{meta.get('name') or ''}", signals)
        return projected

    def _change_recorder(self, source: WatchSource, options: WatchOptions) -> ChangeRecorder | None:
        """The change log's informers (issue 29), one per kind, when the audit database is there to keep it."""
        if not options.change_kinds or self.app.audit is None:
            return None
        from ..audit.changelog import ChangeLog
        from ..changes.recorder import ChangeRecorder, projection

        audit = self.app.audit
        recorder = ChangeRecorder(
            ChangeLog(audit.engine, audit.url), options.change_key, clock=self.clock, recording=self.leading
        )
        for kind in options.change_kinds:
            if kind == "Node":
                recorder.share(self.nodes)  # the watchers' own node informer (see _node_projection)
                continue
            recorder.attach(
                Informer(
                    source,
                    kind,
                    project=projection(kind, options.change_key),
                    page_size=options.page_size,
                    watch_timeout=max(options.watch_timeout, CHANGE_WATCH_TIMEOUT),
                )
            )
        return recorder

    def requests(self) -> dict[str, int]:
        """LIST and WATCH requests so far: the watchers' own, and the change log's on their own line (issue 24)."""
        own = [self.nodes, self.pods, *([self.events] if self.events is not None else [])]
        changes = self.changes.informers if self.changes is not None else []
        return {
            "watchers": sum(i.stats.lists + i.stats.watches for i in own),
            "changes": sum(i.stats.lists + i.stats.watches for i in changes),
        }

    # ---- feeding candidates -------------------------------------------------------------------------------
    def _on_node(self, change: Change) -> None:
        item = f"node/{change.key[1]}"
        self._reconsider(item, node_signals(change.new, self.rules) if change.new is not None else [])

    def _on_pod(self, change: Change) -> None:
        item = f"pod/{change.key[0]}/{change.key[1]}"
        signals = pod_signals(change.new, self.rules, self.clock()) if change.new is not None else []
        self._reconsider(item, signals)

    def _on_event(self, change: Change) -> None:
        """An eviction event counts even when its pod is gone (a drain, the taint manager)."""
        ev = change.new
        if ev is None or change.type == "DELETED":
            return
        involved = ev.get("involvedObject") or {}
        if ev.get("reason") not in ("Evicted", "TaintManagerEviction") or involved.get("kind") != "Pod":
            return
        ns, name = involved.get("namespace", ""), involved.get("name", "")
        pod = self.pods.items.get((ns, name))
        if (pod or {}).get("disruption") == PLANNED:
            return  # evicted through the Eviction API (a drain): planned, not an incident
        node = (pod or {}).get("node") or (ev.get("source") or {}).get("host") or "?"
        why = eviction_resource(ev.get("message") or "")  # as from the pod's status: one key, one incident
        for rule in self.rules.by_detector("pod-evicted"):
            at = parse_time(ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp"))
            signal = Signal(
                rule,
                f"node/{node}:evicted-{why}",
                "Pod",
                ns,
                name,
                f"pod/{ns}/{name}",
                f"pod/{ns}/{name}",
                at,
                ns,
                (pod or {}).get("labels") or {},
                node,
                f"pods evicted from node {node} ({why})",
            )
            self._occur(signal, with_item=False)

    def metric_results(self, rule: Rule, present: dict[str, Signal]) -> None:
        """A metric rule's evaluation: these items are over the threshold now; the others of that rule are not."""
        before = self._metric_items.setdefault(rule.id, set())
        for item in before - set(present):
            self._reconsider(item, [])
        for item, signal in present.items():
            self._reconsider(item, [signal])
        self._metric_items[rule.id] = set(present)

    def _reconsider(self, item: str, signals: list[Signal]) -> None:
        now = self.clock()
        keys = set()
        for s in signals:
            keys.add((s.rule.id, s.subject))
            self._occur(s, with_item=True, now=now)
        for ck in self.by_object.get(item, set()) - keys:
            cand = self.candidates.get(ck)
            if cand is not None and cand.items.pop(item, None) is not None and not cand.items:
                cand.absent_since = now
        if keys:
            self.by_object[item] = keys
        else:
            self.by_object.pop(item, None)

    def _occur(self, s: Signal, *, with_item: bool, now: datetime | None = None) -> None:
        now = now or self.clock()
        ck = (s.rule.id, s.subject)
        cand = self.candidates.get(ck)
        if cand is None:
            cand = self.candidates[ck] = Candidate(
                s.rule, s.subject, since=min(s.since or now, now), last_seen=now, sample=s
            )
        if with_item:
            cand.items[s.item] = s
            cand.absent_since = None
        cand.last_seen = now
        at = s.since
        if at is None and s.rule.detect in EPISODIC:  # no time of its own: when it was first seen, kept in the ledger
            at = self._first_seen.get(s.occurrence)
            if at is None:
                at = self._first_seen[s.occurrence] = now
                cand.undated[s.occurrence] = now.isoformat()
        cand.occurred(s.occurrence, min(at or now, now))

    # ---- running -----------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run the informers and the tick until cancelled."""
        streams = [self.nodes, self.pods]
        await self._remember()
        try:
            resume = await self.ledger.cursor(self.options.cluster, "events")
        except KubewhyError as exc:
            log.warning("cannot read the saved watch position (%s): events from now on", exc)
            resume = None
        self.events = Informer(
            self.source, "Event", cache=False, resume_from=resume, watch_timeout=self.options.watch_timeout
        )
        self.events.listeners.append(self._on_event)
        streams.append(self.events)
        streams += self.changes.informers if self.changes is not None else []
        self._tasks = [asyncio.create_task(s.run(), name=f"informer-{s.kind}") for s in streams]
        try:
            # Nodes first: a few pages, where the pods of a big cluster are hundreds (150,000 pods: 300 pages of
            # 500, and tens of seconds of decoding). Pages of new incidents go out as soon as the nodes are known:
            # a node's at once, a workload's as the page with its pod arrives (_project_pod); nothing updates,
            # resolves or is taken from the ledger as cleared before the pods are all known.
            await self.nodes.synced.wait()
            self._early = True
            while not self.pods.synced.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.pods.synced.wait()), self.options.tick)
            for item in [i for i in self.by_object if i.startswith("pod/")]:  # seen on a page, gone by the end
                ns, _, name = item[4:].partition("/")
                if (ns, name) not in self.pods.items:
                    self._reconsider(item, [])
            self._early = False
            self._refreshed = 0.0  # every candidate is known now: match them all with the ledger at once
            self.ready.set()
            while True:
                await self.tick()
                await asyncio.sleep(self.options.tick)
        finally:
            informers, work = self._tasks[: len(streams)], self._tasks[len(streams) :]
            for task in informers:
                task.cancel()
            if work:  # a page half-sent must finish, or its message would be orphaned from the ledger
                await asyncio.wait(work, timeout=self.options.drain_timeout)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            # a locked or unreachable database must not hold the shutdown: give the save a moment, and leave it
            # (not waiting for its cancellation, which a blocked driver notices late)
            await asyncio.wait(
                {asyncio.create_task(self.save_cursors()), asyncio.create_task(self.flush_changes())},
                timeout=self.options.save_timeout,
            )

    async def _remember(self) -> None:
        """Before the first LIST: when the undated occurrences of recent incidents were first seen, so that a
        restart does not take an old eviction without timestamps for a new one (and re-page a resolved incident)."""
        since = self.clock() - MEMORY
        try:
            incidents = await self.ledger.recent(self.options.cluster, since)
        except KubewhyError as exc:
            log.warning("cannot read the incident ledger's memory (%s): undated events count as new", exc)
            return
        for incident in incidents:
            for occurrence, at in (incident.details.get("undated") or {}).items():
                seen = parse_time(at)
                if seen is not None:
                    self._first_seen[occurrence] = min(seen, self._first_seen.get(occurrence, seen))

    async def save_cursors(self) -> None:
        if self.events is not None and self.events.resource_version:
            try:
                await self.ledger.save_cursors(self.options.cluster, [("events", self.events.resource_version)])
            except KubewhyError as exc:
                log.warning("cannot save the watch position: %s", exc)

    async def flush_changes(self) -> None:
        """Write the change log's queued rows (batched; a failed write keeps them for the next tick)."""
        if self.changes is not None and self.changes.pending:
            await self.changes.flush()

    def leading(self) -> bool:
        return self.elector is None or self.elector.is_leader

    async def tick(self) -> None:
        leading = self.leading()
        if leading and not self._was_leading:
            log.info("%s leads: reading the ledger", self.options.identity)
            self._refreshed = 0.0
            self._reaudit = True
        self._was_leading = leading
        if not leading:
            return
        await self.flush_changes()
        try:
            await self._refresh(force=self._refreshed == 0.0)
        except KubewhyError as exc:  # the database is away: act on nothing until the ledger answers again
            self._refreshed = 0.0
            log.warning("cannot read the incident ledger: %s (retrying)", exc)
            return
        now = self.clock()
        mono = time.monotonic()
        prefix = f"{self.options.cluster}|"
        # the free slots go to the most urgent first (a storm spawns more than there are slots, and the gate only
        # orders those that wait): critical before warning, then the oldest condition
        for ck, cand in sorted(self.candidates.items(), key=_urgency):
            if cand.busy or mono < cand.retry_at:
                continue
            if self._early and (not cand.active(now) or (cand.incident and cand.incident.message_ts)):
                continue  # the pods still listing: pages of new incidents only
            if cand.active(now) and not cand.suppressed:
                if cand.incident is None and (known := self._open_now.get(prefix + cand.fingerprint_tail)):
                    # open in the ledger already (a restart; a pod seen since the last refresh): matched here, as
                    # the next refresh would, not opened again (at start-up, hundreds of ledger round trips
                    # queued before the first new page)
                    cand.incident, cand.count = known, max(cand.count, known.count)
                    if self._early or (known.message_ts and cand.rule.id in _rules_of(known)):
                        continue
                if cand.incident is None:
                    if (
                        now - cand.since >= cand.rule.grace
                        and not self._muted(cand.subject)
                        and not silenced(self.app, cand.rule, cand.subject, cand.sample)  # Alertmanager's
                    ):
                        self._spawn_open(cand)
                elif cand.incident.message_ts is None or cand.rule.id not in _rules_of(cand.incident):
                    self._spawn_open(cand)  # to post it, or to join another rule's incident
                elif cand.dirty and cand.count <= cand.incident.count:
                    cand.dirty = False  # nothing new (a re-LIST, a restart): no message to change
                elif cand.dirty and mono >= cand.next_update:
                    self._spawn(cand, self._update(cand), UPDATE)
                elif (
                    cand.incident.state == "open"
                    and cand.rule.reminder > timedelta(0)
                    and cand.incident.notified_at is not None
                    and now - cand.incident.notified_at >= cand.rule.reminder
                ):
                    self._spawn(cand, self._remind(cand), UPDATE)
            elif not cand.active(now):
                if cand.items and cand.rule.detect not in EPISODIC:
                    continue
                cleared_at = cand.absent_since or (cand.last_occurrence if cand.rule.detect in EPISODIC else now)
                if (
                    cand.incident is not None
                    and cleared_at is not None
                    and cand.rule.detect not in EPISODIC
                    and now - cleared_at < cand.rule.resolve_after
                ):
                    continue
                if cand.incident is not None and not self._shared(cand, now):
                    self._spawn(cand, self._resolve(cand), RESOLVE)
                else:  # nothing paged, or another rule on the subject still holds its incident open
                    del self.candidates[ck]

    def _spawn_open(self, cand: Candidate) -> None:
        """Page (or join) ``cand``'s incident, unless another rule's candidate of the same subject is at it: one
        incident per workload, one diagnosis, one slot (the other joins once it is posted)."""
        tail = cand.fingerprint_tail
        if tail in self._opening:
            return
        self._opening.add(tail)
        joining = cand.incident is not None and cand.incident.message_ts is not None
        self._spawn(cand, self._open(cand), JOIN if joining else OPEN, opening=tail)

    def _spawn(self, cand: Candidate, work: Any, kind: int, *, opening: str | None = None) -> None:
        cand.busy = True
        since = cand.since.timestamp() if cand.since is not None else 0.0
        priority = (kind, SEVERITY_RANK.get(cand.rule.severity, len(SEVERITY_RANK)), since)

        async def guarded() -> None:
            try:
                async with self._work.hold(priority):
                    await work
            except Exception as exc:  # noqa: BLE001 - a failed page is retried, never lost
                self.stats["errors"] += 1
                cand.retry_at = time.monotonic() + 2.0
                log.warning("%s %s: %s (retrying)", cand.rule.id, cand.subject, exc)
            finally:
                cand.busy = False
                if opening is not None:
                    self._opening.discard(opening)
                if inspect.iscoroutine(work) and inspect.getcoroutinestate(work) == inspect.CORO_CREATED:
                    work.close()  # cancelled while waiting for its turn: never started

        task = asyncio.create_task(guarded())
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    # ---- the ledger's view -------------------------------------------------------------------------------
    async def _refresh(self, *, force: bool = False) -> None:
        """Match candidates with the ledger's open incidents and read the mutes (people change both from Slack)."""
        mono = time.monotonic()
        if not force and mono - self._refreshed < self.options.refresh_interval:
            return
        self._refreshed = mono
        open_now = {i.fingerprint: i for i in await self.ledger.open_incidents(self.options.cluster)}
        self._open_now = open_now
        self.mutes = await self.ledger.mutes()
        if self._reaudit:  # a leader killed after saving a page may not have written its audit row: write them
            self._reaudit = False  # again, under the key the poster used (a row written already stays one)
            for incident in open_now.values():
                if incident.message_ts is not None:
                    self._record_page(incident, incident.message_ts)
        now = self.clock()
        prefix = f"{self.options.cluster}|"
        by_tail: dict[str, list[Candidate]] = {}  # (thousands of candidates and open incidents at 150,000 pods)
        for c in self.candidates.values():
            by_tail.setdefault(c.fingerprint_tail, []).append(c)
        rules = {r.id: r for r in self.rules.rules}
        for fp, incident in open_now.items():
            tail = fp[len(prefix) :]
            sharing = by_tail.get(tail, [])
            rule = rules.get(incident.rule)
            if not sharing and rule is not None and not self._early:  # open, not seen now: it cleared meanwhile
                sharing = [
                    Candidate(
                        rule,
                        incident.subject,
                        since=incident.first_seen,
                        last_seen=incident.last_seen,
                        absent_since=now,
                        last_occurrence=incident.last_seen,
                        count=incident.count,
                    )
                ]
                self.candidates[(rule.id, incident.subject)] = sharing[0]
            for cand in sharing:
                if not cand.busy:
                    cand.incident = incident
                    cand.count = max(cand.count, incident.count)
        for cand in self.candidates.values():
            fp = prefix + cand.fingerprint_tail
            if cand.incident is not None and fp not in open_now and not cand.busy:
                cand.incident = None  # resolved elsewhere (a person, another replica)
                cand.suppressed = cand.active(now)

    def _shared(self, cand: Candidate, now: datetime) -> bool:
        """Another rule's candidate, still active, holds the same incident."""
        return any(
            other is not cand and other.fingerprint_tail == cand.fingerprint_tail and other.active(now)
            for other in self.candidates.values()
        )

    def _muted(self, subject: str) -> bool:
        now = self.clock()
        for m in self.mutes:
            if m.until <= now:
                continue
            t = m.target
            if subject == t or subject.startswith(t + ":"):
                return True
            parts = subject.split("/")
            if t.startswith("ns/") and len(parts) == 3 and parts[1] == t[3:]:
                return True
        return False

    # ---- acting ------------------------------------------------------------------------------------------
    def _absorber(self, cand: Candidate) -> Candidate | None:
        if cand.rule.detect in NODE_DETECTORS:
            return None
        nodes = {s.node for s in cand.items.values()} or ({cand.sample.node} if cand.sample else set())
        if not nodes or None in nodes:
            return None
        for other in self.candidates.values():
            if (
                other.rule.detect == "node-not-ready"
                and other.incident is not None
                and other.incident.message_ts is not None
                and other.subject in {f"node/{n}" for n in nodes}
            ):
                return other
        return None

    async def _open(self, cand: Candidate) -> None:
        absorber = self._absorber(cand)
        if absorber is not None and absorber.incident is not None:
            if cand.absorbed_into is not absorber:
                cand.absorbed_into = absorber
                self.stats["absorbed"] += 1
                grown = await self.ledger.absorb(absorber.incident.id)
                if grown is not None and grown.message_ts is not None:
                    absorber.incident = grown
                    await self.notifier.update(Page("update", grown, _page_text(grown, absorber)), grown.message_ts)
                    self.app.record(
                        "page_grouped",
                        actor=ACTOR,
                        source="watcher",
                        channel=grown.channel,
                        target=grown.target(),
                        incident=grown.ref,
                        details={"summary": f"{cand.rule.id} on {cand.subject} grouped here"},
                    )
            return
        s = cand.sample
        assert s is not None or cand.incident is not None
        rule = cand.rule
        now = self.clock()
        if cand.incident is None:
            assert s is not None
            channel = rule.channel_for(s.namespace, s.labels, self.options.channel)
            incident, _ = await self.ledger.open_incident(
                cluster=self.options.cluster,
                rule=rule.id,
                subject=cand.subject,
                severity=rule.severity,
                title=s.summary,
                channel=channel,
                count=max(cand.count, 1),
                at=now,
                details={
                    "target": [s.target_kind, s.target_namespace, s.target_name],
                    "rules": [rule.id],
                    **({"undated": dict(cand.undated)} if cand.undated else {}),
                },
                key=rule.family,
            )
            cand.incident = incident
        incident = cand.incident
        if incident.message_ts is not None:
            if rule.id not in _rules_of(incident):
                await self._join(cand, incident)
            else:
                cand.dirty = True
            return
        if rule.holds(now):
            return  # quiet hours: recorded, paged when they end
        if incident.id in self._posting:
            return  # another rule's candidate of this process is posting it: this one joins once it is posted
        self._posting.add(incident.id)
        try:
            await self._post(cand, incident, now)
        finally:
            self._posting.discard(incident.id)

    async def _post(self, cand: Candidate, incident: LedgerIncident, now: datetime) -> None:
        rule = cand.rule
        claim = await self.ledger.claim_post(
            incident.id, self.options.identity, stale_after=timedelta(seconds=self.options.claim_stale_after)
        )
        if claim is None:
            return  # another replica is posting it, or it is posted
        posted = self._posted.get(incident.id)  # posted by this process, its save failed: save it now
        if posted is None and claim == "retry":
            # an earlier attempt (ours, whose answer was lost; or a replica that died) may have reached the
            # channel: look for the message by the ref it carries before posting again
            posted = await self.notifier.find(incident)
            if posted is not None:
                self.stats["adopted"] += 1
                self._record_page(incident, posted)  # the audit log has every message that went out
                self._posted[incident.id] = posted
        if posted is not None:
            cand.incident = await self.ledger.change(incident.id, message_ts=posted, notified_at=now) or incident
            self._posted.pop(incident.id, None)
            cand.dirty = True  # its count may have grown meanwhile: the next tick updates it in place
            return
        self.app.open_incident(
            incident.ref,
            incident.title,
            actor=ACTOR,
            source="watcher",
            summary=f"{rule.id} on {cand.subject}",
        )
        diagnosis = asyncio.ensure_future(self._diagnose(incident))
        try:
            report = await asyncio.wait_for(asyncio.shield(diagnosis), self.options.page_wait)
        except TimeoutError:
            report = None
        except asyncio.CancelledError:
            diagnosis.cancel()
            raise
        pending = report is None and not diagnosis.done()
        try:
            await self._post_page(cand, incident, now, report, diagnosis if pending else None)
        finally:
            if not diagnosis.done():  # stopped while posting: the diagnosis is not awaited any more
                diagnosis.cancel()

    async def _post_page(
        self,
        cand: Candidate,
        incident: LedgerIncident,
        now: datetime,
        report: Report | None,
        pending: asyncio.Future[Report | None] | None,
    ) -> None:
        """Post the page (with its diagnosis, or saying it follows), save it, then the diagnosis in its thread."""
        page = Page("page", incident, _page_text(incident, cand), report, pending=pending is not None)
        ts = await self.notifier.post(page)
        self._posted[incident.id] = ts  # kept until saved: a failed save is retried, never posted again
        self.stats["pages"] += 1
        self._record_page(incident, ts)  # before the save: a save committed but unacknowledged is not retried
        details = {**incident.details, "cause": cause_of(report)}
        updated = await self.ledger.change(incident.id, message_ts=ts, notified_at=now, details=details)
        self._posted.pop(incident.id, None)
        cand.incident = updated or incident
        cand.dirty = False
        cand.next_update = cand.thread_at = time.monotonic() + self.options.update_interval
        if pending is not None:  # the diagnosis came late: its cause into the message, then as below
            report = await pending
            if report is None:
                return
            details = {**details, "cause": cause_of(report)}
            late = await self.ledger.change(incident.id, details=details)
            if late is not None:
                cand.incident = late
            current = cand.incident or incident
            await self.notifier.update(Page("update", current, _page_text(current, cand)), ts)
            page = Page("page", incident, page.text, report)
        if report is not None:  # the whole diagnosis (evidence, fix buttons) in the thread, once the ts is saved
            await self.notifier.reply(page, ts)

    async def _join(self, cand: Candidate, incident: LedgerIncident) -> None:
        """Another rule on the subject of an open incident (the OOM kills of a workload already paged for its
        crash loop): the same incident, its message updated and the new cause said in its thread."""
        s = cand.sample
        details = dict(incident.details)
        details["rules"] = [*_rules_of(incident), cand.rule.id]
        details["history"] = [*(details.get("history") or []), {"rule": cand.rule.id, "summary": s and s.summary}]
        joined = await self.ledger.change(
            incident.id, details=details, count=incident.count + max(cand.count, 1), last_seen=cand.last_seen
        )
        incident = cand.incident = joined or incident
        text = f"Also {cand.rule.id}: {s.summary if s else cand.subject}"
        await self.notifier.update(Page("update", incident, _page_text(incident, cand)), incident.message_ts or "")
        await self.notifier.reply(Page("update", incident, text), incident.message_ts or "")
        self.stats["updates"] += 1
        self.app.record(
            "page_update",
            actor=ACTOR,
            source="watcher",
            channel=incident.channel,
            target=incident.target(),
            incident=incident.ref,
            details={"count": incident.count, "summary": text},
        )

    def _record_page(self, incident: LedgerIncident, message_ts: str) -> None:
        self.app.page(
            rule=incident.rule,
            fingerprint=incident.fingerprint,
            target=incident.target(),
            channel=incident.channel,
            message_ts=message_ts,
            summary=incident.title,
            incident=incident.ref,
            key=page_key(incident, message_ts),
        )

    async def _diagnose(self, incident: LedgerIncident) -> Report | None:
        """The page's diagnosis, or None when there is none in time (the page goes out without it)."""
        target = incident.target()
        if target is None:
            return None
        fallback = None
        if target.kind == "Pod" and incident.subject.startswith("node/"):  # an evicted pod may be gone: its node
            fallback = Target("Node", incident.subject.split("/", 1)[1].split(":", 1)[0], None)
        try:
            return await self.app.diagnose(
                target,
                actor=ACTOR,
                source="watcher",
                channel=incident.channel,
                incident=incident.ref,
                timeout=self.options.diagnose_timeout,
                fallback=fallback,
                severity=incident.severity,  # the most severe first among the waiting background diagnoses
            )
        except (KubewhyError, TimeoutError) as exc:
            log.info("diagnosis of %s for %s failed: %s", target, incident.ref, exc)
            return None

    async def _update(self, cand: Candidate) -> None:
        incident = cand.incident
        assert incident is not None and incident.message_ts is not None
        cand.dirty = False
        cand.next_update = time.monotonic() + self.options.update_interval
        values: dict[str, Any] = {"count": max(cand.count, incident.count), "last_seen": cand.last_seen}
        if cand.undated:
            undated = {**(incident.details.get("undated") or {}), **cand.undated}
            values["details"] = {**incident.details, "undated": dict(list(undated.items())[-MEMORY_ITEMS:])}
        changed = await self.ledger.change(incident.id, **values)
        incident = cand.incident = changed or incident
        await self.notifier.update(Page("update", incident, _page_text(incident, cand)), incident.message_ts or "")
        self.stats["updates"] += 1
        self.app.record(
            "page_update",
            actor=ACTOR,
            source="watcher",
            channel=incident.channel,
            target=incident.target(),
            incident=incident.ref,
            details={"count": incident.count, "summary": f"count {incident.count}"},
        )
        mono = time.monotonic()
        if mono - cand.thread_at >= self.options.thread_interval:
            cand.thread_at = mono
            await self.notifier.reply(
                Page(
                    "update",
                    incident,
                    f"Still happening: {incident.count} so far, last at {incident.last_seen:%H:%M:%S} UTC.",
                ),
                incident.message_ts or "",
            )
            self.stats["replies"] += 1

    async def _remind(self, cand: Candidate) -> None:
        incident = cand.incident
        assert incident is not None
        now = self.clock()
        cand.incident = await self.ledger.change(incident.id, notified_at=now) or incident
        await self.notifier.reply(
            Page(
                "reminder",
                cand.incident,
                f"Reminder: still open since {incident.first_seen:%Y-%m-%d %H:%M} UTC and nobody acknowledged it.",
            ),
            incident.message_ts or "",
        )
        self.stats["replies"] += 1
        self.app.record(
            "page_reminder",
            actor=ACTOR,
            source="watcher",
            channel=incident.channel,
            target=incident.target(),
            incident=incident.ref,
        )

    async def _resolve(self, cand: Candidate) -> None:
        incident = cand.incident
        assert incident is not None
        now = self.clock()
        done = await self.ledger.resolve(incident.id, ACTOR, at=now)
        del self.candidates[(cand.rule.id, cand.subject)]
        if done is None:
            return  # someone resolved it already
        text = f"Resolved: the condition cleared ({cand.rule.id} on {cand.subject})."
        await announce_resolved(
            self.notifier, self.app, done, text, rule=cand.rule.id, summary="condition cleared", actor=ACTOR
        )
        self.stats["resolves"] += 1


def _urgency(entry: tuple[tuple[str, str], Candidate]) -> tuple[int, float]:
    cand = entry[1]
    return SEVERITY_RANK.get(cand.rule.severity, len(SEVERITY_RANK)), cand.since.timestamp()


def page_key(incident: LedgerIncident, message_ts: str) -> uuid.UUID:
    """The audit record of an incident's page: one key per message, whoever records it (the replica that posted
    it, one that adopted it, a new leader writing again what a killed one may not have written)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kubewhy:page:{incident.fingerprint}:{incident.ref}:{message_ts}")


def _rules_of(incident: LedgerIncident) -> list[str]:
    """The rules whose signals are in this incident (the first one, and those that joined it)."""
    return list(incident.details.get("rules") or [incident.rule])


def _page_text(incident: LedgerIncident, cand: Candidate) -> str:
    text = incident.title
    if cand.rule.detect in EPISODIC or cand.count > 1:
        text += f" — {max(cand.count, incident.count)} so far"
    return text


__all__ = ["ACTOR", "Candidate", "WatchOptions", "Watcher"]
