"""The kubelet sampler: the metric rules (CPU throttling, memory near the limit, a volume filling up) without
Prometheus, from the kubelets' own figures read through the API server's node proxy, on a schedule.

- **Which nodes**: only those running a pod with a CPU or memory limit (``/metrics/cadvisor``, parsed as it
  streams, three families kept: :mod:`kubewhy.adapters.kubelet_stream`) or a mounted claim (``/stats/summary``),
  read from the watchers' pod cache, as far as the rules need them.
- **A bounded rate**: at most ``rate`` requests a second, spread evenly over the interval (a job every ``step``
  seconds takes its share of the round). When the round cannot visit every node within ``interval`` at that rate,
  the interval stretches to what the rate allows; the page and ``kubewhy_sampler_stretch`` say by how much.
- **Rates from consecutive samples**, nothing sleeps: throttled periods / periods between two readings of a
  node. A counter that went back, a new container instance (cAdvisor's cgroup id) or a restart count that moved
  is a restart: that reading gives no rate (never a false one) and the rule's ``for`` starts again.
- **The same rule semantics as Prometheus**: a condition must hold from its first reading over the threshold for
  the rule's ``for`` (a rate's window counts from its first sample), evaluated every ``every``, fed to the
  watcher as the Prometheus path does (:meth:`Watcher.metric_results`: routes, grouping, grace, resolve). A
  reading that makes a condition start or stop holding is fed at once too: evaluating the readings costs no
  query, so nothing waits for the next ``every`` (a page comes within ``for`` plus one sampling interval).
- **Failure modes**: a node whose proxy is refused (403), absent (404), unavailable (503) or slower than
  ``timeout`` is skipped and counted; the others go on.
- **Leader only**; the latest sample per container and volume is kept in the audit database
  (:mod:`kubewhy.audit.samples`), and every replica's diagnoses take their rates from it
  (:class:`StoredSamples`), so ``/k8s why`` and the pages share the sampler's evidence.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import telemetry
from ..adapters.kubelet import CADVISOR, SUMMARY, KubeletStats, MemorySamples, RecentSamples, Sample
from ..adapters.kubelet_stream import PERIODS, THROTTLED, Counters, VolumeFigures, read_cadvisor, read_volumes
from ..errors import ClusterUnreachable, KubeApiError, KubewhyError
from .detect import Signal, container_signal, memory_limit_bytes, volume_signal
from .rules import METRIC_DETECTORS, Rule

if TYPE_CHECKING:
    from ..adapters.ports import NodeProxy
    from ..audit.samples import SampleStore
    from ..settings import Settings
    from .engine import Watcher

log = logging.getLogger("kubewhy.watch.sampler")
TREND = 1800.0  # seconds of volume history for the "full within the window" trend (Prometheus: predict_linear[30m])
Key = tuple[str, str, str]


@dataclass(slots=True)
class Reading:
    at: float
    node: str
    counters: Counters
    restarts: int | None


@dataclass(slots=True)
class ContainerState:
    last: Reading
    ratio: float | None = None  # throttled periods / periods between the last two readings
    window: float = 0.0  # seconds between them
    since: dict[str, float] = field(default_factory=dict)  # rule id -> since when its condition holds


@dataclass(slots=True)
class VolumeState:
    at: float
    node: str
    figures: VolumeFigures
    history: deque[tuple[float, float]] = field(default_factory=deque)  # (at, available), the last TREND seconds
    since: dict[str, float] = field(default_factory=dict)

    def full_within(self, window: float) -> bool:
        """Free bytes reach 0 within ``window`` seconds at the trend of the kept history."""
        if len(self.history) < 2:
            return False
        (t0, a0), (t1, a1) = self.history[0], self.history[-1]
        if t1 <= t0 or a1 >= a0:
            return False
        return a1 + (a1 - a0) / (t1 - t0) * window < 0  # PromQL: predict_linear(available[30m], window) < 0

    @property
    def share(self) -> float:
        """How full, as the Prometheus rule reads it: 1 - available / capacity."""
        return 1 - self.figures.available / self.figures.capacity if self.figures.capacity > 0 else 0.0


@dataclass
class SamplerStats:
    rounds: int = 0
    requests: int = 0  # node proxy requests sent
    ok: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # forbidden, absent, unavailable, timeout, unreachable, error
    resets: int = 0  # readings that gave no rate: a restarted container's counters
    nodes: int = 0  # nodes of the current round
    planned: int = 0  # requests of the current round
    stretch: float = 1.0  # the current round's length / interval (1.0: not stretched)
    store_errors: int = 0


class Sampler:
    """``proxy``: the node proxy; ``rules``: the metric rules it evaluates; ``clock``: epoch seconds (by default
    the watcher's clock, so a test's virtual time moves it)."""

    def __init__(
        self,
        watcher: Watcher,
        proxy: NodeProxy,
        rules: Sequence[Rule],
        *,
        interval: float = 30.0,
        rate: float = 10.0,
        timeout: float = 5.0,
        concurrency: int = 4,
        step: float = 1.0,
        store: SampleStore | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.watcher, self.proxy = watcher, proxy
        self.rules = [r for r in rules if r.detect in METRIC_DETECTORS]
        self.interval, self.rate, self.timeout, self.step = interval, rate, timeout, step
        self.store = store
        self.clock = clock or (lambda: watcher.clock().timestamp())
        self.stats = SamplerStats()
        self.containers: dict[Key, ContainerState] = {}
        self.volumes: dict[tuple[str, str], VolumeState] = {}
        # the keys last read on each node: a node's reading finds what left it without scanning every container of
        # the cluster (on the event loop, once per node read: 0.35 ms at 15,000 containers, times every node)
        self._containers_on: dict[str, set[Key]] = {}
        self._volumes_on: dict[str, set[tuple[str, str]]] = {}
        self._concurrency = max(1, concurrency)
        self._limit = asyncio.Semaphore(self._concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        # threads of its own: a hung kubelet must not hold the loop's default pool (every API call, the Lease)
        self._threads = DaemonThreads()
        self._writing = asyncio.Lock()  # one store transaction at a time
        self._queue: deque[tuple[str, str]] = deque()
        self._round_start: float | None = None
        self._round_length = interval
        self._took = 0.0  # how long the last round really took
        self._per_step = 0.0
        self._credit = 0.0
        self._changed: set[str] = set()  # rules whose held items changed with the readings since the last visit

    def _held(self, since: dict[str, float], at: float) -> set[str]:
        """The rules whose condition has held for their ``for`` at the reading of ``at``."""
        return {r.id for r in self.rules if r.id in since and at - since[r.id] >= r.for_.total_seconds()}

    def _detects(self, detect: str) -> list[Rule]:
        return [r for r in self.rules if r.detect == detect]

    # ---- what to read ------------------------------------------------------------------------------------------
    def plan(self) -> list[tuple[str, str]]:
        """(node, path) for each read of a round: cAdvisor where a pod has a limit a rule needs, the Summary API
        where a pod mounts a claim; a node's reads adjacent."""
        cpu, mem, pvc = (bool(self._detects(d)) for d in METRIC_DETECTORS)
        counters, volumes = set(), set()
        for pod in self.watcher.pods.items.values():
            node = pod.get("node")
            if not node or pod.get("phase") != "Running":
                continue
            containers = pod.get("containers") or []
            if (cpu and any(c.get("cpu_limit") for c in containers)) or (
                mem and any(c.get("memory_limit") for c in containers)
            ):
                counters.add(node)
            if pvc and pod.get("claims"):
                volumes.add(node)
        return sorted([(n, CADVISOR) for n in counters] + [(n, SUMMARY) for n in volumes])

    def _start_round(self, now: float) -> None:
        if self._round_start is not None:  # the round that ends: how long it really took
            took = max(now - self._round_start, self._round_length)
            self._took = took
            telemetry.observe("kubewhy_sampler_stretch", took / self.interval)
        plan = self.plan()
        self._queue = deque(plan)
        self._round_start = now
        self._round_length = max(self.interval, len(plan) / self.rate)
        self._per_step = len(plan) * self.step / self._round_length
        self._credit = 0.0
        stretch = self._round_length / self.interval
        if stretch > 1.0 and self.stats.stretch <= 1.0:
            log.warning(
                "the kubelet sampler needs %d requests per round: at %g requests/s it reads each node every %.0fs, "
                "not every %.0fs (x%.1f)",
                len(plan),
                self.rate,
                self._round_length,
                self.interval,
                stretch,
            )
        if self.store is not None and self.stats.rounds % 10 == 0:  # rows of nodes no longer read
            self._spawn(self._prune(now - 10 * self._round_length))
        self.stats.rounds += 1
        self.stats.nodes = len({n for n, _ in plan})
        self.stats.planned = len(plan)
        self.stats.stretch = stretch
        telemetry.count("kubewhy_sampler_rounds_total")

    def cadence(self) -> str:
        """How often each node is read, for a page: the interval, or how far the request budget (or slow kubelets:
        the last round's real length) stretched it."""
        slack = self._round_length * 1.25 + 2 * self.step  # a round ends on a tick: a late tick is not slowness
        every = self._took if self._took > slack else self._round_length
        if every > self.interval:
            why = f"to keep to {self.rate:g} requests/s" if self.stats.stretch > 1.0 else "by slow kubelets"
            return f"kubelets read every {every:.0f}s: the interval stretched x{every / self.interval:.1f} {why}"
        return f"kubelets read every {self.interval:.0f}s"

    # ---- the scheduled jobs ------------------------------------------------------------------------------------
    async def tick(self) -> None:
        """Every ``step`` seconds: this step's share of the round's reads (leader only)."""
        if not self.watcher.ready.is_set() or not self.watcher.leading():
            self._queue.clear()
            self._round_start = None
            return
        now = self.clock()
        if not self._queue and (self._round_start is None or now - self._round_start >= self._round_length):
            self._start_round(now)
        self._credit = min(self._credit + self._per_step, max(self.rate * self.step, 1.0))
        take = min(len(self._queue), math.floor(self._credit + 1e-9))
        if take <= 0:
            return
        if len(self._inflight) >= 2 * self._concurrency:  # slow nodes hold every slot: wait, keep the budget
            return
        self._credit -= take
        batch = [self._queue.popleft() for _ in range(take)]
        self._spawn(self.visit(batch))  # not awaited: a slow node holds its own slot, not the next tick

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _prune(self, before: float) -> None:
        assert self.store is not None
        try:
            async with self._writing:
                await self.store.prune(before)
        except KubewhyError as exc:
            self.stats.store_errors += 1
            log.warning("cannot prune the kubelet samples: %s", exc)

    async def settle(self) -> None:
        """Until the reads in flight are done."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def cancel(self) -> None:
        """Cancel the reads in flight (the scheduler stops: the process is stopping); the threads end with their
        reads (each bounded by the timeout)."""
        for task in list(self._inflight):
            task.cancel()

    async def evaluate(self, rule: Rule) -> int:
        """Every ``every``: what has been over the threshold for the rule's ``for``, fed to the watcher."""
        if not self.watcher.ready.is_set() or not self.watcher.leading():
            return 0
        present = self.present(rule)
        self.watcher.metric_results(rule, present)
        return len(present)

    # ---- reading nodes ---------------------------------------------------------------------------------------
    async def visit(self, batch: Sequence[tuple[str, str]]) -> None:
        """Read these (node, path), at most ``concurrency`` at once; each node's figures update the states, and
        the readings go to the store in one transaction."""
        results = await asyncio.gather(*(self._read(node, path) for node, path in batch))
        readings: list[tuple[str, str, list[dict[str, Any]]]] = []
        for (node, path), (at, figures) in zip(batch, results, strict=True):
            if figures is None:
                continue
            if path == CADVISOR:
                readings.append((node, "container", self._on_counters(node, at, figures)))
            else:
                readings.append((node, "volume", self._on_volumes(node, at, figures)))
        changed, self._changed = self._changed, set()
        for rule in self.rules:  # a condition that starts or stops holding is fed at once, not at the next `every`
            if rule.id in changed:
                await self.evaluate(rule)
        if self.store is not None and readings:
            try:
                async with self._writing:
                    await self.store.replace(readings)
            except KubewhyError as exc:
                self.stats.store_errors += 1
                log.warning("cannot keep the kubelet samples: %s", exc)

    async def _read(self, node: str, path: str) -> tuple[float, Any]:
        async with self._limit:
            self.stats.requests += 1
            at = self.clock()
            try:
                read: Awaitable[Any]
                if path == CADVISOR:
                    read = read_cadvisor(self.proxy, node, self.timeout, self._threads)
                else:
                    read = read_volumes(self.proxy, node, self.timeout, self._threads)
                figures: Any = await asyncio.wait_for(read, self.timeout)
            except (TimeoutError, KubewhyError) as exc:
                outcome = _outcome(exc)
                self.stats.skipped[outcome] = self.stats.skipped.get(outcome, 0) + 1
                telemetry.count("kubewhy_sampler_requests_total", outcome=outcome)
                log.info("kubelet sampler: node %s /%s skipped (%s): %s", node, path, outcome, exc or "timed out")
                return at, None
            self.stats.ok += 1
            telemetry.count("kubewhy_sampler_requests_total", outcome="ok")
            return at, figures

    def _on_counters(self, node: str, at: float, parsed: dict[Key, Counters]) -> list[dict[str, Any]]:
        pods = self.watcher.pods.items
        cpu_rules, mem_rules = self._detects("cpu-throttling"), self._detects("memory-near-limit")
        rows = []
        here = self._containers_on.setdefault(node, set())
        for key, counters in parsed.items():
            pod = pods.get((key[0], key[1]))
            spec = next((c for c in (pod or {}).get("containers") or [] if c.get("name") == key[2]), None)
            reading = Reading(at, node, counters, spec.get("restarts") if spec else None)
            state = self.containers.get(key)
            was = self._held(state.since, state.last.at) if state is not None else set()
            start, before = at, None  # before: the same container's previous reading, kept beside this one
            if state is None:
                state = self.containers[key] = ContainerState(reading)
            else:
                if state.last.node != node:  # the same pod name on another node (a StatefulSet's, rescheduled)
                    self._containers_on.get(state.last.node, set()).discard(key)
                prev, state.last = state.last, reading
                state.ratio = None
                if _restarted(prev, reading):
                    self.stats.resets += 1
                    for rule in cpu_rules:
                        state.since.pop(rule.id, None)
                else:
                    before = prev
                    p0, p1 = prev.counters.periods, counters.periods
                    t0, t1 = prev.counters.throttled, counters.throttled
                    if p0 is not None and p1 is not None and t0 is not None and t1 is not None and p1 > p0:
                        state.ratio = min(max((t1 - t0) / (p1 - p0), 0.0), 1.0)
                        state.window, start = at - prev.at, prev.at
            for rule in cpu_rules:
                if state.ratio is not None and state.ratio >= rule.threshold:
                    state.since.setdefault(rule.id, start)
                else:
                    state.since.pop(rule.id, None)
            limit = memory_limit_bytes(spec.get("memory_limit")) if spec else None
            for rule in mem_rules:
                ws = counters.working_set
                if limit and ws is not None and ws / limit >= rule.threshold:
                    state.since.setdefault(rule.id, at)
                else:
                    state.since.pop(rule.id, None)
            self._changed |= was ^ self._held(state.since, at)
            rows.append(
                {
                    "namespace": key[0],
                    "name": key[1],
                    "container": key[2],
                    "at": at,
                    "periods": counters.periods,
                    "throttled": counters.throttled,
                    "working_set": counters.working_set,
                    "instance": counters.instance,
                    "prev_at": before.at if before is not None else None,
                    "prev_periods": before.counters.periods if before is not None else None,
                    "prev_throttled": before.counters.throttled if before is not None else None,
                }
            )
        for key in [k for k in here if k not in parsed]:
            gone = self.containers.get(key)
            if gone is not None and gone.last.node == node:
                self._changed |= self._held(gone.since, gone.last.at)
                del self.containers[key]  # gone from the node
        here.clear()
        here.update(parsed)
        return rows

    def _on_volumes(self, node: str, at: float, found: dict[tuple[str, str], VolumeFigures]) -> list[dict[str, Any]]:
        rules = self._detects("pvc-filling")
        rows = []
        here = self._volumes_on.setdefault(node, set())
        for key, figures in found.items():
            state = self.volumes.get(key)
            was = self._held(state.since, state.at) if state is not None else set()
            if state is None:
                state = self.volumes[key] = VolumeState(at, node, figures)
            elif state.node != node:
                self._volumes_on.get(state.node, set()).discard(key)
            state.at, state.node, state.figures = at, node, figures
            state.history.append((at, figures.available))
            while len(state.history) > 2 and at - state.history[0][0] > TREND:
                state.history.popleft()
            for rule in rules:
                full = figures.capacity > 0 and state.share >= rule.threshold
                if full:
                    state.since.setdefault(rule.id, at)
                elif state.full_within(rule.window.total_seconds()):  # a trend holds from its window's start
                    state.since.setdefault(rule.id, state.history[-2][0])
                else:
                    state.since.pop(rule.id, None)
            self._changed |= was ^ self._held(state.since, at)
            rows.append(
                {
                    "namespace": key[0],
                    "name": key[1],
                    "at": at,
                    "used": figures.used,
                    "capacity": figures.capacity,
                    "available": figures.available,
                }
            )
        for key in [k for k in here if k not in found]:
            vol = self.volumes.get(key)
            if vol is not None and vol.node == node:
                self._changed |= self._held(vol.since, vol.at)
                del self.volumes[key]
        here.clear()
        here.update(found)
        return rows

    # ---- what holds -----------------------------------------------------------------------------------------
    def _fresh(self, at: float, now: float) -> bool:
        """A reading is current for three rounds (a node skipped once or twice keeps its incidents open)."""
        return now - at <= 3 * max(self._round_length, self.interval)

    def present(self, rule: Rule) -> dict[str, Signal]:
        now = self.clock()
        held = rule.for_.total_seconds()
        out: dict[str, Signal] = {}
        if rule.detect == "pvc-filling":
            for (ns, claim), vol in self.volumes.items():
                since = vol.since.get(rule.id)
                if since is None or vol.at - since < held or not self._fresh(vol.at, now):
                    continue
                share = vol.share
                out[f"pvc/{ns}/{claim}"] = volume_signal(
                    rule,
                    ns,
                    claim,
                    f"volume {claim} in {ns} is filling up ({share:.0%} used, full within {_human(rule.window)} "
                    f"at its trend or over {rule.threshold:.0%}; {self.cadence()})",
                )
            return out
        for (ns, name, container), state in self.containers.items():
            since = state.since.get(rule.id)
            if since is None or state.last.at - since < held or not self._fresh(state.last.at, now):
                continue
            pod = self.watcher.pods.items.get((ns, name))
            if pod is None:
                continue
            if rule.detect == "cpu-throttling":
                what = (
                    f"CPU-throttled ({state.ratio or 0.0:.0%} of its CFS periods over the last "
                    f"{state.window:.0f}s, over {rule.threshold:.0%} for {_human_s(state.last.at - since)}"
                )
            else:
                spec: dict[str, Any] = next((c for c in pod["containers"] if c["name"] == container), {})
                limit = memory_limit_bytes(spec.get("memory_limit")) or 0.0
                share = (state.last.counters.working_set or 0.0) / limit if limit else 0.0
                what = (
                    f"at its memory limit ({share:.0%} of it, over {rule.threshold:.0%} for "
                    f"{_human_s(state.last.at - since)}"
                )
            out[f"metric/{rule.id}/{ns}/{name}/{container}"] = container_signal(
                rule, pod, container, f"container {container} of pod/{ns}/{name} {what}; {self.cadence()})"
            )
        return out


