"""Building the Bolt app: configuration in, an ``AsyncApp`` with every listener registered out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.settings import SlackSettings

from .deps import BotDeps
from .gate import Gate, Remember
from .listeners import actions, changes, commands, errors, incidents, mentions
from .verifier import Verifier


def build_client(slack: SlackSettings) -> AsyncWebClient:
    # Slack answers 429 with Retry-After under load, and 5xx now and then: the client waits and retries.
    return AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(deps: BotDeps) -> AsyncApp:
    app = AsyncApp(
        signing_secret=deps.slack.signing_secret or "unused",
        client=build_client(deps.slack),
        request_verification_enabled=deps.slack.mode == "http",
        process_before_response=False,
    )
    deps.verifier = verifier = Verifier(deps, app.client)

    @app.middleware
    async def start_verifier(next: Any) -> Any:  # noqa: A002 - Bolt passes it by this name
        verifier.ensure_started()  # Socket Mode has no start-up hook of its own: the first request starts it
        return await next()

    commands.register(app, deps)
    actions.register(app, deps)
    changes.register(app, deps)
    incidents.register(app, deps)
    mentions.register(app, deps)
    errors.register(app)
    return app


def build_web_app(deps: BotDeps, app: AsyncApp, gate: Gate | None = None) -> web.Application:
    """HTTP mode: Bolt's aiohttp application behind the gate (signature first, replays and retries once)."""
    web_app = app.web_app(path="/slack/events")
    web_app.middlewares.append((gate or Gate(deps.slack.signing_secret, remember=durable(deps))).middleware)
    verifier = deps.verifier

    async def start_verifier(_: web.Application) -> None:
        if verifier is not None:
            verifier.ensure_started()  # the verify-after-fix jobs any replica left in the database

    async def stop_verifier(_: web.Application) -> None:
        if verifier is not None:
            await verifier.stop()

    web_app.on_startup.append(start_verifier)
    web_app.on_shutdown.append(stop_verifier)  # before the runner waits for in-flight requests: not one of them
    return web_app


def durable(deps: BotDeps) -> Remember:
    """The gate's replay cache in the audit database (the application's trust store)."""

    async def remember(key: str, ttl: timedelta) -> bool:
        return await (await deps.app.trust()).first_time(key, ttl)

    return remember
