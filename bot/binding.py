"""What a request may claim, checked against what the bot knows rather than taken from its payload (issue 27).

- The workspace: every team and enterprise id a payload carries must be the installation's own (the
  ``auth.test`` answer, :class:`Installation`), for commands, clicks, view submissions and events; the user is
  one well-formed Slack user id. An Enterprise Grid org-wide install (``is_enterprise_install``) serves every
  workspace of its org: there, every payload must name the installation's enterprise (a request naming none, or
  another org's, is refused) and every workspace id it carries (the user's own included: a person of another
  organisation in a Slack Connect channel) must be one the org granted the app (``auth.teams.list``, read at
  start and every 10 minutes; while it is not known, nothing is served). The payload is signed with the app's
  signing secret, so these ids are Slack's, not the sender's; what is checked is that the installation they name
  is the one whose token the bot holds.
- The message: a click names a channel and a message ts; the message must be one the bot posted, looked up in the
  audit database (:class:`kubewhy.audit.trust.TrustStore`), and the button's target must be the one the bot
  posted it for. The incident a click belongs to is the posted message's, never the button's.

A refusal is logged and recorded in the audit log (``refused``, with the reason) and answered, when the request
has one, through its ``response_url``, which Slack binds to where the person really is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from kubewhy.audit.trust import Posted
from kubewhy.models.target import Target

from .blocks import USER_ID
from .deps import BotDeps

log = logging.getLogger("kubewhy.bot")


WORKSPACE_ID = re.compile(r"T[A-Z0-9]{2,20}")


@dataclass(frozen=True)
class Installation:
    """The installation whose token the bot holds: its workspace (``team``; an org-wide install's may be its
    enterprise id, or none), its Enterprise Grid org (``enterprise``) and whether it is installed org-wide."""

    team: str | None
    enterprise: str | None
    org_wide: bool = False
    workspaces: frozenset[str] | None = None  # org-wide: the workspaces the org granted the app (None: not known)

    @classmethod
    def of(cls, auth: Any) -> Installation:
        """From an ``auth.test`` answer (or Bolt's ``AuthorizeResult``, which lacks ``is_enterprise_install``:
        then an enterprise id where the workspace id should be, or no workspace at all, says org-wide)."""
        get = auth.get if hasattr(auth, "get") else lambda key, default=None: getattr(auth, key, default)
        team = str(get("team_id") or "") or None
        enterprise = str(get("enterprise_id") or "") or None
        flag = get("is_enterprise_install")
        org_wide = bool(flag) if flag is not None else bool(enterprise) and (team is None or team.startswith("E"))
        return cls(team, enterprise, org_wide and enterprise is not None)


def _ids(body: dict[str, Any], key: str) -> set[str]:
    """Every ``key`` id the payload carries, wherever Slack puts it (``team``/``team_id``, on the user, the view,
    an event's ``authorizations``)."""
    found: set[str] = set()
    authorizations = body.get("authorizations")
    holders = [body, body.get("user"), body.get("view"), body.get("event"), body.get("message")]
    if isinstance(authorizations, list):
        holders += authorizations
    for holder in holders:
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


def foreign(
    context: AsyncBoltContext | dict[str, Any], body: dict[str, Any], installation: Installation | None = None
) -> str | None:
    """Why the payload is not from the bot's own installation, or None when it is. ``installation``: the
    start-up ``auth.test`` answer's (``BotDeps.installation``); else Bolt's, from the request's context."""
    if installation is None:
        auth = context.get("authorize_result")
        installation = Installation.of(auth) if auth is not None else Installation(context.get("team_id"), None)
    team, enterprise = installation.team, installation.enterprise
    teams, enterprises = _ids(body, "team"), _ids(body, "enterprise")
    if installation.org_wide:  # any workspace of the org, and only of the org
        if not enterprises or any(e != enterprise for e in enterprises):
            return f"enterprise {sorted(enterprises)} is not the org-wide installation's ({enterprise})"
        known = installation.workspaces
        if known is None:
            return "the org-wide installation's workspaces are not known yet (auth.teams.list)"
        if any(t != enterprise and not (WORKSPACE_ID.fullmatch(t) and t in known) for t in teams):
            return f"team {sorted(teams)} is not a workspace the org granted the app"
    else:
        if not team or any(t != team for t in teams):
            return f"team {sorted(teams)} is not the installation's ({team})"
        if any(e != enterprise for e in enterprises):
            return f"enterprise {sorted(enterprises)} is not the installation's ({enterprise})"
    users = {u for u in ((body.get("user") or {}).get("id"), body.get("user_id")) if u} | (
        {str(body["event"].get("user"))} if isinstance(body.get("event"), dict) and body["event"].get("user") else set()
    )
    if len(users) > 1 or any(not USER_ID.fullmatch(str(u)) for u in users):
        return f"user {sorted(users)!r} is not one Slack user id"
    return None


async def org_workspaces(client: AsyncWebClient) -> frozenset[str] | None:
    """The workspaces an org-wide token was granted (``auth.teams.list``, every page), or None when Slack will
    not say (logged: the bot then serves nothing until it can)."""
    found: set[str] = set()
    cursor = ""
    try:
        for _ in range(100):  # 100 pages of 1000 workspaces: far beyond any org
            answer = await client.auth_teams_list(limit=1000, cursor=cursor or None)
            found |= {str(t["id"]) for t in answer.get("teams") or [] if isinstance(t, dict) and t.get("id")}
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
    except (SlackApiError, OSError, TimeoutError) as exc:
        log.warning("slack: cannot list the org's workspaces (auth.teams.list): %s", exc)
        return None
    return frozenset(found)


async def installed(auth: Any, client: AsyncWebClient) -> Installation:
    """The installation the start-up ``auth.test`` answer describes; org-wide, with the org's workspaces."""
    installation = Installation.of(auth)
    if installation.org_wide:
        installation = dataclasses.replace(installation, workspaces=await org_workspaces(client))
    return installation


async def keep_workspaces(deps: BotDeps, client: AsyncWebClient, stop: asyncio.Event, every: float = 600.0) -> None:
    """An org-wide install: read the org's workspaces again every ``every`` seconds until ``stop`` (a workspace
    the org admin adds is served from the next reading; one removed, no longer)."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass
        installation = deps.installation
        if installation is None or not installation.org_wide:
            return
        known = await org_workspaces(client)
        if known is not None:
            deps.installation = dataclasses.replace(installation, workspaces=known)


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


__all__ = [
    "Installation",
    "foreign",
    "installed",
    "keep_workspaces",
    "org_workspaces",
    "posted_message",
    "refuse",
    "remember",
]
