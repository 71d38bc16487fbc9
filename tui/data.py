"""The TUI's session with one cluster: the core's dependencies plus one live cache per kind shown.

Nothing here imports Textual, so the data layer is driven (and timed) without a screen. Live clusters feed each
list from the watchers' informer (:class:`kubewhy.watch.informer.Informer`: paged LIST, then WATCH; the TUI never
re-lists on a timer); a snapshot has nothing to watch, so :class:`StaticStore` lists it once behind the same
interface. Every read or action goes through a core function (service, inspect, actions, fixes, ledger).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from kubewhy import actions, compose, fixes, inspect, service
from kubewhy.adapters.ports import KubeReader
from kubewhy.errors import KubewhyError
from kubewhy.models.findings import CheckResult, Finding, Fix, Report
from kubewhy.models.target import Target
from kubewhy.watch.informer import Change, Informer, key_of

from . import rows

if TYPE_CHECKING:
    from kubewhy.audit.ledger import LedgerIncident
    from kubewhy.audit.store import HistoryEntry
    from kubewhy.charts import ChartData
    from kubewhy.service import Deps
    from kubewhy.settings import Settings

Key = tuple[str, str]
SOURCE = "tui"


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


class StaticStore:
    """A snapshot's objects of one kind, listed once (a snapshot does not change and cannot be watched)."""

    def __init__(self, kube: KubeReader, kind: str, project: Callable[[dict[str, Any]], dict[str, Any]]):
        self.kube, self.kind, self.project = kube, kind, project
        self.items: dict[Key, dict[str, Any]] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.synced = asyncio.Event()
        self.error: str | None = None

    async def run(self) -> None:
        try:
            objs = await self.kube.list(self.kind)
        except KubewhyError as exc:
            self.error = str(exc)
            return
        self.items = {key_of(o): self.project(o) for o in objs}
        self.synced.set()
        for key, row in self.items.items():
            for listener in list(self.listeners):
                listener(Change("ADDED", key, None, row))


