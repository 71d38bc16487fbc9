"""Running the watchers in a process: settings in, the process's application object (:class:`kubewhy.app.Kubewhy`:
diagnoses, the audit log, the incident ledger, the watch stream), a notifier plugged in by the front-end
(``kubewhy watch``: Slack or stdout; ``k8sbot``: Slack), until ``stop`` is set (SIGTERM, SIGINT).

On the way out the Lease is released (a successor takes over at once), the event stream's position is saved and
the audit log is flushed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..app import Kubewhy
from ..errors import KubewhyError
from ..settings import Settings, SettingsError
from .engine import Watcher, WatchOptions
from .lease import LeaseElector
from .rules import METRIC_DETECTORS, RuleSet, load_rules

if TYPE_CHECKING:
    from .notify import Notifier

log = logging.getLogger("kubewhy.watch")


def rules_for(settings: Settings) -> RuleSet:
    rules = load_rules(settings.watch.rules)
    if settings.watch.grace is not None:
        rules = rules.with_grace(timedelta(seconds=settings.watch.grace))
    return rules


async def run_watchers(
    settings: Settings,
    notifier: Notifier,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Watcher], None] | None = None,
    app: Kubewhy | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Watcher:
    """Watch until ``stop`` is set (or for ever); returns the watcher (its stats) once stopped. ``app``: the
    process's open application object when it has one (``k8sbot`` shares the bot's reader, audit log and fix
    registry); else one is opened here, from the settings, and closed on the way out. ``clock``: the watcher's
    time (tests move a virtual one)."""
    rules = rules_for(settings)  # bad rules fail before anything starts
    if app is not None:
        return await _run(settings, notifier, rules, app, stop or asyncio.Event(), on_ready, clock)
    async with Kubewhy(settings, source="watcher") as opened:
        return await _run(settings, notifier, rules, opened, stop or asyncio.Event(), on_ready, clock)


async def _run(
    settings: Settings,
    notifier: Notifier,
    rules: RuleSet,
    app: Kubewhy,
    stop: asyncio.Event,
    on_ready: Callable[[Watcher], None] | None,
    clock: Callable[[], datetime] | None = None,
) -> Watcher:
    source = app.watch_source()  # SettingsError for snapshot files
    for warning in app.warnings:
        log.warning("%s", warning)
    ledger = await app.ledger()  # SettingsError without the audit log; the schema at head before the first read
    w = settings.watch
    cluster = w.cluster or urlsplit(source.endpoint).netloc or source.endpoint
    elector = None
    if w.leader_election:
        objects = source.capabilities.objects
        if objects is None:
            raise SettingsError(f"leader election needs a connection that can write a Lease ({source.endpoint})")
        elector = LeaseElector(
            objects,
            namespace=w.lease_namespace,
            name=w.lease_name,
            identity=w.identity,
            duration=w.lease_duration,
            renew=max(w.lease_duration / 3, 0.2),
            renew_deadline=w.lease_duration * 2 / 3,
            retry=max(w.lease_duration / 15, 0.2),
        )
    watcher = Watcher(
        app,
        source,
        ledger,
        notifier,
        rules,
        WatchOptions(
            cluster=cluster,
            channel=w.channel,
            identity=w.identity,
            update_interval=w.update_interval,
            claim_stale_after=2 * w.lease_duration,
            **_change_log(settings),
        ),
        elector=elector,
        **({"clock": clock} if clock is not None else {}),
    )
    scheduler = _scheduler(settings, watcher)
    tasks = [asyncio.create_task(watcher.run(), name="watcher")]
    if elector is not None:
        tasks.append(asyncio.create_task(elector.run(), name="lease"))
    stopper = asyncio.create_task(stop.wait(), name="stop")
    scheduler.start()
    ready = asyncio.create_task(watcher.ready.wait())

    def announce(_: object) -> None:
        log.info("watching %s as %s (cluster %s, %d rules)", source.endpoint, w.identity, cluster, len(rules.rules))
        if on_ready is not None:
            on_ready(watcher)

    ready.add_done_callback(announce)
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        scheduler.shutdown(wait=False)
        stopper.cancel()
        ready.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sent = watcher.requests()  # the change log's watches on their own line (issue 24's budget excludes them)
        log.info("LIST and WATCH requests: watchers %d", sent["watchers"])
        if watcher.changes is not None:
            log.info("LIST and WATCH requests: change log %d (%s)", sent["changes"], watcher.changes.stats)
    return watcher


def _change_log(settings: Settings) -> dict[str, Any]:
    """The change log's kinds and HMAC key (kubewhy/changes/recorder.py), none without the audit database."""
    from ..changes.recorder import change_key, kinds_for

    w = settings.watch
    kinds = kinds_for(w.changes, w.change_secrets) if settings.audit.enabled else ()
    if not kinds:
        return {}
    return {"change_kinds": kinds, "change_key": change_key(w.change_key, settings.audit.data_dir)}


def _scheduler(settings: Settings, watcher: Watcher) -> Any:
    """APScheduler's AsyncIOScheduler: the metric rules, the saved watch position, audit retention. Every job
    runs at most once at a time and a late one is coalesced into one run."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from .metrics import evaluate

    scheduler = AsyncIOScheduler()
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    prom = watcher.app.deps.prom
    for rule in watcher.rules.rules:
        if rule.detect not in METRIC_DETECTORS:
            continue
        if prom is None:  # the kubelet sampler's, below
            continue

        async def job(rule=rule) -> None:  # type: ignore[no-untyped-def]
            if not watcher.ready.is_set() or not watcher.leading():
                return
            try:
                await evaluate(rule, prom, watcher)
            except KubewhyError as exc:
                log.warning("rule %s: %s", rule.id, exc)

        scheduler.add_job(
            job,
            "interval",
            seconds=rule.every.total_seconds(),
            id=f"rule-{rule.id}",
            name=f"evaluate {rule.id}",
            **common,
        )
    if prom is None:  # without Prometheus, the metric rules from the kubelets (kubewhy/watch/sampler.py)
        from .sampler import attach

        attach(settings, watcher, scheduler, common)
    scheduler.add_job(
        watcher.save_cursors, "interval", seconds=5, id="save-cursors", name="save the watch position", **common
    )
    if settings.watch.retention_days > 0 and watcher.app.audit is not None:
        from ..audit.retention import schedule_retention

        schedule_retention(scheduler, watcher.app.audit, timedelta(days=settings.watch.retention_days))
    return scheduler


__all__ = ["rules_for", "run_watchers"]