class DaemonThreads(Executor):
    """A thread per read, a daemon: a read that hangs past its timeout (the socket's own bound is a second later)
    never holds the process's exit, as a ``ThreadPoolExecutor``'s threads would (they are joined at exit). The
    sampler's semaphore bounds how many start."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                future.set_exception(exc)

        threading.Thread(target=run, name="kubelet-sampler", daemon=True).start()
        return future


def _restarted(prev: Reading, now: Reading) -> bool:
    """A new container instance since ``prev``: another cgroup id, a restart count that moved, or a counter that
    went back."""
    a, b = prev.counters, now.counters
    if a.instance and b.instance and a.instance != b.instance:
        return True
    if prev.restarts is not None and now.restarts is not None and prev.restarts != now.restarts:
        return True
    return any(
        x is not None and y is not None and y < x for x, y in ((a.periods, b.periods), (a.throttled, b.throttled))
    )


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ClusterUnreachable):
        return "unreachable"
    if isinstance(exc, KubeApiError):
        return {401: "forbidden", 403: "forbidden", 404: "absent", 502: "unavailable", 503: "unavailable"}.get(
            exc.status or 0, "timeout" if exc.status == 504 else "error"
        )
    return "error"


def _human(span: timedelta) -> str:
    return _human_s(span.total_seconds())


def _human_s(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600} h"
    return f"{s // 60} min" if s >= 120 else f"{s}s"


# ---- shared evidence: the stored samples as the diagnoses' recent samples -----------------------------------------


class StoredSamples:
    """:class:`~kubewhy.adapters.kubelet.RecentSamples` from the sampler's rows in the audit database (any replica),
    plus this process's own readings (``local``)."""

    def __init__(self, store: SampleStore, local: RecentSamples | None = None):
        self.store = store
        self.local: RecentSamples = local if local is not None else MemorySamples()

    async def recent(self, node: str, path: str) -> Sequence[Sample]:
        mine = list(await self.local.recent(node, path))
        try:
            rows = await self.store.of_node(node)
        except KubewhyError as exc:
            log.info("no stored kubelet samples of %s: %s", node, exc)
            return mine
        by_at: dict[float, list[dict[str, Any]]] = {}
        for row in rows:
            by_at.setdefault(row["at"], []).append(row)
        stored = []
        if path == CADVISOR:  # the latest readings, and the ones before them (none across a restart)
            counters = [r for r in rows if r["kind"] == "container" and r["periods"] is not None]
            for when, periods, throttled in (
                ("at", "periods", "throttled"),
                ("prev_at", "prev_periods", "prev_throttled"),
            ):
                by_time: dict[float, list[dict[str, Any]]] = {}
                for r in counters:
                    if r[when] is not None and r[periods] is not None:
                        by_time.setdefault(r[when], []).append(r)
                for at, group in by_time.items():
                    keys = [(r["namespace"], r["name"], r["container"]) for r in group]
                    figures = {
                        PERIODS: {k: r[periods] for k, r in zip(keys, group, strict=True)},
                        THROTTLED: {k: r[throttled] or 0.0 for k, r in zip(keys, group, strict=True)},
                    }
                    stored.append(Sample(at, figures))
            return sorted([*stored, *mine], key=lambda s: s.at)
        for at, group in by_at.items():
            doc = _summary_doc(group, at)
            if doc["pods"]:
                stored.append(Sample(at, doc))
        return sorted([*stored, *mine], key=lambda s: s.at)

    def keep(self, node: str, path: str, sample: Sample) -> None:
        self.local.keep(node, path, sample)


