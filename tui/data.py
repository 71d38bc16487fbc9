"""The TUI's session with one cluster: one :class:`kubewhy.app.Kubewhy` plus one live cache per kind shown.

Nothing here imports Textual, so the data layer is driven (and timed) without a screen. Live clusters feed each
list from the watchers' informer (:class:`kubewhy.watch.informer.Informer`: paged LIST, then WATCH, on the
application's connection; the TUI never re-lists on a timer); a snapshot has nothing to watch, so
:class:`StaticStore` lists it once behind the same interface. Every read, diagnosis and fix is a call on the
application (:attr:`Session.kubewhy`): the fix lifecycle (propose, dry run, pre-check, apply, decline) is its,
and the confirm screen calls it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from kubewhy.adapters.ports import ApiResource, Forward, KubeReader, TableReader
from kubewhy.app import Kubewhy
from kubewhy.errors import KubeApiError, KubewhyError
from kubewhy.models.findings import CheckResult, Finding, Report
from kubewhy.models.target import Target
from kubewhy.watch.informer import Change, Informer, key_of

from . import rows

if TYPE_CHECKING:
    from kubewhy.audit.ledger import LedgerIncident
    from kubewhy.audit.store import HistoryEntry
    from kubewhy.charts import ChartData
    from kubewhy.settings import Settings

Key = tuple[str, str]
SOURCE = "tui"
SWEEP_CONCURRENCY = 4  # diagnoses home runs at once
# bigger pages for the kinds that come by the tens of thousands and are small each: 50,000 events are 100 LISTs
# of 500 (two seconds of round trips at 20 ms each before a single event is parsed), 10 of 5,000
PAGE_SIZES = {"Event": 5000}
CHANGES_SINCE = timedelta(hours=2)  # how far back :changes and the why screen's changes pane look
CLOSE_TIMEOUT = 5.0  # seconds the audit log may take to flush when the TUI quits or switches context


class Store(Protocol):
    """What a list reads: the informer's cache interface."""

    @property
    def kind(self) -> str: ...

    @property
    def items(self) -> Mapping[Key, dict[str, Any]]: ...

    @property
    def listeners(self) -> list[Callable[[Change], None]]: ...

    @property
    def synced(self) -> asyncio.Event: ...

    @property
    def error(self) -> str | None: ...

    async def run(self) -> None: ...


def first_page(store: Store) -> asyncio.Event:
    """Set once the store's first page is in its items (:class:`PagedInformer`); a store that lists at once
    (a Table cache) has it when it is synced."""
    found = getattr(store, "first_page", None)
    return found if isinstance(found, asyncio.Event) else store.synced


def loading_mark(store: Store) -> str:
    """ "n of N loaded" while the store's first LIST is under way ("" once it is whole); N from the server's
    remainingItemCount ("n loaded so far" when it did not say)."""
    if store.synced.is_set():
        return ""
    loaded = getattr(store, "loaded", len(store.items))
    total = getattr(store, "total", None)
    return f"{loaded} of {total} loaded …" if total is not None else f"{loaded} loaded so far …"


class StaticStore:
    """A snapshot's objects of one kind, listed once (a snapshot does not change and cannot be watched)."""

    def __init__(self, kube: KubeReader, kind: str, project: Callable[[dict[str, Any]], dict[str, Any]]):
        self.kube, self.kind, self.project = kube, kind, project
        self.items: dict[Key, dict[str, Any]] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.synced = asyncio.Event()
        self.first_page = self.synced  # one LIST: its first page is all of it
        self.loaded = 0
        self.total: int | None = None
        self.error: str | None = None

    async def run(self) -> None:
        try:
            objs = await self.kube.list(self.kind)
        except KubewhyError as exc:
            self.error = str(exc)
            return
        self.items = {key_of(o): self.project(o) for o in objs}
        self.loaded = self.total = len(self.items)
        self.synced.set()
        for key, row in self.items.items():
            for listener in list(self.listeners):
                listener(Change("ADDED", key, None, row))


FREEZE_FROM = 5000  # rows in a list from which its first LIST ends with gc.freeze()
FIRST_PAGE = 500  # objects the first page of a list asks for, whatever its later pages' size: it draws first


