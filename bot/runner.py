"""``kubewhy bot``: the Slack bot's process (HTTP mode or Socket Mode), built through :mod:`kubewhy.compose`."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping

from aiohttp import web

from kubewhy import compose
from kubewhy.adapters.ports import KubeReader
from kubewhy.errors import KubewhyError
from kubewhy.settings import Settings, load

from .app import build_app
from .deps import BotDeps

log = logging.getLogger("kubewhy.bot")


async def build_deps(settings: Settings, *, kube: KubeReader | None = None) -> BotDeps:
    """The core's dependencies for the bot (close them with ``compose.close(deps.core)``)."""
    core = await compose.build(settings, kube=kube)  # the audit writer logs its own warnings
    for w in core.warnings:
        log.warning("%s", w)
    if core.audit is not None:
        await core.audit.start()  # brings the database to head and reports records left in the fallback file
    ledger = compose.build_ledger(core.audit) if core.audit is not None else None
    return BotDeps(core=core, slack=settings.slack, default_namespace=settings.default_namespace, ledger=ledger)


async def serve(settings: Settings, *, host: str = "0.0.0.0") -> None:
    deps = await build_deps(settings)
    app = build_app(deps)
    try:
        if settings.slack.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import (
                AsyncSocketModeHandler,
            )

            await AsyncSocketModeHandler(app, settings.slack.app_token).start_async()  # type: ignore[no-untyped-call]
        else:
            runner = web.AppRunner(app.web_app(path="/slack/events"))
            await runner.setup()
            await web.TCPSite(runner, host, settings.slack.port).start()
            log.info("kubewhy bot listening on %s:%s/slack/events", host, settings.slack.port)
            await asyncio.Event().wait()
    finally:
        await compose.close(deps.core)


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
