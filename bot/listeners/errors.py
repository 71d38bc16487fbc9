"""When a listener fails: the person who asked still hears back, through ``response_url``, and Slack gets its 200.

Bolt (process_before_response=False) turns a listener that raises within 10 ms of its ``ack()`` into a 404 after
3 s (its error path clears the ack it was about to return), and nobody tells the user. :func:`guarded` wraps each
listener: what it raises is logged with its traceback, the user gets a short ephemeral answer (via ``ack`` when
it was not called yet, else ``response_url``, which works even where the bot cannot post, such as a private
channel it was not invited to), and Bolt sees a normal completion. ``@app.error`` stays as the last resort.
The channel never sees internals (:mod:`bot.public`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from .. import blocks
from ..public import public_error

log = logging.getLogger("kubewhy.bot")

NOT_A_MEMBER = ("not_in_channel", "channel_not_found", "is_archived")
Listener = Callable[..., Awaitable[None]]


def explain(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if error.response is not None else ""
        if code in NOT_A_MEMBER:
            return (
                "I cannot post in this channel (I am not a member of it): invite me with `/invite @kubewhy`, "
                "or ask in a channel I am in"
            )
        return f"Slack refused my answer ({blocks.escape(str(code) or 'error')}); try again in a minute"
    return public_error(error, "slack listener")


def _response_url(kwargs: dict[str, Any]) -> str | None:
    for source in (kwargs.get("command"), kwargs.get("body")):
        if isinstance(source, dict):
            url = source.get("response_url") or next(
                (u.get("response_url") for u in source.get("response_urls") or [] if isinstance(u, dict)), None
            )
            if url:
                return str(url)
    return None


async def tell_user(error: BaseException, kwargs: dict[str, Any]) -> None:
    """The short ephemeral answer after a failure; never raises."""
    text = f":warning: Sorry, I could not finish that: {explain(error)}."
    try:
        ack = kwargs.get("ack")
        if ack is not None and getattr(ack, "response", True) is None:
            await ack(text=text)
            return
        url = _response_url(kwargs)
        if url is None:  # an event or a view submission: the log is all there is
            return
        await AsyncWebhookClient(url).send(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # noqa: BLE001 - the fallback of a fallback: log it
        log.error("slack: could not tell the user about the failure either: %s", exc)


def guarded(listener: Listener) -> Listener:
    """``listener`` that never raises into Bolt (see the module docstring)."""

    @functools.wraps(listener)
    async def run(**kwargs: Any) -> None:
        try:
            await listener(**kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is answered and logged
            log.error("slack: %s failed: %s", listener.__name__, type(exc).__name__, exc_info=exc)
            await tell_user(exc, kwargs)

    return run


def register(app: AsyncApp) -> None:
    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("slack: request failed: %s", type(error).__name__, exc_info=error)
        await tell_user(error, {"body": body})
