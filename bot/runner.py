"""``kubewhy bot``: the Slack bot's process (HTTP mode or Socket Mode), holding one :class:`~kubewhy.app.Kubewhy`.

Start-up verifies the Slack token before anything listens (:mod:`.startup`). SIGTERM (how Kubernetes stops a
pod) and SIGINT stop the listener (and the watchers, for ``k8sbot``), let in-flight work finish for a moment,
then flush the audit log: a stopped pod loses no record.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping

from aiohttp import web

from kubewhy.app import Kubewhy
from kubewhy.errors import KubewhyError
from kubewhy.settings import Settings, load

from .app import build_app, build_web_app
from .binding import installed, keep_workspaces
from .deps import BotDeps
from .startup import prewarm, verify_token

log = logging.getLogger("kubewhy.bot")

GRACE = 4.0  # seconds in-flight listeners (and pages, kubewhy.watch's drain_timeout) get after SIGTERM
SHUTDOWN_BUDGET = 10.0  # seconds from SIGTERM until every queued record is written or in the fallback file


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def stopping() -> None:
        SIGNALLED.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)


SIGNALLED = threading.Event()  # the process is stopping on SIGTERM/SIGINT (not a test stopping it in-process)


async def _in_flight(grace: float) -> None:
    """Give the listeners still running (Bolt runs them as tasks after the ack) ``grace`` seconds to finish."""
    current = asyncio.current_task()
    tasks = [
        t for t in asyncio.all_tasks() if t is not current and not t.done() and t.get_name() != "kubewhy-audit-writer"
    ]
    if tasks:
        await asyncio.wait(tasks, timeout=grace)


async def serve(
    settings: Settings, *, stop: asyncio.Event | None = None, auth_attempts: int = 5, watch: bool = False
) -> None:
    """The bot; with ``watch`` (``k8sbot``) the watchers too, in the same process, sharing its application object
    (reader, audit log, fix proposals: "Apply fix…" works on a page's diagnosis too)."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    loop = asyncio.get_running_loop()
    stopped_at: list[float] = []
    marker = asyncio.create_task(stop.wait())
    marker.add_done_callback(lambda _: stopped_at.append(loop.time()))
    async with Kubewhy(settings, source="slack", start_audit=True) as kubewhy:
        for w in kubewhy.warnings:  # the audit writer logs its own
            log.warning("%s", w)
        deps = BotDeps.of(kubewhy)
        if deps.identities is None:
            log.warning(
                "slack: no identity map (KUBEWHY_SLACK_IDENTITIES): fixes are proposed, never applied from Slack "
                "(the bot applies only as the approving person, never with its own rights)"
            )
        try:
            await _serve(settings, deps, stop, auth_attempts=auth_attempts, watch=watch)
        finally:
            # whatever the database does, the budget holds: what it has not taken by then goes to the fallback
            # file (the chart's terminationGracePeriodSeconds leaves a margin above it)
            spent = loop.time() - stopped_at[0] if stopped_at else 0.0
            await kubewhy.close(timeout=max(1.0, SHUTDOWN_BUDGET - 1.0 - spent))
            marker.cancel()
            if kubewhy.audit is not None:
                log.info("kubewhy bot stopped: audit %s", kubewhy.audit.stats.summary())
            if SIGNALLED.is_set():  # a process stopped by its signal (not a test stopping serve() in-process)
                _leave_blocked_drivers()


async def _serve(settings: Settings, deps: BotDeps, stop: asyncio.Event, *, auth_attempts: int, watch: bool) -> None:
    watchers: asyncio.Task[object] | None = None
    health = None
    receiver: web.AppRunner | None = None
    escalating: asyncio.Task[None] | None = None
    workspaces: asyncio.Task[None] | None = None
    try:
        app = build_app(deps)
        auth = await verify_token(app.client, attempts=auth_attempts)
        prewarm(app, auth)
        deps.installation = await installed(auth, app.client)  # whose requests are the bot's own (bot/binding.py)
        if deps.installation.org_wide:
            known = deps.installation.workspaces
            log.info(
                "slack: installed org-wide in enterprise %s: %s workspace(s) of the org",
                auth.get("enterprise_id"),
                "no" if known is None else len(known),
            )
            workspaces = asyncio.create_task(keep_workspaces(deps, app.client, stop), name="org-workspaces")
        if settings.alertmanager.receiver:  # docs/alertmanager.md
            from .alerts import serve_receiver
            from .pager import SlackNotifier

            receiver = await serve_receiver(deps, SlackNotifier(app.client, deps))
        if settings.escalation.enabled:  # unacknowledged pages to PagerDuty/Opsgenie (docs/alertmanager.md)
            from kubewhy.escalation import run as escalate

            escalating = asyncio.create_task(escalate(deps.app, stop), name="escalation")
        if watch:
            from kubewhy.watch.run import run_watchers

            from .health import Health
            from .pager import SlackNotifier

            ledger = await deps.app.ledger() if deps.app.audit is not None else None
            health = Health(ledger, port=settings.health_port, host=settings.slack.host)  # probes, /metrics
            await health.start()
            watchers = asyncio.create_task(
                run_watchers(
                    settings,
                    health.notifier(SlackNotifier(app.client, deps)),
                    stop=stop,
                    on_ready=health.watching,
                    app=deps.app,
                ),
                name="watchers",
            )
        if settings.slack.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import (
                AsyncSocketModeHandler,
            )

            handler = AsyncSocketModeHandler(app, settings.slack.app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("kubewhy bot connected to Slack (Socket Mode)")
            await _until_stopped(stop, watchers)
            await handler.close_async()  # type: ignore[no-untyped-call]
        else:
            runner = web.AppRunner(build_web_app(deps, app), shutdown_timeout=GRACE / 2)  # within the budget
            await runner.setup()
            host = settings.slack.host
            await web.TCPSite(runner, host, settings.slack.port).start()
            log.info("kubewhy bot listening on %s:%s/slack/events", host, settings.slack.port)
            await _until_stopped(stop, watchers)
            log.info("kubewhy bot stopping: no new requests; flushing the audit log")
            await runner.shutdown()
            await _in_flight(GRACE / 2)
            await runner.cleanup()
    finally:
        stop.set()
        if watchers is not None:
            await asyncio.gather(watchers, return_exceptions=True)
        if health is not None:
            await health.stop()
        if receiver is not None:
            await receiver.cleanup()
        if escalating is not None:
            await asyncio.gather(escalating, return_exceptions=True)
        if workspaces is not None:
            await asyncio.gather(workspaces, return_exceptions=True)


async def _until_stopped(stop: asyncio.Event, watchers: asyncio.Task[object] | None) -> None:
    """Until SIGTERM/SIGINT, or until the watchers fail (their error ends the process: a pod restarts)."""
    waiting = [asyncio.create_task(stop.wait())] + ([watchers] if watchers is not None else [])
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if watchers is not None and watchers in done and watchers.exception() is not None:
        raise watchers.exception()  # type: ignore[misc]


def main(environ: Mapping[str, str] | None = None, *, watch: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load(environ)
        settings.slack.require()
        if watch:
            from kubewhy.watch.run import rules_for

            rules_for(settings)  # a bad rules file stops the start, with file and line
        asyncio.run(serve(settings, watch=watch))
    except KubewhyError as exc:
        print(f"{'k8sbot' if watch else 'kubewhy bot'}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0


def _leave_blocked_drivers() -> None:
    """Every record is written or in the fallback file by now: exit without waiting for tasks and threads a
    database driver still holds on a locked or unreachable database (asyncio.run would wait for their
    cancellation, and the interpreter for aiosqlite's non-daemon threads, past the pod's grace period)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def k8sbot_main() -> int:
    """``k8sbot``: the in-cluster process, the Slack bot and the watchers together."""
    return main(watch=True)
