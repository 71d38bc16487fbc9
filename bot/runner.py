"""``kubewhy bot``: the composition root for the Slack bot (HTTP mode or Socket Mode)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Mapping

from aiohttp import web

from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.errors import KubewhyError
from kubewhy.playbooks.loader import load_dirs

from .app import build_app
from .deps import BotDeps
from .settings import BotSettings

log = logging.getLogger("kubewhy.bot")


def build_deps(settings: BotSettings, *, audit: object | None = None) -> BotDeps:
    catalog = load_dirs([Path(p) for p in settings.playbook_dirs])
    for err in catalog.errors:
        log.warning("playbook skipped: %s", err)
    kube = LiveKube(build_api_client(settings.kubeconfig, settings.context, in_cluster=settings.in_cluster))
    prom = None
    if settings.prometheus_url:
        from kubewhy.adapters.prom import PromMetrics

        prom = PromMetrics(settings.prometheus_url)
    return BotDeps(settings=settings, kube=kube, catalog=catalog, prom=prom, audit=audit)


async def serve(settings: BotSettings, *, host: str = "0.0.0.0") -> None:
    from kubewhy.audit import AuditLog

    audit = AuditLog(settings.database_url, auto_migrate=True)
    await audit.start()  # brings the database to head and reports records left in the fallback file
    deps = build_deps(settings, audit=audit)
    app = build_app(deps)
    try:
        if settings.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            await AsyncSocketModeHandler(app, settings.app_token).start_async()
        else:
            runner = web.AppRunner(app.web_app(path="/slack/events"))
            await runner.setup()
            await web.TCPSite(runner, host, settings.port).start()
            log.info("kubewhy bot listening on %s:%s/slack/events", host, settings.port)
            await asyncio.Event().wait()
    finally:
        await audit.aclose()


def main(environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = BotSettings.from_env(environ)
    except ValueError as exc:
        print(f"kubewhy bot: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings))
    except KubewhyError as exc:
        print(f"kubewhy bot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0