@dataclasses.dataclass
class Session:
    """One cluster (a kubeconfig context, or snapshot files), opened by :meth:`open`, closed by :meth:`close`."""

    settings: Settings
    deps: Deps | None = None
    stores: dict[str, Store] = dataclasses.field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = dataclasses.field(default_factory=dict)
    page_size: int = 500

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
        return compose.kube_contexts(self.settings)[0] or "(current context)"

    @property
    def endpoint(self) -> str:
        return self.deps.kube.endpoint if self.deps is not None else ""

    def contexts(self) -> list[str]:
        return compose.kube_contexts(self.settings)[1]

    async def open(self) -> None:
        """Build the core's dependencies: for a live cluster one connection serves the lists' watches, the
        diagnoses and the fixes."""
        kube = None if self.snapshot else compose.build_watch_source(self.settings)
        self.deps = await compose.build(self.settings, kube=kube)

    async def close(self) -> None:
        await self.stop_watching()
        if self.deps is not None:
            await compose.close(self.deps, timeout=5.0)
            self.deps = None

    def with_context(self, name: str) -> Session:
        """A new (unopened) session on another context of the same kubeconfig."""
        kube = dataclasses.replace(self.settings.kube, context=name)
        return Session(dataclasses.replace(self.settings, kube=kube), page_size=self.page_size)

    # ---- live lists -------------------------------------------------------------------------------------------
    @property
    def _deps(self) -> Deps:
        if self.deps is None:
            raise KubewhyError("the session is not open")
        return self.deps

    def store(self, kind: str) -> Store:
        """The live cache of ``kind`` (started on first use, shared by every screen that shows it)."""
        found = self.stores.get(kind)
        if found is not None:
            return found
        project = rows.VIEWS[kind].project
        made: Store
        if self.snapshot:
            made = StaticStore(self._deps.kube, kind, project)
        else:
            made = Informer(
                self._deps.kube,  # type: ignore[arg-type]
                kind,
                project=project,
                page_size=self.page_size,
            )
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

    # ---- reads and actions, through the core --------------------------------------------------------------------
    async def diagnose(self, target: Target, on_check: Callable[[CheckResult], None] | None = None) -> Report:
        return await service.diagnose(target, self._deps, actor=self.settings.actor, source=SOURCE, on_check=on_check)

    async def chart(self, finding: Finding) -> ChartData:
        """The series behind a finding's metric evidence (:class:`kubewhy.charts.ChartError` says why not)."""
        from kubewhy import charts

        return await charts.chart_data(finding, catalog=self._deps.catalog, kube=self._deps.kube, prom=self._deps.prom)

    def record(self, action: str, target: Target | None = None) -> None:
        actions.record_action(self._deps, action, actor=self.settings.actor, source=SOURCE, target=target)

    async def describe(self, target: Target) -> list[str]:
        self.record("describe", target)
        return await inspect.describe_lines(self._deps.kube, target)

    async def yaml_text(self, target: Target) -> str:
        self.record("yaml", target)
        obj = await self._deps.kube.get(target.kind, target.namespace, target.name)
        if obj is None:
            return f"{target.kind.lower()} {target.name} not found"
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)

    async def log_container(self, target: Target) -> str:
        """The container whose logs to show: the one that restarted most (the first when none did)."""
        pod = await self._deps.kube.get("Pod", target.namespace, target.name)
        if pod is None:
            raise KubewhyError(f"pod {target.name} not found")
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if statuses:
            return str(max(statuses, key=lambda c: c.get("restartCount") or 0).get("name"))
        containers = (pod.get("spec") or {}).get("containers") or [{}]
        return str(containers[0].get("name") or "")

    async def logs(
        self, target: Target, container: str, *, previous: bool, tail: int, record: bool = True
    ) -> str | None:
        if record:
            self.record("show_logs_previous" if previous else "show_logs", target)
        return await self._deps.kube.logs(target.namespace or "", target.name, container, previous=previous, tail=tail)

    async def history(self, hours: float = 24.0) -> list[HistoryEntry]:
        if self._deps.audit is not None:
            await self._deps.audit.flush()  # this session's own records are in what is read back
        return await actions.history(self._deps.audit, since=datetime.now(UTC) - timedelta(hours=hours), limit=500)

    async def incidents(self) -> list[LedgerIncident] | None:
        """The watchers' open incidents; None when there is no audit database to hold a ledger."""
        if self._deps.audit is None:
            return None
        from kubewhy import incidents

        await self._deps.audit.flush()  # the schema is at head (the ledger's tables) before the first read
        return await incidents.open_incidents(compose.build_ledger(self._deps.audit))

    async def dry_run(self, fix: Fix, playbook_id: str) -> tuple[fixes.PatchResult, Any]:
        """The server-side dry run shown before a fix is applied; the proposal and the dry run are recorded."""
        if fix.patch is None:
            raise KubewhyError(f"{fix.title!r} has no patch to apply: run its command yourself")
        key = actions.propose_fix(self._deps, fix, playbook_id=playbook_id, source=SOURCE, proposed_by="kubewhy")
        result = await fixes.apply_patch(self._deps.kube.capabilities.writer, fix.patch, dry_run=True)
        actions.fix_event(
            self._deps,
            key,
            "dry_run",
            actor=self.settings.actor,
            source=SOURCE,
            result={"ok": result.ok, "message": result.message},
        )
        return result, key

    async def apply(self, fix: Fix, proposal: Any) -> fixes.PatchResult:
        """Apply after the person confirmed: approved, then applied or failed, in the audit log."""
        assert fix.patch is not None
        actions.fix_event(self._deps, proposal, "approved", actor=self.settings.actor, source=SOURCE)
        try:
            result = await fixes.apply_patch(self._deps.kube.capabilities.writer, fix.patch, dry_run=False)
        except KubewhyError as exc:
            result = fixes.PatchResult(False, False, str(exc))
        actions.fix_event(
            self._deps,
            proposal,
            "applied" if result.ok else "failed",
            actor=self.settings.actor,
            source=SOURCE,
            result={"message": result.message},
        )
        return result

    def declined(self, proposal: Any) -> None:
        actions.fix_event(self._deps, proposal, "declined", actor=self.settings.actor, source=SOURCE)
