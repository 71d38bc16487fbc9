"""What a request may claim, checked against what the bot knows rather than taken from its payload (issue 27).

- The workspace: every team and enterprise id a payload carries must be the installation's own (Bolt's
  ``auth.test`` answer), for commands, clicks, view submissions and events; the user is one well-formed Slack
  user id.
- The message: a click names a channel and a message ts; the message must be one the bot posted, looked up in the
  audit database (:class:`kubewhy.audit.trust.TrustStore`), and the button's target must be the one the bot
  posted it for. The incident a click belongs to is the posted message's, never the button's.

A refusal is logged and recorded in the audit log (``refused``, with the reason) and answered, when the request
has one, through its ``response_url``, which Slack binds to where the person really is.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.webhook.async_client import AsyncWebhookClient

from kubewhy.audit.trust import Posted
from kubewhy.models.target import Target

from .blocks import USER_ID
from .deps import BotDeps

log = logging.getLogger("kubewhy.bot")


def _ids(body: dict[str, Any], key: str) -> set[str]:
    """Every ``key`` id the payload carries, wherever Slack puts it (``team``/``team_id``, on the user, the view)."""
    found: set[str] = set()
    for holder in (body, body.get("user"), body.get("view"), body.get("event"), body.get("message")):
        if not isinstance(holder, dict):
            continue
        nested = holder.get(key)
        if isinstance(nested, dict) and nested.get("id"):
            found.add(str(nested["id"]))
        elif isinstance(nested, str) and nested:
            found.add(nested)
        if holder.get(f"{key}_id"):
            found.add(str(holder[f"{key}_id"]))
    return found


def foreign(context: AsyncBoltContext | dict[str, Any], body: dict[str, Any]) -> str | None:
    """Why the payload is not from the bot's own installation, or None when it is."""
    auth = context.get("authorize_result")
    team = getattr(auth, "team_id", None) or context.get("team_id")
    enterprise = getattr(auth, "enterprise_id", None)
    teams = _ids(body, "team")
    if not team or any(t != team for t in teams):
        return f"team {sorted(teams)} is not the installation's ({team})"
    enterprises = _ids(body, "enterprise")
    if any(e != enterprise for e in enterprises):
        return f"enterprise {sorted(enterprises)} is not the installation's ({enterprise})"
    users = {u for u in ((body.get("user") or {}).get("id"), body.get("user_id")) if u} | (
        {str(body["event"].get("user"))} if isinstance(body.get("event"), dict) and body["event"].get("user") else set()
    )
    if len(users) > 1 or any(not USER_ID.fullmatch(str(u)) for u in users):
        return f"user {sorted(users)!r} is not one Slack user id"
    return None


async def refuse(
    deps: BotDeps, body: dict[str, Any], user: str, what: str, reason: str, text: str, target: Target | None = None
) -> None:
    """Log and record a refused request; tell the person through ``response_url`` when there is one."""
    log.warning("slack: refused %s from %s: %s", what, user or "?", reason)
    deps.app.record("refused", actor=user, target=target, details={"what": what, "reason": reason[:300]})
    url = body.get("response_url") or next(
        (u.get("response_url") for u in body.get("response_urls") or [] if isinstance(u, dict)), None
    )
    if isinstance(url, str) and url and text:
        try:
            await AsyncWebhookClient(url).send(text=text, response_type="ephemeral", replace_original=False)
        except Exception as exc:  # noqa: BLE001 - the refusal stands whether or not the person hears of it
            log.warning("slack: could not tell %s about a refusal: %s", user, exc)


async def posted_message(deps: BotDeps, channel: str, ts: str) -> Posted | None:
    """The message the bot posted at (``channel``, ``ts``), or None."""
    return await (await deps.app.trust()).posted(channel, ts)


async def remember(
    deps: BotDeps, channel: str, ts: str, team: str | None, target: str | None, incident: str | None = None
) -> None:
    """The bot posted message ``ts`` in ``channel`` with buttons about ``target``: later clicks are bound to it."""
    await (await deps.app.trust()).remember(channel, ts, team=team, target=target, incident=incident)


__all__ = ["foreign", "posted_message", "refuse", "remember"]
