"""The composition root: :class:`Settings` in, the core's dependencies (:class:`Deps`) out.

Every front-end builds what it needs here and nowhere else, so each one plugs into the core the same way:

- the CLI: ``async with compose.opened(settings) as deps: await service.diagnose(target, deps, ...)``;
- the Slack bot (``bot/runner.py``): the same, for the lifetime of the process;
- the watchers and the TUI: the same. Open once at start-up, share the one ``Deps`` between tasks (the readers
  and the audit writer are safe to share; each audit batch uses its own session), and let the context manager
  flush the audit log at shutdown. Actions other than a diagnosis go through :mod:`kubewhy.actions`.

``build`` is async because ``--prometheus discover`` asks the cluster for its Prometheus Service.
Problems that do not stop a diagnosis (a playbook skipped, no Prometheus found, the audit log unavailable) are
returned in ``deps.warnings`` for the front-end to show.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .adapters.ports import KubeletReader, KubeReader, MetricsReader, WatchSource
from .settings import DISCOVER, Settings, SettingsError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .adapters.kubelet import RecentSamples
    from .audit.ledger import Ledger
    from .audit.writer import AuditLog, RetryPolicy
    from .checks.registry import CheckRegistry
    from .models.target import Target
    from .playbooks.loader import Catalog
    from .service import Deps


def build_kube(
    settings: Settings, *, prefetch: Target | None = None, sleep: Callable[[float], None] | None = None
) -> KubeReader:
    """The live cluster (kubeconfig, context or in-cluster service account), or the snapshot files.

    ``sleep``: how the reader pauses before a retry (``time.sleep``, in the request's thread); the one wait on the
    ``why`` path, so a test can record the waits a diagnosis plans instead of spending them.

    ``prefetch`` (called in a running event loop): the live reader starts fetching that object now, so the round
    trip overlaps what the caller does next (``kubewhy why`` imports the engine and loads the catalogue); see
    kubewhy/adapters/prefetch.py. This module imports the engine only when :func:`build` runs, for the same
    reason."""
    if settings.kube.snapshot:
        from .adapters.kube_snapshot import SnapshotKube

        return SnapshotKube(list(settings.kube.snapshot))
    from .adapters.kube_live import LiveKube, build_api_client

    api = build_api_client(settings.kube.kubeconfig, settings.kube.context, in_cluster=settings.kube.in_cluster)
    kube: KubeReader = LiveKube(api, timeout=settings.kube.request_timeout, sleep=sleep or time.sleep)
    if prefetch is not None:
        from .adapters.prefetch import PrefetchingKube

        kube = PrefetchingKube(kube, prefetch.kind, prefetch.namespace, prefetch.name)
    return kube


def build_watch_source(settings: Settings) -> WatchSource:
    """The live cluster as paged LISTs and WATCH streams (the watchers' informers, the TUI's live lists); it also
    reads (``KubeReader``) and creates/replaces (the watchers' Lease). Snapshots cannot be watched."""
    if settings.kube.snapshot:
        raise SettingsError("watching needs a live cluster: --snapshot files cannot be watched")
    from .adapters.kube_live import LiveKube, build_api_client

    api = build_api_client(settings.kube.kubeconfig, settings.kube.context, in_cluster=settings.kube.in_cluster)
    return LiveKube(api, timeout=settings.kube.request_timeout)


def kube_contexts(settings: Settings) -> tuple[str | None, list[str]]:
    """(the context in use, every context of the kubeconfig): what a front-end shows and switches between."""
    if settings.kube.snapshot or settings.kube.in_cluster:
        return None, []
    from .adapters.kube_live import kube_contexts as read

    return read(settings.kube.kubeconfig, settings.kube.context)


def build_ledger(audit: AuditLog) -> Ledger:
    """The watchers' incident ledger, on the audit database (its engine and schema)."""
    from .audit.ledger import Ledger

    return Ledger(audit.engine, audit.url)


async def build_metrics(settings: Settings, kube: KubeReader, warnings: list[str]) -> MetricsReader | None:
    """PromMetrics with the settings' token, basic auth, CA and timeout; ``discover`` looks the URL up in-cluster."""
    prom = settings.prometheus
    if not prom.enabled:
        return None
    from .adapters.prom import PromMetrics, discover, discover_service

    proxy = kube.capabilities.proxy
    if prom.url == DISCOVER and not settings.kube.in_cluster and proxy is not None:
        # From outside the cluster the Service's DNS name does not resolve: go through the API server.
        from .adapters.prom_proxy import PromThroughKube

        service = await discover_service(kube)
        if service is None:
            warnings.append("no Prometheus Service found in the cluster: metric checks are skipped")
            return None
        return PromThroughKube(proxy, *service, timeout=prom.timeout)
    if prom.url == DISCOVER:
        found = await discover(kube)
        if found is None:
            warnings.append("no Prometheus Service found in the cluster: metric checks are skipped")
            return None
        prom = dataclasses.replace(prom, url=found)
    return PromMetrics(prom)


def build_kubelet(settings: Settings, kube: KubeReader, samples: RecentSamples | None = None) -> KubeletReader | None:
    """Without Prometheus (none configured, or ``discover`` found none), metric checks ask the kubelets through
    the API server's node proxy, once per node; a reader that cannot proxy (a snapshot) gets None, and those checks
    are skipped. ``samples``: stored recent samples of the kubelets to take rates from (the kubelet sampler's;
    default: the reader keeps its own readings). :func:`build` calls this only when it has no Prometheus."""
    from .adapters.kubelet import KubeletStats

    nodes = kube.capabilities.nodes
    if nodes is None:  # a snapshot
        return None
    return KubeletStats(nodes, samples=samples)


def build_catalog(
    settings: Settings, warnings: list[str], registry: CheckRegistry | None = None, *, long_lived: bool = False
) -> Catalog:
    """The bundled playbooks plus the user's directories, compiled against ``registry`` (default: the built-ins),
    through the compile cache in ``settings.cache_dir``. ``long_lived``: files missing from the cache are compiled
    by a child process first (kubewhy/playbooks/warm.py), so the pydantic schema stays out of this one."""
    from .playbooks.loader import load_dirs

    if long_lived and registry is None and settings.cache_dir is not None:
        _compile_apart(settings.cache_dir, list(settings.playbook_dirs))
    catalog = load_dirs(list(settings.playbook_dirs), registry=registry, cache_dir=settings.cache_dir)
    warnings.extend(f"playbook skipped: {e}" for e in catalog.errors)
    return catalog


def _compile_apart(cache_dir: Path, dirs: list[Path]) -> None:
    """Fill the compile cache in a child process when some file is missing from it (best effort: whatever the
    child could not compile is compiled here, as without it)."""
    import subprocess
    import sys

    from .playbooks.warm import cold_files

    if not cold_files(cache_dir, dirs):
        return
    try:
        subprocess.run(
            [sys.executable, "-m", "kubewhy.playbooks.warm", str(cache_dir), *map(str, dirs)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("compiling the playbooks in a child process failed: %s", exc)


def build_audit(
    settings: Settings,
    *,
    retry: RetryPolicy | None = None,
    on_warning: Callable[[str], None] | None = None,
    spool: bool = False,
    long_lived: bool = False,
) -> AuditLog | None:
    """The audit writer for the normalised URL, migrating on first use; None when disabled. ``spool=True``
    (a short-lived process such as ``kubewhy why``): records are appended to the database's spool file and
    committed by the next writer that starts on it (see kubewhy/audit/spool.py); no database is opened.
    ``long_lived`` (the bot, the watchers): a migration runs in a child process, so Alembic's memory is not
    kept for the process's life (kubewhy/audit/revision.py)."""
    if not settings.audit.enabled:
        return None
    from .audit.writer import AuditLog

    return AuditLog(
        settings.audit.url,
        fallback_path=settings.audit.fallback_path,
        auto_migrate=True,
        migrate_apart=long_lived,
        retry=retry,
        on_warning=on_warning,
        spool=spool,
        stream=settings.audit.stream or None,
    )


async def build(
    settings: Settings,
    *,
    kube: KubeReader | None = None,
    audit: bool = True,
    registry: CheckRegistry | None = None,
    retry: RetryPolicy | None = None,
    on_warning: Callable[[str], None] | None = None,
    spool: bool = False,
    sleep: Callable[[float], None] | None = None,
    long_lived: bool = False,
) -> Deps:
    """Everything a front-end needs. ``kube`` replaces the reader the settings describe (a test's, a TUI's
    cached one); ``registry`` the built-in checks (a test's fresh one, with checks of its own); ``audit=False``
    skips the audit log whatever the settings say; ``spool=True`` spools records (see :func:`build_audit`);
    ``sleep`` is the reader's pause before a retry (see :func:`build_kube`). Close with :func:`close`."""
    import asyncio

    # A prefetch (build_kube(prefetch=...)) is a task: it sends its request when the loop first runs it. Let it go
    # out now, so its round trip overlaps the imports and the catalogue below rather than following them.
    await asyncio.sleep(0)
    from .service import Deps

    warnings: list[str] = []
    catalog = build_catalog(settings, warnings, registry, long_lived=long_lived)
    kube = kube if kube is not None else build_kube(settings, sleep=sleep)
    prom = await build_metrics(settings, kube, warnings)
    recorder = None
    if audit:
        try:
            recorder = build_audit(settings, retry=retry, on_warning=on_warning, spool=spool, long_lived=long_lived)
        except ImportError as exc:  # the diagnosis matters more than its record
            warnings.append(f"audit: disabled ({exc})")
    kubelet = build_kubelet(settings, kube) if prom is None else None
    deps = Deps(
        kube=kube,
        catalog=catalog,
        prom=prom,
        kubelet=kubelet,
        check_timeout=settings.check_timeout,
        audit=recorder,
        settings=settings,
        warnings=warnings,
    )
    clock = getattr(kube, "clock", None)
    if callable(clock):  # a snapshot's "now" is the time of its newest object
        deps.clock = clock
    return deps


async def close(deps: Deps, *, timeout: float | None = 30.0) -> None:
    """Flush and close what :func:`build` opened (the audit log; records it cannot write go to the fallback file)."""
    if deps.audit is not None:
        await deps.audit.aclose(timeout=timeout)


@asynccontextmanager
async def opened(
    settings: Settings,
    *,
    close_timeout: float | None = 30.0,
    kube: KubeReader | None = None,
    audit: bool = True,
    registry: CheckRegistry | None = None,
    retry: RetryPolicy | None = None,
    on_warning: Callable[[str], None] | None = None,
    spool: bool = False,
) -> AsyncIterator[Deps]:
    """:func:`build`, then :func:`close` on the way out."""
    deps = await build(
        settings, kube=kube, audit=audit, registry=registry, retry=retry, on_warning=on_warning, spool=spool
    )
    try:
        yield deps
    finally:
        await close(deps, timeout=close_timeout)


@asynccontextmanager
async def audit_opened(
    settings: Settings, *, close_timeout: float | None = 10.0, on_warning: Callable[[str], None] | None = None
) -> AsyncIterator[AuditLog | None]:
    """Only the audit log (``kubewhy history``, ``postmortem``, ``incident``, ``db prune``: no cluster needed)."""
    audit = build_audit(settings, on_warning=on_warning)
    try:
        yield audit
    finally:
        if audit is not None:
            await audit.aclose(timeout=close_timeout)


__all__ = [
    "audit_opened",
    "build",
    "build_audit",
    "build_catalog",
    "build_kube",
    "build_kubelet",
    "build_ledger",
    "build_metrics",
    "build_watch_source",
    "close",
    "kube_contexts",
    "opened",
]
