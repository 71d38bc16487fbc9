"""``k8sbot``'s probes and metrics: ``/healthz``, ``/readyz`` and Prometheus ``/metrics`` on their own port
(``KUBEWHY_HEALTH_PORT``, 8080), whatever the Slack mode.

- ``/healthz`` (liveness) answers from the event loop: if it answers, the loop that runs the bot and the watchers
  is not stuck.
- ``/readyz`` (readiness): the watchers' informers have synced and read the ledger (``Watcher.ready``), and the
  audit database answers a query. It answers only ``ok`` or ``not ok``: the probe port needs no login, and a
  database error names its driver, user, host and port. Why not is in the log (each time it changes).
- ``/metrics``: the core's counters (:mod:`kubewhy.telemetry`: diagnoses, check durations, API errors), the Slack
  calls that failed, and, read from the watcher at each scrape, its pages, watch lag and leader status.

This is the only module that imports ``prometheus_client`` (an import contract in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from kubewhy import telemetry
from kubewhy.audit.ledger import LedgerIncident
from kubewhy.errors import KubewhyError
from kubewhy.settings import SettingsError
from kubewhy.watch.notify import Notifier, Page

if TYPE_CHECKING:
    from kubewhy.audit.ledger import Ledger
    from kubewhy.watch.engine import Watcher

log = logging.getLogger("kubewhy.bot.health")
DB_TIMEOUT = 5.0  # seconds the readiness probe waits for the audit database
# The watcher's counters (``Watcher.stats``) → the ``action`` label of kubewhy_pages_total.
ACTIONS = {"pages": "page", "updates": "update", "replies": "reply", "resolves": "resolve", "absorbed": "absorbed"}


class PrometheusSink:
    """The core's metrics (:data:`kubewhy.telemetry.METRICS`) as prometheus-client series in ``registry``."""

    def __init__(self, registry: CollectorRegistry):
        self.series: dict[str, Counter | Histogram] = {}
        for m in telemetry.METRICS.values():
            if m.kind == "counter":
                self.series[m.name] = Counter(m.name.removesuffix("_total"), m.help, m.labels, registry=registry)
            else:
                self.series[m.name] = Histogram(m.name, m.help, m.labels, registry=registry)

    def count(self, metric: telemetry.Metric, labels: tuple[str, ...], amount: float) -> None:
        series = self.series[metric.name]
        assert isinstance(series, Counter)
        (series.labels(*labels) if labels else series).inc(amount)

    def observe(self, metric: telemetry.Metric, labels: tuple[str, ...], value: float) -> None:
        series = self.series[metric.name]
        assert isinstance(series, Histogram)
        (series.labels(*labels) if labels else series).observe(value)


class WatcherCollector(Collector):
    """Read at each scrape from the running watcher (none yet: leader 0, not synced, no other series)."""

    def __init__(self) -> None:
        self.watcher: Watcher | None = None

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        w = self.watcher
        yield GaugeMetricFamily(
            "kubewhy_leader",
            "1 while this replica holds the watchers' Lease (only the leader pages).",
            value=1.0 if w is not None and w.leading() else 0.0,
        )
        yield GaugeMetricFamily(
            "kubewhy_watch_synced",
            "1 once the informers have listed and the ledger was read.",
            value=1.0 if w is not None and w.ready.is_set() else 0.0,
        )
        if w is None:
            return
        lag = GaugeMetricFamily(
            "kubewhy_watch_lag_seconds",
            "Seconds since the last event (or bookmark) of each watch stream.",
            labels=["kind"],
        )
        now = time.monotonic()
        for informer in (w.nodes, w.pods, w.events):
            if informer is not None and informer.stats.last_event_at:
                lag.add_metric([informer.kind], now - informer.stats.last_event_at)
        yield lag
        pages = CounterMetricFamily(
            "kubewhy_pages",
            "What the watchers sent: page (a new incident), update, "
            "reply (in the thread), resolve, absorbed (grouped under a node's incident).",
            labels=["action"],
        )
        for key, action in ACTIONS.items():
            pages.add_metric([action], float(w.stats.get(key, 0)))
        yield pages
        yield CounterMetricFamily(
            "kubewhy_watch_errors",
            "Errors while opening, updating or resolving incidents.",
            value=float(w.stats.get("errors", 0)),
        )


class CountingNotifier:
    """A notifier that counts the calls to Slack that failed (``kubewhy_slack_errors_total``) and passes on."""

    def __init__(self, inner: Notifier, errors: Counter):
        self.inner, self.errors = inner, errors

    async def post(self, page: Page) -> str:
        with self.errors.labels("post").count_exceptions():
            return await self.inner.post(page)

    async def update(self, page: Page, message_id: str) -> None:
        with self.errors.labels("update").count_exceptions():
            await self.inner.update(page, message_id)

    async def reply(self, page: Page, message_id: str) -> None:
        with self.errors.labels("reply").count_exceptions():
            await self.inner.reply(page, message_id)

    async def find(self, incident: LedgerIncident) -> str | None:
        with self.errors.labels("find").count_exceptions():
            return await self.inner.find(incident)


class Health:
    """The probe and metrics server of one process; :meth:`start`, then :meth:`watching` once the watcher runs."""

    def __init__(self, ledger: Ledger | None, *, port: int, host: str = "0.0.0.0"):
        self.ledger, self.port, self.host = ledger, port, host
        self.registry = CollectorRegistry()
        self.sink = PrometheusSink(self.registry)
        self.slack_errors = Counter(
            "kubewhy_slack_errors", "Calls to the Slack Web API that failed, by call.", ["call"], registry=self.registry
        )
        self.collector = WatcherCollector()
        self.registry.register(self.collector)
        self._runner: web.AppRunner | None = None
        self._previous_sink: telemetry.Sink | None = None
        self._said: list[str] = []  # the problems last logged

    def notifier(self, inner: Notifier) -> CountingNotifier:
        return CountingNotifier(inner, self.slack_errors)

    def watching(self, watcher: Watcher) -> None:
        """``run_watchers``' ``on_ready``: from now on the watcher's state is in /readyz and /metrics."""
        self.collector.watcher = watcher

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            raise SettingsError(
                f"KUBEWHY_HEALTH_PORT={self.port}: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        self._previous_sink = telemetry.install(self.sink)
        log.info("probes and metrics on %s:%s (/healthz, /readyz, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        telemetry.install(self._previous_sink)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        problems = await self.problems()
        if problems != self._said:
            self._said = problems
            for p in problems:
                log.warning("not ready: %s", p)
            if not problems:
                log.info("ready")
        if problems:
            return web.Response(status=503, text="not ok\n")
        return web.Response(text="ok\n")

    async def problems(self) -> list[str]:
        """Why this replica is not ready (empty: ready)."""
        out = []
        w = self.collector.watcher
        if w is None or not w.ready.is_set():
            out.append("the watchers' informers have not synced yet")
        if self.ledger is None:
            out.append("no audit database (KUBEWHY_NO_AUDIT is set)")
        else:
            try:
                async with asyncio.timeout(DB_TIMEOUT):
                    await self.ledger.mutes()  # one SELECT on the audit database
            except (KubewhyError, OSError, TimeoutError) as exc:
                out.append(f"the audit database does not answer: {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - the driver's own errors: a probe reports, it does not crash
                out.append(f"the audit database does not answer: {type(exc).__name__}: {str(exc)[:200]}")
        return out

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


__all__ = ["CountingNotifier", "Health", "PrometheusSink", "WatcherCollector"]
