"""When a listener fails after ``ack()``: the person who asked still hears back, through ``response_url``.

``response_url`` works where the bot cannot post (a private channel it was not invited to), so it is the one
channel left when ``chat.postMessage`` or the work itself failed. The channel never sees internals
(:mod:`bot.public`); the log keeps the traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from .. import blocks
from ..public import public_error

log = logging.getLogger("kubewhy.bot")

NOT_A_MEMBER = ("not_in_channel", "channel_not_found", "is_archived")


def explain(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        code = (error.response or {}).get("error", "") if error.response is not None else ""
        if code in NOT_A_MEMBER:
            return ("I cannot post in this channel (I am not a member of it): invite me with `/invite @kubewhy`, "
                    "or ask in a channel I am in")
        return f"Slack refused my answer ({blocks.escape(str(code) or 'error')}); try again in a minute"
    return public_error(error, "slack listener")


def register(app: AsyncApp) -> None:
    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        log.error("slack: listener failed after ack: %s", type(error).__name__, exc_info=error)
        if respond is None:  # no response_url (a view submission): the log is all there is
            return
        try:
            await respond(text=f":warning: Sorry, I could not finish that: {explain(error)}.",
                          response_type="ephemeral", replace_original=False)
        except Exception as exc:  # noqa: BLE001 - the fallback of a fallback: log it
            log.error("slack: response_url fallback failed too: %s", exc)
