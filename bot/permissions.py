"""Who may act: an allowlist of Slack user ids or user-group ids, per namespace. Applying a fix checks
``KUBEWHY_SLACK_ALLOW``; muting, unmuting, acknowledging and resolving check ``KUBEWHY_SLACK_INCIDENT_ALLOW``, which
is the fix allowlist unless set (an id ``*`` there lets anyone who can run ``/k8s`` do them)."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.lifecycle import Identity

from .deps import BotDeps

VERBS = {"apply": "applying fixes", "incident": "muting, acknowledging and resolving incidents"}


def _ids(allow: Mapping[str, tuple[str, ...]], namespace: str | None) -> list[str]:
    return [*allow.get(namespace or "", ()), *allow.get("*", ())]


async def may(
    deps: BotDeps, client: AsyncWebClient, user: str, namespace: str | None, what: str = "apply"
) -> tuple[bool, str]:
    """(allowed, why not) for ``user`` doing ``what`` (``apply`` or ``incident``) in ``namespace``."""
    slack = deps.slack
    allow = slack.allow if what == "apply" or slack.incident_allow is None else slack.incident_allow
    variable = "KUBEWHY_SLACK_ALLOW" if allow is slack.allow else "KUBEWHY_SLACK_INCIDENT_ALLOW"
    ids = _ids(allow, namespace)
    where = f"namespace `{namespace}`" if namespace else "cluster-scoped objects"
    if user in ids or (what != "apply" and "*" in ids):
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
            f"Nobody may do {VERBS[what]} in {where} from Slack: the bot's allowlist ({variable}) has no entry "
            f"for it. You can still run the command shown yourself."
            if what == "apply"
            else f"Nobody may do {VERBS[what]} in {where} from Slack: the bot's allowlist ({variable}) has no "
            "entry for it."
        )
    return False, (
        f"You are not on the allowlist for {VERBS[what]} in {where}. Ask one of the allowed people or groups"
        + (", or run the command shown yourself." if what == "apply" else ".")
    )


async def may_apply(deps: BotDeps, client: AsyncWebClient, user: str, namespace: str | None) -> tuple[bool, str]:
    return await may(deps, client, user, namespace, "apply")


NO_MAP = (
    "Fixes are applied from Slack only as the person who approves them, and this bot has no identity map "
    "(KUBEWHY_SLACK_IDENTITIES) saying who you are in Kubernetes: it never applies with its own rights instead. "
    "You can still run the command shown yourself."
)
NOT_MAPPED = (
    "You have no Kubernetes identity in the bot's identity map (KUBEWHY_SLACK_IDENTITIES), and fixes are applied "
    "only as the person who approves them. You can still run the command shown yourself."
)


async def kube_identity(deps: BotDeps, client: AsyncWebClient, user: str) -> tuple[Identity | None, str]:
    """The Kubernetes identity a fix ``user`` approves is applied as (their mapped user and groups; the Slack
    groups in the map are asked for their members), or (None, why not): there is no identity map, or it does not
    map them. Never the bot's own identity: the bot applies nothing with its own rights (issue 27)."""
    if deps.identities is None:
        return None, NO_MAP
    member_of = []
    for group in deps.identities.groups_needed():
        try:
            members = await client.usergroups_users_list(usergroup=group)
        except SlackApiError:
            continue
        if user in (members.get("users") or []):
            member_of.append(group)
    found = deps.identities.resolve(user, member_of)
    if found is None:
        return None, NOT_MAPPED
    return Identity.person(found.user, found.groups), ""
