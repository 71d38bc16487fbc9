"""Start-up checks: the Slack token is verified (``auth.test``) before the bot says it is listening.

Bolt calls ``auth.test`` lazily, on the first request and before its ack: a slow Slack API made the first ack
miss its 3 seconds, an unreachable one made every request a 500 while the log said "listening". Here the call is
made once, with a bounded retry, and its answer is handed to Bolt's authorization middleware.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.errors import KubewhyError

log = logging.getLogger("kubewhy.bot")


class SlackUnavailable(KubewhyError):
    """The Slack Web API could not verify the bot token at start-up."""

    exit_code = 4


async def verify_token(client: AsyncWebClient, *, attempts: int = 5, delay: float = 1.0) -> Any:
    """``auth.test`` with a bounded retry; a rejected token fails at once (retrying cannot help)."""
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            return await asyncio.wait_for(client.auth_test(), 10)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
                raise SlackUnavailable(f"Slack rejected SLACK_BOT_TOKEN ({error}): check the xoxb- token") from None
            last = f"Slack answered {error or exc.response.status_code}"
        except (OSError, TimeoutError, ValueError) as exc:
            last = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if attempt < attempts:
            log.warning("slack: auth.test failed (%s); retry %d/%d in %.1fs", last, attempt, attempts - 1, delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise SlackUnavailable(
        f"the Slack Web API at {client.base_url} cannot verify the bot token after {attempts} attempt(s): {last}"
    )


def prewarm(app: AsyncApp, auth: Any) -> None:
    """Give Bolt the start-up ``auth.test`` answer so no request waits for one."""
    for middleware in app._async_middleware_list:
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = auth
