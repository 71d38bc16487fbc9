"""k8sbot's Alertmanager receiver: ``POST /alertmanager`` (webhook JSON version 4) on its own port
(``KUBEWHY_ALERTMANAGER_PORT``), authenticated as Alertmanager's ``http_config`` sends it: a bearer token
(``authorization``) or basic auth. It only checks the credentials and hands the body to the core
(:class:`kubewhy.alerts.Receiver`); the pages are the watchers' messages (``bot/pager.py``).

Answers: 200 with what was done, 400 saying what is wrong with a body, 401 without the credentials, 413 over
1 MiB, 503 when the ledger or Slack failed (Alertmanager retries; deliveries are deduplicated).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging

from aiohttp import ClientError, web
from slack_sdk.errors import SlackApiError

from kubewhy.alerts import AlertError, Receiver, parse
from kubewhy.errors import KubewhyError
from kubewhy.settings import AlertmanagerSettings
from kubewhy.watch.notify import Notifier

from .deps import BotDeps

log = logging.getLogger("kubewhy.bot.alerts")
MAX_BODY = 1024 * 1024
PATH = "/alertmanager"


def authorized(settings: AlertmanagerSettings, header: str) -> bool:
    scheme, _, credentials = header.partition(" ")
    if settings.token and scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.strip().encode(), settings.token.encode())
    if settings.user and scheme.lower() == "basic":
        try:
            given = base64.b64decode(credentials.strip(), validate=True)
        except ValueError:
            return False
        expected = f"{settings.user}:{settings.password}".encode()
        return hmac.compare_digest(given, expected)
    return False


def build_receiver(deps: BotDeps, notifier: Notifier) -> web.Application:
    settings = deps.app.settings
    receiver = Receiver(deps.app, notifier, channel=settings.watch.channel, owner=settings.watch.identity)
    turn = asyncio.Lock()  # one notification at a time: a grouped one's alerts join what the previous one opened

    async def receive(request: web.Request) -> web.Response:
        if not authorized(settings.alertmanager, request.headers.get("Authorization", "")):
            log.warning("alertmanager receiver: refused a request without valid credentials")
            return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"error": f"over {MAX_BODY} bytes"}, status=413)
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return web.json_response({"error": f"over {MAX_BODY} bytes"}, status=413)
        try:
            alerts = parse(body)
        except AlertError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        try:
            async with turn:
                out = await receiver.receive(alerts)
        except (KubewhyError, SlackApiError, ClientError) as exc:
            log.warning("alertmanager receiver: %s (Alertmanager will retry)", exc)
            return web.json_response({"error": "kubewhy could not take the alerts now; retry"}, status=503)
        return web.json_response(
            {
                "paged": out.paged,
                "attached": out.attached,
                "resolved": out.resolved,
                "updated": out.updated,
                "duplicates": out.duplicates,
            }
        )

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(PATH, receive)
    return app


async def serve_receiver(deps: BotDeps, notifier: Notifier) -> web.AppRunner:
    """Listening on the configured address; the caller cleans the runner up."""
    am = deps.app.settings.alertmanager
    runner = web.AppRunner(build_receiver(deps, notifier), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, am.host, am.port).start()
    log.info("Alertmanager receiver on %s:%s%s", am.host, am.port, PATH)
    return runner


__all__ = ["PATH", "authorized", "build_receiver", "serve_receiver"]
