"""Who may apply a fix: an allowlist of Slack user ids or user-group ids, per namespace."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .deps import BotDeps


async def may_apply(deps: BotDeps, client: AsyncWebClient, user: str, namespace: str | None) -> tuple[bool, str]:
    ids = deps.allowed_ids(namespace)
    where = f"namespace `{namespace}`" if namespace else "cluster-scoped objects"
    if user in ids:
        return True, ""
    for group in (i for i in ids if i.startswith("S")):
        try:
            members = await client.usergroups_users_list(usergroup=group)
        except SlackApiError:
            continue
        if user in (members.get("users") or []):
            return True, ""
    if not ids:
        return False, (
            f"Nobody may apply fixes in {where}: the bot's allowlist (KUBEWHY_SLACK_ALLOW) has no entry "
            f"for it. You can still run the command shown yourself."
        )
    return False, (
        f"You are not on the allowlist for applying fixes in {where}. Ask one of the allowed people or "
        f"groups, or run the command shown yourself."
    )