class PagedInformer(Informer):
    """The watchers' informer, except that its first LIST fills the cache page by page: each page's objects are
    in :attr:`items` (and told to the listeners as ADDED) as soon as it arrives, so a screen draws from the first
    page and fills in; :attr:`loaded` and :attr:`total` (loaded plus the server's ``remainingItemCount``, None when
    it does not say) give its "n of N loaded" until :attr:`synced` is set. The first page is small
    (:data:`FIRST_PAGE`), the others :attr:`page_size`. Later LISTs (a 410, the periodic compare) are the
    informer's own: whole, then diffed against the cache."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.first_page = asyncio.Event()  # the first page is in :attr:`items`
        self.hold: asyncio.Event | None = None  # set by a screen: the later pages wait for it (after the first)
        self.loaded = 0
        self.total: int | None = None

    async def _list(self, *, relist: bool) -> None:
        if relist or self.synced.is_set() or not self.cache:
            await super()._list(relist=relist)
            self.first_page.set()
            return
        token: str | None = None
        version = ""
        seen: set[Key] = set()
        while True:
            limit = min(self.page_size, FIRST_PAGE) if token is None else self.page_size
            try:
                page = await self.source.list_page(self.kind, self.namespace, limit=limit, continue_token=token)
            except KubeApiError as exc:
                if exc.status == 410 and token is not None:  # the continue token expired: the informer's LIST
                    await super()._list(relist=True)
                    self.loaded, self.total = len(self.items), len(self.items)
                    self.first_page.set()
                    return
                raise
            self.stats.lists += 1
            version = page.resource_version or version
            for obj in page.items:
                key, row = key_of(obj), self.project(obj)
                seen.add(key)
                before = self.items.get(key)
                if before != row:  # a page listed again after an error: only what changed is news
                    self.items[key] = row
                    self._emit(Change("ADDED" if before is None else "MODIFIED", key, before, row))
            self.loaded = len(self.items)
            remaining = getattr(page, "remaining", None)
            token = page.continue_token
            self.total = self.loaded + remaining if remaining is not None else None if token else self.loaded
            self.first_page.set()
            if not token:
                break
            if self.hold is not None:
                await self.hold.wait()
        for key in [k for k in self.items if k not in seen]:  # kept from a LIST an error cut short, gone since
            self._emit(Change("DELETED", key, self.items.pop(key), None))
        self.loaded = self.total = len(self.items)
        self._moved(version)
        self._listed_at = self.clock()
        if len(self.items) >= FREEZE_FROM:
            # tens of thousands of rows live as long as the list: the collector's full passes would walk each of
            # their objects again and again, pausing a keystroke by a few hundred milliseconds
            gc.freeze()
        self.synced.set()


class QuietNotifier:
    """The notifier of the watchers a ``--demo`` session runs: their incidents land in the ledger (home shows
    them); nothing is posted anywhere."""

    def __init__(self) -> None:
        self.posted = 0

    async def post(self, page: Any) -> str:
        self.posted += 1
        return f"k8stui-{self.posted}"

    async def update(self, page: Any, message_id: str) -> None:
        return None

    async def reply(self, page: Any, message_id: str) -> None:
        return None

    async def find(self, incident: Any) -> str | None:
        return None


@dataclasses.dataclass
class Session:
    """One cluster (a kubeconfig context, or snapshot files): the application object :attr:`kubewhy`, opened by
    :meth:`open` and closed by :meth:`close` (the application's), and the lists' caches on its connection."""

    settings: Settings
    stores: dict[str, Store] = dataclasses.field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = dataclasses.field(default_factory=dict)
    page_size: int = 500
    kubewhy: Kubewhy = dataclasses.field(init=False)
    is_open: bool = dataclasses.field(default=False, init=False)
    forwards: list[tuple[Target, Forward]] = dataclasses.field(default_factory=list, init=False)
    _resources: list[ApiResource] | None = dataclasses.field(default=None, init=False)  # discovery, once
    # run the watchers in-process (``--demo``: nobody else watches its cluster, so nobody would open incidents)
    watch_incidents: bool = False
    watchers: asyncio.Task[None] | None = dataclasses.field(default=None, init=False)
    watchers_error: str | None = dataclasses.field(default=None, init=False)
    _stop_watchers: asyncio.Event | None = dataclasses.field(default=None, init=False)

    def __post_init__(self) -> None:
        self.kubewhy = Kubewhy(self.settings, source=SOURCE, close_timeout=CLOSE_TIMEOUT)

    @property
    def snapshot(self) -> bool:
        return bool(self.settings.kube.snapshot)

    @property
    def context(self) -> str:
        """What the header and the error screen call this cluster."""
        if self.snapshot:
            return "snapshot " + ", ".join(p.name for p in self.settings.kube.snapshot)
        if self.settings.kube.in_cluster:
            return "in-cluster"
        return self.kubewhy.contexts()[0] or "(current context)"

    @property
    def endpoint(self) -> str:
        return self.kubewhy.endpoint

    @property
    def warnings(self) -> list[str]:
        """What the application could not set up (no Prometheus, no audit database), to show once."""
        return self.kubewhy.warnings

    def contexts(self) -> list[str]:
        return self.kubewhy.contexts()[1]

    def now(self) -> float:
        """Now, for ages: the cluster's clock (a snapshot's is the time it was taken)."""
        return self.kubewhy.deps.clock().timestamp() if self.is_open else time.time()

    async def open(self) -> None:
        """Open the application: for a live cluster its one connection serves the lists' watches, the diagnoses
        and the fixes."""
        await self.kubewhy.open()
        self.is_open = True
        if self.watch_incidents and not self.snapshot and self.kubewhy.audit is not None:
            self._stop_watchers = asyncio.Event()
            self.watchers = asyncio.create_task(self._watch(self._stop_watchers), name="k8stui-watchers")

    async def _watch(self, stop: asyncio.Event) -> None:
        """The watchers (:func:`kubewhy.watch.run.run_watchers`) on this session's application, until
        :meth:`close`: the incidents they open go into the ledger home shows; nothing is posted anywhere."""
        import logging

        from kubewhy.watch.run import run_watchers

        logging.getLogger("kubewhy.watch").addHandler(logging.NullHandler())  # never onto the screen
        try:
            await run_watchers(self.settings, QuietNotifier(), stop=stop, app=self.kubewhy)
        except KubewhyError as exc:
            self.watchers_error = str(exc)

    async def close(self) -> None:
        if self.watchers is not None and self._stop_watchers is not None:
            self._stop_watchers.set()
            await asyncio.gather(self.watchers, return_exceptions=True)
            self.watchers = None
        await self.stop_forwarding()
        await self.stop_watching()
        self.is_open = False
        await self.kubewhy.close()

    # ---- port-forwards: the connection's (kubewhy.adapters.kube_live.LiveKube.port_forward), in-process ----------
    async def port_forward(self, target: Target, port: int, local_port: int = 0) -> Forward:
        """Forward ``127.0.0.1:local_port`` (0: a free one) to ``port`` of the pod, until :meth:`stop_forwarding`
        or the session closes; recorded in the audit log (``port_forward``)."""
        forwarder = self.kubewhy.kube.capabilities.forward
        if forwarder is None:
            raise KubewhyError("this cluster connection cannot port-forward (a snapshot has no pods running)")
        try:
            forward = await forwarder.port_forward(
                target.namespace or "default", target.name, port, local_port=local_port
            )
        except OSError as exc:
            raise KubewhyError(f"cannot listen on 127.0.0.1:{local_port}: {exc.strerror or exc}") from None
        self.forwards.append((target, forward))
        self.record("port_forward", target)
        return forward

    async def stop_forwarding(self) -> int:
        """Close every port-forward; how many there were."""
        forwards, self.forwards = self.forwards, []
        for _, forward in forwards:
            await forward.close()
        return len(forwards)

    def with_context(self, name: str) -> Session:
        """A new (unopened) session on another context of the same kubeconfig."""
        kube = dataclasses.replace(self.settings.kube, context=name)
        return Session(
            dataclasses.replace(self.settings, kube=kube),
            page_size=self.page_size,
            watch_incidents=self.watch_incidents,
        )

    # ---- live lists -------------------------------------------------------------------------------------------
    async def resources(self) -> list[ApiResource]:
        """What the API server serves (discovery, read once per session; CRDs included); [] for a snapshot."""
        tables = self.kubewhy.kube.capabilities.tables
        if tables is None:
            return []
        if self._resources is None:
            self._resources = await tables.resources()
        return self._resources

    async def resolve(self, word: str) -> tuple[ApiResource | None, list[ApiResource]]:
        """What ``:word`` names: a resource (by plural, singular, kind or short name, also ``NAME.GROUP``), or the
        resources of a category (``all``); (None, []) when nothing does."""
        word = word.lower()
        found = await self.resources()
        named = [r for r in found if word in r.names()]
        if named:  # the same name in two groups: the core group first, then the shortest group, as kubectl
            return sorted(named, key=lambda r: (r.group != "", len(r.group), r.group))[0], []
        return None, [r for r in found if word in r.categories]

    def table_store(self, resource: ApiResource) -> Store:
        """The live cache of any resource, in the server's Table format (started on first use, then shared)."""
        from .tables import TableStore

        return self._table_cache(
            f"table:{resource.group}/{resource.plural}",
            lambda tables: TableStore(tables, resource, page_size=self.page_size),
        )

    def category_store(self, name: str, resources: list[ApiResource]) -> Store:
        """The live cache of a category's objects (``:all``): one Table cache per resource, merged."""
        from .tables import CategoryStore

        return self._table_cache(
            f"category:{name}", lambda tables: CategoryStore(tables, name, resources, page_size=self.page_size)
        )

    def _table_cache(self, key: str, make: Callable[[TableReader], Store]) -> Store:
        found = self.stores.get(key)
        if found is not None:
            return found
        tables = self.kubewhy.kube.capabilities.tables
        if tables is None:
            raise KubewhyError("this cluster connection cannot list resources as Tables (a snapshot)")
        made = make(tables)
        self.stores[key] = made
        self.tasks[key] = asyncio.create_task(made.run(), name=f"k8stui-{key}")
        return made

    async def changes(self, target: Target, since: timedelta = CHANGES_SINCE) -> list[str]:
        """What changed around ``target`` in the last ``since``: the core's change timeline (kubewhy/changes: its
        revisions, who wrote which fields, its configuration, node and Services, the events that record a change),
        merged with the watchers' change log when the audit database has one, as ``kubewhy changes`` prints it."""
        from kubewhy.changes.stored import reader_of, with_log
        from kubewhy.changes.timeline import as_lines

        self.record("show_changes", target)
        timeline = await self.kubewhy.changes(target, since)
        try:
            timeline = await with_log(timeline, reader_of(self.kubewhy.audit))
        except KubewhyError as exc:
            timeline.notes.append(f"the watchers' change log could not be read: {exc}")
        return as_lines(timeline)

    async def resource_yaml(self, resource: ApiResource, target: Target) -> str:
        """YAML of an object of a kind the core does not model (a custom resource), read by its resource path."""
        self.record("yaml", target)
        tables = self.kubewhy.kube.capabilities.tables
        if tables is None:
            raise KubewhyError("this cluster connection cannot read custom resources")
        obj = await tables.get_resource(resource, target.namespace, target.name)
        if obj is None:
            return f"{resource.kind.lower()} {target.name} not found"
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)

    def store(self, kind: str) -> Store:
        """The live cache of ``kind`` (started on first use, shared by every screen that shows it)."""
        found = self.stores.get(kind)
        if found is not None:
            return found
        project = rows.VIEWS[kind].project
        made: Store
        if self.snapshot:
            made = StaticStore(self.kubewhy.kube, kind, project)
        else:
            page_size = max(self.page_size, PAGE_SIZES.get(kind, 0))
            made = PagedInformer(self.kubewhy.watch_source(), kind, project=project, page_size=page_size)
        self.stores[kind] = made
        self.tasks[kind] = asyncio.create_task(made.run(), name=f"k8stui-{kind}")
        return made

    async def stop_watching(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        self.stores.clear()

    def failure(self) -> str | None:
        """Why the cluster has not answered (unreachable, credentials refused), while no list has loaded."""
        if any(s.synced.is_set() for s in self.stores.values()):
            return None
        return next((s.error for s in self.stores.values() if s.error), None)

    # ---- reads and diagnoses: keys translated into the application's calls ------------------------------------
    async def diagnose(self, target: Target, on_check: Callable[[CheckResult], None] | None = None) -> Report:
        return await self.kubewhy.diagnose(target, on_check=on_check)

    async def sweep(
        self,
        targets: Sequence[Target],
        concurrency: int = SWEEP_CONCURRENCY,
        *,
        running: asyncio.Event | None = None,
    ) -> AsyncIterator[tuple[Target, Report | None]]:
        """The core's diagnosis of each target, as each ends (None: it could not be diagnosed). Home's look over
        the cluster, not a person's question: nothing is recorded in the audit log (a person's ``w`` is).
        ``running``: a diagnosis starts only while it is set (home hidden behind another screen pauses its look:
        each diagnosis reads and parses whole namespaces, which would take the event loop from the keys typed
        there). The first target (home puts the likeliest problem first) is diagnosed before the others start:
        ``concurrency`` diagnoses at once share one event loop, and the first row would take that many times as
        long to arrive."""
        from kubewhy.service import diagnose

        deps = dataclasses.replace(self.kubewhy.deps, audit=None)
        gate = asyncio.Semaphore(concurrency)
        first_done = asyncio.Event()  # the first target is diagnosed alone: its answer is not shared out

        async def one(at: int, target: Target) -> tuple[Target, Report | None]:
            if at > 0:
                await first_done.wait()
            async with gate:
                if running is not None:
                    await running.wait()
                try:
                    return target, await diagnose(target, deps, source=SOURCE)
                except KubewhyError:
                    return target, None
                finally:
                    first_done.set()

        for done in asyncio.as_completed([one(at, t) for at, t in enumerate(targets)]):
            yield await done

    async def chart(self, finding: Finding) -> ChartData:
        """The series behind a finding's metric evidence (:class:`kubewhy.charts.ChartError` says why not)."""
        return await self.kubewhy.chart(finding)

    def record(self, action: str, target: Target | None = None) -> None:
        self.kubewhy.record(action, target=target)

    async def describe(self, target: Target) -> str:
        """``kubectl describe`` of the object, with its events (and a Service's endpoints)."""
        from .describe import describe_text, endpoint_addresses

        self.record("describe", target)
        obj = await self.kubewhy.get(target)
        if obj is None:
            return f"{target.kind.lower()} {target.name} not found"
        obj = {"kind": target.kind, **obj}
        selector = f"involvedObject.kind={target.kind},involvedObject.name={target.name}"
        found = await self.kubewhy.kube.list("Event", target.namespace, field_selector=selector)
        endpoints = None
        if target.kind == "Service":
            endpoints = endpoint_addresses(await self.kubewhy.kube.get("Endpoints", target.namespace, target.name))
        return describe_text(obj, found, self.now(), endpoints)

    async def yaml_text(self, target: Target) -> str:
        self.record("yaml", target)
        obj = await self.kubewhy.get(target)
        if obj is None:
            return f"{target.kind.lower()} {target.name} not found"
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)

    async def log_container(self, target: Target) -> str:
        """The container whose logs to show: the one that restarted most (the first when none did)."""
        pod = await self.kubewhy.get(Target("Pod", target.name, target.namespace))
        if pod is None:
            raise KubewhyError(f"pod {target.name} not found")
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if statuses:
            return str(max(statuses, key=lambda c: c.get("restartCount") or 0).get("name"))
        containers = (pod.get("spec") or {}).get("containers") or [{}]
        return str(containers[0].get("name") or "")

    async def log_pods(self, target: Target) -> list[tuple[str, list[str]]]:
        """What ``l`` shows: (pod name, its containers) for a pod, or for each pod of a workload (its selector)."""
        obj = await self.kubewhy.get(target)
        if obj is None:
            raise KubewhyError(f"{target.ref} not found")
        if target.kind == "Pod":
            pods = [obj]
        else:
            from kubewhy.selectors import to_text

            selector = to_text((obj.get("spec") or {}).get("selector"))
            if not selector:
                raise KubewhyError(f"{target.ref} has no pod selector: no pods to read logs of")
            pods = await self.kubewhy.kube.list("Pod", target.namespace, label_selector=selector)
        return [
            (
                str((p.get("metadata") or {}).get("name")),
                [str(c.get("name")) for c in (p.get("spec") or {}).get("containers") or []],
            )
            for p in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name")))
        ]

    async def stream_logs(
        self, namespace: str, pod: str, container: str, *, previous: bool, tail: int | None, since: int | None
    ) -> AsyncIterator[str]:
        """One container's log, line by line: on a live cluster one ``follow=true`` request kept open (nothing is
        read twice); a snapshot's (or a previous container's) as it is."""
        streamer = self.kubewhy.kube.capabilities.logs
        if streamer is None:
            text = await self.kubewhy.logs(
                Target("Pod", pod, namespace), container, previous=previous, tail=tail or 10_000
            )
            for line in (text or "").splitlines():
                yield line
            return
        async for line in streamer.stream_logs(
            namespace, pod, container, previous=previous, follow=not previous, tail=tail, since_seconds=since
        ):
            yield line

    async def history(self, hours: float = 24.0) -> list[HistoryEntry]:
        """The audit log's last ``hours``, this session's own records included."""
        return await self.kubewhy.history(since=datetime.now(UTC) - timedelta(hours=hours), limit=500)

    async def incidents(self) -> list[LedgerIncident] | None:
        """The watchers' open incidents; None when there is no audit database to hold a ledger."""
        if self.kubewhy.audit is None:
            return None
        return await self.kubewhy.incidents()
