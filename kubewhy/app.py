"""The application object: one :class:`Kubewhy` per process, built from the settings, held by every front-end.

The CLI, the Slack bot, ``k8stui`` and the watchers each make one (``async with Kubewhy(settings, source=...)``)
and only translate what their user does into its methods and format what comes back. Everything with behaviour
lives behind it: diagnosis (:mod:`kubewhy.service`), the one fix lifecycle (:mod:`kubewhy.lifecycle`), the audit
log (:mod:`kubewhy.actions`), the watchers' incidents (:mod:`kubewhy.incidents`), the reads a person asks for
(:mod:`kubewhy.inspect`) and charts (:mod:`kubewhy.charts`). It is the only caller of :mod:`kubewhy.compose`.

It is lazy, as kopf's operator is about its clients: entering it builds the readers, the catalogue and the audit
writer; the incident ledger and the watch stream are opened by the first method that needs them, so
``kubewhy why`` opens nothing beyond its audit record. The fix lifecycle and the incident actions are imported by
the first method that uses them, so ``kubewhy why`` does not import them either.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import compose
from .adapters.ports import KubeReader, WatchSource
from .adapters.shared_lists import SharedLists
from .errors import KubewhyError
from .lanes import Lanes
from .models.findings import CheckResult, Finding, Fix, Report
from .models.target import Target
from .settings import SettingsError

if TYPE_CHECKING:
    import uuid

    from .audit.ledger import Ledger, LedgerIncident, Mute
    from .audit.stats import AuditStats, Bucket
    from .audit.store import HistoryEntry
    from .audit.trust import TrustStore
    from .audit.verify import VerifyJob, VerifyQueue
    from .audit.writer import AuditLog, RetryPolicy
    from .changes.model import Timeline
    from .charts import ChartData
    from .checks.registry import CheckRegistry
    from .fixes import PatchResult
    from .lifecycle import Action, ApprovalPolicy, Identity, Precheck, Verification
    from .playbooks.loader import Catalog
    from .service import Deps
    from .settings import Settings

log = logging.getLogger("kubewhy")

# The long-lived front-ends that diagnose in bursts (a watcher's start-up storm, a channel's ``/k8s why``s): their
# diagnoses share a LIST asked moments ago (kubewhy/adapters/shared_lists.py). The CLI diagnoses once; the TUI
# shows lists a person refreshes, which must be the server's now.
SHARED_LISTS = frozenset({"watcher", "slack"})
# Front-ends whose process runs for days: a migration runs in a child process (kubewhy/audit/revision.py) and
# the memory a burst of work freed is given back to the system (kubewhy/memtrim.py).
LONG_LIVED = frozenset({"watcher", "slack", "tui", "mcp"})

K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V], Generic[K, V]):
    """An LRU map: a long-running front-end keeps recent fix proposals without growing for ever."""

    def __init__(self, size: int = 1000):
        super().__init__()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Kubewhy:
    """See the module docstring. ``source`` names the front-end in the audit log (``cli``, ``slack``, ``tui``,
    ``watcher``); ``acting_as`` is whose credentials fixes are applied with (default: the user's own kubeconfig,
    or the service account in the cluster). ``cluster=False`` opens only the audit log (``kubewhy history``).

    The keyword arguments after ``settings`` are the composition root's (:func:`kubewhy.compose.build`): a
    ``kube`` reader a test or the TUI already holds, a check ``registry``, ``audit=False``, the writer's ``retry``,
    ``spool`` and ``on_warning``, ``prefetch`` (the first object to read while the engine imports) and ``sleep``
    (the reader's pause before a retry: the waits a diagnosis plans go through it, so a test can record them)."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: str = "cli",
        acting_as: Identity | None = None,
        cluster: bool = True,
        kube: KubeReader | None = None,
        registry: CheckRegistry | None = None,
        audit: bool = True,
        retry: RetryPolicy | None = None,
        spool: bool = False,
        on_warning: Callable[[str], None] | None = None,
        prefetch: Target | None = None,
        start_audit: bool = False,
        close_timeout: float | None = 30.0,
        sleep: Callable[[float], None] | None = None,
    ):
        self.settings = settings
        self.source = source
        self._acting_as = acting_as
        self.fixes: Bounded[str, Action] = Bounded()
        self.close_timeout = close_timeout
        self._cluster = cluster
        self._kube = kube
        self._registry = registry
        self._audit_on = audit
        self._retry = retry
        self._spool = spool
        self._on_warning = on_warning
        self._prefetch = prefetch
        self._start_audit = start_audit
        self.long_lived = start_audit or source in LONG_LIVED
        self._trimmer: asyncio.Task[None] | None = None
        self._sleep = sleep
        self._deps: Deps | None = None
        self._audit: AuditLog | None = None
        self._ledger: Ledger | None = None
        self._trust: TrustStore | None = None
        self._verify: VerifyQueue | None = None
        self._watch: WatchSource | None = None
        self._closed = False
        self.lanes = Lanes(settings.people_diagnoses, settings.background_diagnoses)  # people first (lanes.py)

    # ---- lifetime ------------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Kubewhy:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self.long_lived:
            from .memtrim import limit_arenas

            limit_arenas()  # before the adapters' threads: fewer heaps that each keep their freed pages
        if self._cluster:
            kube = self._kube
            if kube is None and self._prefetch is not None:
                kube = compose.build_kube(self.settings, prefetch=self._prefetch, sleep=self._sleep)
            self._deps = await compose.build(
                self.settings,
                kube=kube,
                audit=self._audit_on,
                registry=self._registry,
                retry=self._retry,
                on_warning=self._on_warning,
                spool=self._spool,
                sleep=self._sleep,
                long_lived=self.long_lived,
            )
            if self.source in SHARED_LISTS and self._deps.kube.capabilities.nodes is not None:
                self._deps.kube = SharedLists(self._deps.kube)  # a live cluster, diagnosed in bursts
            self._audit = self._deps.audit
        elif self._audit_on:
            self._audit = compose.build_audit(
                self.settings, retry=self._retry, on_warning=self._on_warning, long_lived=self.long_lived
            )
        if self._audit is not None and self._start_audit:
            await self._audit.start()  # the database at head; records left in the fallback file reported
        if self.long_lived and self._trimmer is None:
            from .memtrim import Trimmer

            self._trimmer = asyncio.create_task(Trimmer().run(), name="kubewhy-memtrim")

    async def flush(self, timeout: float | None = None) -> None:
        """Write what is queued now (a front-end that must have the row before it answers). With ``timeout`` the
        writer is also closed, as :meth:`close` does: what is not written within ``timeout`` seconds goes to the
        fallback file before this returns (``kubewhy why`` against a shared database: the row, or its fallback
        line, exists before the report shows); anything recorded afterwards goes to the fallback file too."""
        if self._audit is not None:
            if timeout is None:
                await self._audit.flush()
            else:
                await self._audit.aclose(timeout=timeout)

    async def close(self, timeout: float | None = None) -> None:
        """Flush and close the audit log (records it cannot write go to its fallback file). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._trimmer is not None:
            self._trimmer.cancel()
        if self._audit is not None:
            await self._audit.aclose(timeout=self.close_timeout if timeout is None else timeout)

    @property
    def deps(self) -> Deps:
        """The core's dependencies (for the engine and the watchers' informers); the app must be open."""
        if self._deps is None:
            raise KubewhyError("kubewhy is not open on a cluster" if self._cluster else "no cluster was asked for")
        return self._deps

    @property
    def kube(self) -> KubeReader:
        return self.deps.kube

    @property
    def catalog(self) -> Catalog:
        return self.deps.catalog

    @property
    def audit(self) -> AuditLog | None:
        return self._audit

    @property
    def warnings(self) -> list[str]:
        return self._deps.warnings if self._deps is not None else []

    @property
    def has_metrics(self) -> bool:
        return self._deps is not None and self._deps.prom is not None

    @property
    def endpoint(self) -> str:
        return self._deps.kube.endpoint if self._deps is not None else ""

    def contexts(self) -> tuple[str | None, list[str]]:
        """(the kubeconfig context in use, every context): what a front-end shows and switches between."""
        return compose.kube_contexts(self.settings)

    def watch_source(self) -> WatchSource:
        """The live connection's paged LISTs and WATCH streams, opened on first use (informers, the TUI's lists).
        :class:`SettingsError` for snapshot files, which cannot be watched."""
        if self._watch is None:
            watch = self.deps.kube.capabilities.watch
            self._watch = watch if watch is not None else compose.build_watch_source(self.settings)
        return self._watch

    @property
    def acting_as(self) -> Identity:
        """Whose credentials fixes are applied with (read from the kubeconfig on first use, not at start-up)."""
        if self._acting_as is None:
            self._acting_as = default_identity(self.settings)
        return self._acting_as

    def _actor(self, actor: str | None) -> str:
        return self.settings.actor if actor is None else actor

    # ---- diagnosis -----------------------------------------------------------------------------------------------
    async def diagnose(
        self,
        target: Target,
        *,
        actor: str | None = None,
        source: str | None = None,
        channel: str | None = None,
        incident: str | None = None,
        on_check: Callable[[CheckResult], None] | None = None,
        obj: dict[str, Any] | None = None,
        timeout: float | None = None,
        fallback: Target | None = None,
        severity: str | None = None,
    ) -> Report:
        """Diagnose ``target`` and record it. ``timeout``: the whole diagnosis' deadline (:class:`TimeoutError`),
        counted from when it starts, not while it waits its turn; ``fallback``: what to diagnose instead when
        ``target`` is gone or too slow (a page about an evicted pod falls back to its node).

        A background ``source`` (the watchers, the Alertmanager intake) waits while a person's diagnosis is in
        flight, a few at a time, the most ``severity`` first (:mod:`kubewhy.lanes`)."""
        from .service import diagnose

        source = source or self.source

        async def one(t: Target, o: dict[str, Any] | None) -> Report:
            call = diagnose(
                t,
                self.deps,
                obj=o,
                actor=self._actor(actor),
                source=source,
                channel=channel,
                incident=incident,
                on_check=on_check,
            )
            return await (asyncio.wait_for(call, timeout) if timeout is not None else call)

        async with self.lanes.lane(source, severity):
            try:
                return await one(target, obj)
            except (KubewhyError, TimeoutError):
                if fallback is None:
                    raise
                log.info("diagnosis of %s failed; diagnosing %s instead", target, fallback)
                return await one(fallback, None)

    async def diagnose_described(
        self, text: str, *, actor: str | None = None, source: str | None = None, channel: str | None = None
    ) -> Report:
        """Diagnose pasted ``kubectl describe`` output (the text is the whole cluster)."""
        from .service import diagnose_described

        return await diagnose_described(
            text, self.deps, actor=self._actor(actor), source=source or self.source, channel=channel
        )

    # ---- what a person asks to see -------------------------------------------------------------------------------
    async def changes(self, target: Target, since: timedelta, *, secrets: bool = False) -> Timeline:
        """What changed around ``target`` in the last ``since`` (kubewhy/changes): its revisions, who wrote
        which fields, its configuration, node and Services, the events that record a change."""
        from .adapters.cache import CachedKube
        from .changes.timeline import timeline
        from .service import resolve_target

        kube = CachedKube(self.kube)
        obj = {**await resolve_target(kube, target), "kind": target.kind}
        until = self.deps.clock()
        return await timeline(kube, obj, until - since, until, secrets=secrets)

    async def describe(self, target: Target) -> list[str]:
        from .inspect import describe_lines

        return await describe_lines(self.kube, target)

    async def events(self, target: Target) -> list[str]:
        from .inspect import events_lines

        return await events_lines(self.kube, target)

    async def recent_logs(self, target: Target) -> tuple[str, list[str]]:
        """(what is shown, the last lines) of the container that restarted most."""
        from .inspect import logs_lines

        return await logs_lines(self.kube, target)

    async def get(self, target: Target) -> dict[str, Any] | None:
        return await self.kube.get(target.kind, target.namespace, target.name)

    async def logs(self, target: Target, container: str, *, previous: bool = False, tail: int = 200) -> str | None:
        return await self.kube.logs(target.namespace or "", target.name, container, previous=previous, tail=tail)

    async def chart(self, finding: Finding) -> ChartData:
        """The series behind a finding's metric evidence (:class:`kubewhy.charts.ChartError` says why not)."""
        from .charts import chart_data

        deps = self.deps
        return await chart_data(finding, catalog=deps.catalog, kube=deps.kube, prom=deps.prom)

    async def chart_png(self, finding: Finding) -> tuple[str, bytes]:
        """(file name, PNG) of a finding's chart. Drawing takes matplotlib a few hundred milliseconds of CPU, so
        it runs in a thread: a bot's event loop keeps answering meanwhile."""
        import tempfile
        from pathlib import Path

        from .charts import chart_filename, render_png

        data = await self.chart(finding)
        name = chart_filename(finding)

        def draw() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                return render_png(data, Path(tmp) / name).read_bytes()

        return name, await asyncio.to_thread(draw)

    # ---- the fix lifecycle ---------------------------------------------------------------------------------------
    def propose(
        self,
        report: Report,
        *,
        channel: str | None = None,
        incident: str | None = None,
        source: str | None = None,
        policy: ApprovalPolicy = "none",
        requested_by: str | None = None,
        two_person: tuple[str, ...] = (),
    ) -> dict[tuple[int, int], Action]:
        """Every fix of ``report`` that carries a patch, as an :class:`Action` keyed by (finding, fix) index;
        each proposal is recorded and kept (:meth:`fix` finds it again by id). ``requested_by``: who asked;
        ``two_person``: where that person may not also approve (:func:`kubewhy.lifecycle.needs_two`)."""
        from . import lifecycle

        found: dict[tuple[int, int], Action] = {}
        for i, finding in enumerate(report.findings):
            for j, fix in enumerate(finding.fixes):
                if fix.patch is None:
                    continue
                action = lifecycle.propose(
                    self.deps,
                    fix,
                    target=report.target,
                    finding_id=finding.id,
                    acting_as=self.acting_as,
                    source=source or self.source,
                    channel=channel,
                    incident=incident,
                    policy=policy,
                    requested_by=requested_by,
                    two_person=two_person,
                )
                self.fixes[action.id] = action
                found[(i, j)] = action
        return found

    def propose_fix(self, fix: Fix, *, target: Target, finding_id: str, channel: str | None = None) -> Action:
        """One fix offered (the TUI's confirm dialog); :class:`UsageError` when it has no patch."""
        from . import lifecycle

        action = lifecycle.propose(
            self.deps,
            fix,
            target=target,
            finding_id=finding_id,
            acting_as=self.acting_as,
            source=self.source,
            channel=channel,
        )
        self.fixes[action.id] = action
        return action

    def fix(self, action_id: str) -> Action | None:
        """A proposal made by this process (None once forgotten: the person re-runs the diagnosis)."""
        return self.fixes.get(action_id)

    async def dry_run(
        self, action: Action, *, actor: str | None = None, identity: Identity | None = None
    ) -> PatchResult:
        """The dry run shown to ``actor``, as ``identity`` (a person's, impersonated; default: the action's)."""
        from . import lifecycle

        return await lifecycle.dry_run(self.deps, action, actor=self._actor(actor), identity=identity)

    async def precheck(self, action: Action, identity: Identity | None = None, actor: str | None = None) -> Precheck:
        from . import lifecycle

        return await lifecycle.precheck(self.deps, action, identity, actor)

    async def apply(self, action: Action, *, actor: str | None = None) -> PatchResult:
        from . import lifecycle

        try:
            return await lifecycle.apply(self.deps, action, actor=self._actor(actor))
        finally:
            self._fresh_reads()  # what is read next (a re-run, the verification) sees the cluster after the fix

    def _fresh_reads(self) -> None:
        """Drop the LISTs shared between diagnoses (SHARED_LISTS): after a change made through kubewhy, or before
        a read that must see the cluster as it is now."""
        kube = self._deps.kube if self._deps is not None else None
        if isinstance(kube, SharedLists):
            kube.forget()

    def decline(self, action: Action, *, actor: str | None = None, reason: str = "", **details: Any) -> None:
        from . import lifecycle

        lifecycle.decline(self.deps, action, actor=self._actor(actor), reason=reason, **details)

    # ---- the audit log -------------------------------------------------------------------------------------------
    def record(
        self,
        action: str,
        *,
        actor: str | None = None,
        source: str | None = None,
        channel: str | None = None,
        target: Target | None = None,
        details: dict[str, Any] | None = None,
        incident: str | None = None,
    ) -> None:
        """A click, a view opened, a page updated: who, where, on what (never blocks, never raises)."""
        if self._audit is not None:
            self._audit.record_action(
                action,
                actor=self._actor(actor),
                source=source or self.source,
                channel=channel,
                details=details,
                incident=incident,
                **_target_fields(target),
            )

    def open_incident(
        self, ref: str, title: str, *, actor: str | None = None, source: str | None = None, summary: str = ""
    ) -> None:
        if self._audit is not None:
            self._audit.open_incident(
                ref, title, actor=self._actor(actor), source=source or self.source, summary=summary
            )

    def resolve_incident(self, ref: str, *, actor: str | None = None, summary: str | None = None) -> None:
        if self._audit is not None:
            self._audit.resolve_incident(ref, actor=self._actor(actor), summary=summary)

    def page(
        self,
        *,
        rule: str,
        fingerprint: str,
        state: str = "firing",
        target: Target | None = None,
        channel: str | None = None,
        message_ts: str | None = None,
        message_id: str | None = None,
        summary: str = "",
        incident: str | None = None,
        key: uuid.UUID | None = None,
    ) -> None:
        """A page sent (``firing``) or cleared (``resolved``) by a watcher; one row per fingerprint (never blocks,
        never raises). ``key``: the record's idempotency key, when the caller may record the same page again."""
        from . import actions

        actions.page(
            self,
            rule=rule,
            fingerprint=fingerprint,
            state=state,
            target=target,
            channel=channel,
            message_ts=message_ts,
            message_id=message_id,
            summary=summary,
            incident=incident,
            key=key,
        )

    async def history(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        target: Target | None = None,
        incident: str | None = None,
        limit: int = 100,
        namespaces: Sequence[str] | None = None,
        own_records: bool = True,
    ) -> list[HistoryEntry]:
        """What was asked, found, proposed, applied and paged, newest first. ``own_records``: this process's
        queued records are written first, so they are in what is read back."""
        if own_records and self._audit is not None:
            await self._audit.flush()
        from . import actions

        fields = _target_fields(target)
        return await actions.history(
            self._audit,
            since=since,
            until=until,
            target_kind=fields.get("target_kind"),
            target_name=fields.get("target_name"),
            target_namespace=fields.get("target_namespace"),
            incident=incident,
            limit=limit,
            namespaces=namespaces,
        )

    async def postmortem(self, ref: str) -> str | None:
        from . import actions

        return await actions.postmortem(self._audit, ref)

    async def prune(self, older_than: timedelta) -> dict[str, int]:
        from . import actions

        return await actions.prune(self._audit, older_than)

    async def stats(
        self, *, since: datetime | None = None, until: datetime | None = None, bucket: Bucket = "week"
    ) -> AuditStats:
        """``kubewhy stats``: fixes proposed, approved, applied and verified per playbook and over time, and pages."""
        if self._audit is None:
            raise SettingsError("stats are read from the audit database: unset KUBEWHY_NO_AUDIT (or --no-audit)")
        from .audit import stats

        await self._audit.flush()
        return await stats.compute(self._audit.engine, since=since, until=until, bucket=bucket)

    async def schema(self, action: str, revision: str = "head") -> str:
        """``kubewhy db upgrade|downgrade|current`` on the settings' database: the line to print (needs no open
        audit writer: ``Kubewhy(settings, cluster=False, audit=False)``)."""
        from . import actions

        return await actions.database_schema(self.settings, action, revision)

    # ---- the watchers' incidents ---------------------------------------------------------------------------------
    async def ledger(self) -> Ledger:
        """The incident ledger on the audit database, opened on first use (the schema brought to head first)."""
        if self._ledger is None:
            if self._audit is None:
                raise SettingsError(
                    "the incident ledger lives in the audit database: unset KUBEWHY_NO_AUDIT (or --no-audit)"
                )
            await self._audit.ready()
            self._ledger = compose.build_ledger(self._audit)
        return self._ledger

    async def trust(self) -> TrustStore:
        """What a front-end may believe about a request (the requests it saw, the messages it posted), on the audit
        database, opened on first use (in memory when there is none)."""
        if self._trust is None:
            from .audit.trust import TrustStore

            if self._audit is None:
                self._trust = TrustStore()
            else:
                await self._audit.ready()  # the schema at head first (not the records queued)
                self._trust = TrustStore(self._audit.engine, self._audit.url)
        return self._trust

    async def verifications(self) -> VerifyQueue:
        """The verify-after-fix jobs, on the audit database (in memory without one), opened on first use."""
        if self._verify is None:
            from .audit.verify import VerifyQueue

            if self._audit is None:
                self._verify = VerifyQueue()
            else:
                await self._audit.flush()  # the schema at head first
                self._verify = VerifyQueue(self._audit.engine, self._audit.url)
        return self._verify

    async def schedule_verify(
        self, action: Action, *, after: timedelta, channel: str | None = None, ts: str | None = None
    ) -> VerifyJob:
        """After the settle window (the playbook's ``settle``, else ``after``), the diagnosis of the fixed target runs
        again (:meth:`verify_due`)."""
        from datetime import UTC

        return await (await self.verifications()).schedule(
            target=action.target.ref,
            finding_id=action.finding_id,
            actor=action.approved_by or "",
            due_at=datetime.now(UTC) + self.settle_window(action.finding_id, after),
            proposal_key=action.audit_key,
            channel=channel,
            ts=ts,
        )

    def settle_window(self, playbook_id: str, default: timedelta) -> timedelta:
        """How long a fix of ``playbook_id`` settles before it is verified: its ``settle``, else ``default``."""
        playbook = self.catalog.by_id(playbook_id)
        return timedelta(seconds=playbook.settle) if playbook and playbook.settle is not None else default

    async def verify_due(self, owner: str) -> list[tuple[VerifyJob, Verification]]:
        """Run the verifications that are due and that ``owner`` could claim (each runs once, whatever the number
        of replicas; a dead claimer's are taken over); each outcome is recorded."""
        from . import lifecycle
        from .models.target import parse_target

        queue = await self.verifications()
        done = []
        self._fresh_reads()  # a verification judges the cluster as it is now, never a LIST shared moments ago
        for job in await queue.claim_due(owner):
            try:
                async with self.lanes.lane("verify"):  # nobody waits on it: people's diagnoses first
                    outcome = await lifecycle.verify(
                        self.deps,
                        parse_target(job.target),
                        job.finding_id,
                        source=self.source,
                        proposal=job.proposal_key,
                    )
            except KubewhyError as exc:
                await queue.finish(job.id, "error", {"error": str(exc)[:500]})
                log.warning("verifying the fix of %s failed: %s", job.target, exc)
                continue
            state = "resolved" if outcome.resolved else "failing"
            await queue.finish(job.id, state, {"summary": outcome.summary, "findings": list(outcome.findings)})
            done.append((job, outcome))
        return done

    async def incidents(self) -> list[LedgerIncident]:
        from . import incidents

        return await incidents.open_incidents(await self.ledger())

    async def incident(self, ident: int | str) -> LedgerIncident | None:
        return await (await self.ledger()).get(ident)

    async def ack(
        self, ident: int | str, *, actor: str | None = None, channel: str | None = None
    ) -> LedgerIncident | None:
        """None when there is no such open incident (already acknowledged or resolved)."""
        from . import incidents

        return await incidents.acknowledge(
            self,
            await self.ledger(),
            ident,
            actor=self._actor(actor),
            source=self.source,
            channel=channel,
        )

    async def resolve(
        self, ident: int | str, *, actor: str | None = None, channel: str | None = None
    ) -> LedgerIncident | None:
        from . import incidents

        return await incidents.resolve(
            self,
            await self.ledger(),
            ident,
            actor=self._actor(actor),
            source=self.source,
            channel=channel,
        )

    async def mute(self, target: str, span: timedelta, *, actor: str | None = None, channel: str | None = None) -> Mute:
        from . import incidents

        return await incidents.mute(
            self,
            await self.ledger(),
            target,
            span,
            actor=self._actor(actor),
            source=self.source,
            channel=channel,
        )

    async def unmute(self, target: str, *, actor: str | None = None, channel: str | None = None) -> int:
        from . import incidents

        return await incidents.unmute(
            self,
            await self.ledger(),
            target,
            actor=self._actor(actor),
            source=self.source,
            channel=channel,
        )


def default_identity(settings: Settings) -> Identity:
    """Whose credentials the connection carries: in the cluster, the pod's service account; else the user's own
    kubeconfig (its context named, so the audit log says which)."""
    from .lifecycle import Identity

    if settings.kube.in_cluster:
        return Identity("service-account", "kubewhy's service account")
    if settings.kube.snapshot:
        return Identity("user", settings.actor or "unknown user")
    current = None
    try:
        current = compose.kube_contexts(settings)[0]
    except KubewhyError:
        current = None
    who = settings.actor or "unknown user"
    return Identity("user", f"{who} (kubeconfig context {current})" if current else who)


def _target_fields(target: Target | None) -> dict[str, Any]:
    if target is None:
        return {}
    return {"target_kind": target.kind, "target_namespace": target.namespace, "target_name": target.name}


__all__ = ["Bounded", "Kubewhy", "default_identity"]
