"""Building the Bolt app: configuration in, an ``AsyncApp`` with every listener registered out."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.settings import SlackSettings

from .deps import BotDeps
from .listeners import actions, commands, incidents


def build_client(slack: SlackSettings) -> AsyncWebClient:
    # Slack answers 429 with Retry-After under load; the client waits and retries instead of failing.
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url,
                          retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)])


def build_app(deps: BotDeps) -> AsyncApp:
    app = AsyncApp(signing_secret=deps.slack.signing_secret or "unused",
                   client=build_client(deps.slack), request_verification_enabled=deps.slack.mode == "http",
                   process_before_response=False)
    commands.register(app, deps)
    actions.register(app, deps)
    incidents.register(app, deps)
    return app