def _summary_doc(rows: list[dict[str, Any]], at: float) -> dict[str, Any]:
    """The Summary API's shape (as much as :func:`kubewhy.adapters.kubelet.summary_figures` reads) of stored rows."""
    stamp = f"{at:.3f}"
    pods: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        pod = pods.setdefault(
            (r["namespace"], r["name"]), {"podRef": {"namespace": r["namespace"], "name": r["name"]}, "containers": []}
        )
        if r["kind"] == "container" and r["working_set"] is not None:
            pod["containers"].append(
                {"name": r["container"], "memory": {"time": stamp, "workingSetBytes": r["working_set"]}}
            )
        elif r["kind"] == "volume" and r["used"] is not None and r["capacity"] is not None:
            pod.setdefault("volume", []).append(
                {
                    "time": stamp,
                    "name": r["name"],
                    "usedBytes": r["used"],
                    "capacityBytes": r["capacity"],
                    "availableBytes": r["available"]
                    if r["available"] is not None
                    else max(r["capacity"] - r["used"], 0),
                    "pvcRef": {"namespace": r["namespace"], "name": r["name"]},
                }
            )
    return {"pods": list(pods.values())}


# ---- wiring ---------------------------------------------------------------------------------------------------


def attach(settings: Settings, watcher: Watcher, scheduler: Any, common: dict[str, Any]) -> Sampler | None:
    """Schedule the sampler on the watchers' scheduler when the metric rules have no Prometheus and the sampler is
    not turned off (``KUBEWHY_SAMPLER``); share its stored samples with this process's diagnoses. None when off."""
    rules = [r for r in watcher.rules.rules if r.detect in METRIC_DETECTORS]
    w = settings.watch
    if not rules or watcher.app.deps.prom is not None:
        return None
    proxy = watcher.app.deps.kube.capabilities.nodes
    if w.sampler is False or proxy is None:
        for rule in rules:
            why = "KUBEWHY_SAMPLER=false" if w.sampler is False else "no node proxy on this connection"
            log.info("rule %s needs Prometheus or the kubelet sampler (%s): skipped", rule.id, why)
        return None
    store = None
    audit = watcher.app.audit
    if audit is not None:
        from ..audit.samples import SampleStore

        store = SampleStore(audit.engine, audit.url, cluster=watcher.options.cluster)
        kubelet = watcher.app.deps.kubelet
        if isinstance(kubelet, KubeletStats):  # pages and /k8s why take their rates from the stored samples
            kubelet.samples = StoredSamples(store, kubelet.samples)
            kubelet.fresh = 2 * w.sampler_interval  # the last two readings, when recent: no request at all
    sampler = Sampler(
        watcher,
        proxy,
        rules,
        interval=w.sampler_interval,
        rate=w.sampler_rate,
        timeout=w.sampler_timeout,
        step=min(1.0, w.sampler_interval / 2),
        store=store,
    )
    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    scheduler.add_listener(lambda _: sampler.cancel(), EVENT_SCHEDULER_SHUTDOWN)
    scheduler.add_job(
        sampler.tick, "interval", seconds=sampler.step, id="kubelet-sampler", name="read kubelets", **common
    )
    for rule in rules:
        scheduler.add_job(
            sampler.evaluate,
            "interval",
            args=[rule],
            seconds=rule.every.total_seconds(),
            id=f"rule-{rule.id}",
            name=f"evaluate {rule.id} from the kubelet samples",
            **common,
        )
    log.info(
        "kubelet sampler on (no Prometheus): %d metric rules, every %gs, at most %g requests/s",
        len(rules),
        w.sampler_interval,
        w.sampler_rate,
    )
    return sampler


__all__ = ["Sampler", "SamplerStats", "StoredSamples", "attach"]
