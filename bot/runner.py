"""``kubewhy bot``: the Slack bot's process (HTTP mode or Socket Mode), built through :mod:`kubewhy.compose`.

Start-up verifies the Slack token before anything listens (:mod:`.startup`). SIGTERM (how Kubernetes stops a
pod) and SIGINT stop the listener, let in-flight work finish for a moment, then flush the audit log: a stopped
pod loses no record.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Mapping

from aiohttp import web

from kubewhy import compose
from kubewhy.adapters.ports import KubeReader
from kubewhy.errors import KubewhyError
from kubewhy.settings import Settings, load

from .app import build_app, build_web_app
from .deps import BotDeps
from .startup import prewarm, verify_token

log = logging.getLogger("kubewhy.bot")

GRACE = 5.0  # seconds in-flight listeners get after SIGTERM before the audit log is flushed


async def build_deps(settings: Settings, *, kube: KubeReader | None = None) -> BotDeps:
    """The core's dependencies for the bot (close them with ``compose.close(deps.core)``)."""
    core = await compose.build(settings, kube=kube)  # the audit writer logs its own warnings
    for w in core.warnings:
        log.warning("%s", w)
    if core.audit is not None:
        await core.audit.start()  # brings the database to head and reports records left in the fallback file
    return BotDeps(core=core, slack=settings.slack, default_namespace=settings.default_namespace)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _in_flight(grace: float) -> None:
    """Give the listeners still running (Bolt runs them as tasks after the ack) ``grace`` seconds to finish."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()
             and t.get_name() != "kubewhy-audit-writer"]
    if tasks:
        await asyncio.wait(tasks, timeout=grace)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None, auth_attempts: int = 5) -> None:
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    deps = await build_deps(settings)
    try:
        app = build_app(deps)
        prewarm(app, await verify_token(app.client, attempts=auth_attempts))
        if settings.slack.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import (
                AsyncSocketModeHandler,
            )

            handler = AsyncSocketModeHandler(app, settings.slack.app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("kubewhy bot connected to Slack (Socket Mode)")
            await stop.wait()
            await handler.close_async()  # type: ignore[no-untyped-call]
        else:
            runner = web.AppRunner(build_web_app(deps, app))
            await runner.setup()
            host = settings.slack.host
            await web.TCPSite(runner, host, settings.slack.port).start()
            log.info("kubewhy bot listening on %s:%s/slack/events", host, settings.slack.port)
            await stop.wait()
            log.info("kubewhy bot stopping: no new requests; flushing the audit log")
            await runner.shutdown()
            await _in_flight(GRACE)
            await runner.cleanup()
    finally:
        await compose.close(deps.core)
        if deps.core.audit is not None:
            log.info("kubewhy bot stopped: audit %s", deps.core.audit.stats.summary())


def main(environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = load(environ)
        settings.slack.require()
        asyncio.run(serve(settings))
    except KubewhyError as exc:
        print(f"kubewhy bot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0
