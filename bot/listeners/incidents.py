"""The watchers' incidents in Slack: the Acknowledge and Resolve buttons of a page, and ``/k8s mute``,
``/k8s unmute``, ``/k8s incidents``. The ledger and the audit log are changed through the application
(:meth:`kubewhy.app.Kubewhy.ack` and the like); the message is re-rendered from what the ledger says."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.audit.ledger import LedgerIncident
from kubewhy.errors import AuditStoreError, KubewhyError, UsageError
from kubewhy.incidents import mute_target, parse_for
from kubewhy.silences import SNOOZE, both_kinds, snooze
from kubewhy.watch.notify import Page

from .. import blocks
from ..binding import foreign, refuse
from ..commands import Command
from ..deps import BotDeps
from ..pager import ACTION_ACK, ACTION_RESOLVE, ACTION_SNOOZE, click_value, incident_blocks, page_runbooks
from ..permissions import may
from ..public import public_error
from .actions import where
from .errors import guarded

log = logging.getLogger("kubewhy.bot")


def _namespace_of(subject: str) -> str | None:
    parts = subject.split(":", 1)[0].split("/")
    return parts[1] if len(parts) == 3 else None


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def change(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any, what: str) -> None:
        await ack()
        value = click_value(body)
        user = (body.get("user") or {}).get("id", "")
        try:
            channel, ts = where(body)
        except UsageError as exc:
            await refuse(deps, body, user, what, str(exc), "I cannot use this button.")
            return
        elsewhere = foreign(context, body, deps.installation)
        if elsewhere is not None:
            await refuse(deps, body, user, what, elsewhere, "This request is not from the workspace I am installed in.")
            return
        if deps.app.audit is None or not isinstance(value.get("i"), int):
            await client.chat_postEphemeral(channel=channel, user=user, text="This incident is not in my ledger.")
            return
        current = await deps.app.incident(value["i"])
        if current is None or current.message_ts != ts or current.channel != channel:
            # bound to the message the bot posted for the incident: another message, channel or id is refused
            await refuse(
                deps,
                body,
                user,
                what,
                f"incident {value['i']} is not the one posted at {channel}/{ts}",
                "This incident is not in my ledger.",
            )
            return
        if not deps.readable(_namespace_of(current.subject)):
            await client.chat_postEphemeral(
                channel=channel, user=user, text="That incident is in a namespace I may not show you."
            )
            return
        allowed, reason = await may(deps, client, user, _namespace_of(current.subject), "incident")
        if not allowed:
            await refuse(deps, body, user, what, f"not on the allowlist for {current.ref}", reason)
            return
        if what == "snooze":
            await _snooze(deps, client, current, user, channel, ts)
            return
        try:
            change_it = deps.app.ack if what == "ack" else deps.app.resolve
            done = await change_it(current.id, actor=user, channel=channel)
        except AuditStoreError as exc:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=f"Cannot change the incident: {public_error(exc, what)}."
            )
            return
        if done is None:
            await client.chat_postEphemeral(
                channel=channel, user=user, text=f"{current.ref} is already {current.state}."
            )
            return
        shown = Page("acknowledged", done, done.title)
        await client.chat_update(
            channel=channel,
            ts=ts,
            text=blocks.escape(f"{done.severity.upper()}: {done.title}"),
            blocks=blocks.to_dicts(incident_blocks(shown, page_runbooks(deps, shown))),
        )
        verb = "acknowledged" if what == "ack" else "resolved"
        await client.chat_postMessage(
            channel=channel, thread_ts=ts, text=f"{verb.capitalize()} by {blocks.mention(user)}."
        )

    @app.action(ACTION_ACK)
    @guarded
    async def acknowledge(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await change(ack, body, client, context, "ack")

    @app.action(ACTION_RESOLVE)
    @guarded
    async def resolve(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await change(ack, body, client, context, "resolve")

    @app.action(ACTION_SNOOZE)
    @guarded
    async def snooze_it(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await change(ack, body, client, context, "snooze")


async def _snooze(
    deps: BotDeps, client: AsyncWebClient, current: LedgerIncident, user: str, channel: str, ts: str
) -> None:
    """Two hours of quiet for the incident's subject: an Alertmanager silence created by the person (when one is
    configured), else kubewhy's own mute; said in the page's thread."""
    try:
        done = await snooze(deps.app, current.subject, SNOOZE, actor=user, channel=channel, incident=current.ref)
    except KubewhyError as exc:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=f"Cannot snooze: {public_error(exc, 'snooze')}."
        )
        return
    how = f"Alertmanager silence `{blocks.escape(done.silence_id)}`" if done.silence_id else "kubewhy mute"
    await client.chat_postMessage(
        channel=channel,
        thread_ts=ts,
        text=f"Snoozed by {blocks.mention(user)} until {done.until:%Y-%m-%d %H:%M} UTC ({how} of "
        f"`{blocks.escape(done.target)}`).",
    )


async def incident_command(
    deps: BotDeps, ack: Any, cmd: Command, user: str, channel: str, client: AsyncWebClient
) -> None:
    """``/k8s mute TARGET 2h``, ``/k8s unmute TARGET``, ``/k8s incidents`` (answers only the caller)."""
    if deps.app.audit is None:
        await ack(text="The watchers' ledger needs the audit database, which is not configured.")
        return
    try:
        if cmd.name == "incidents":
            shown = [i for i in await deps.app.incidents() if deps.readable(_namespace_of(i.subject))]
            if not shown:
                await ack(text="No open incidents.")
                return
            lines = [
                f"• `{i.ref}` {blocks.SEVERITY_EMOJI.get(i.severity, '')} *{blocks.escape(i.rule)}* on "
                f"`{blocks.escape(i.subject)}` — {i.count}×, {i.state}, since {i.first_seen:%Y-%m-%d %H:%M} UTC"
                for i in shown[:40]
            ]
            more = f"\n…and {len(shown) - 40} more" if len(shown) > 40 else ""
            await ack(text=blocks.cut(f"*{len(shown)} open incident(s)*\n" + "\n".join(lines) + more))
            return
        if cmd.name == "mute" and not cmd.args:
            await ack(text=blocks.cut(await _mutes_text(deps)))
            return
        target = mute_target(cmd.args[0], cmd.namespace or deps.default_namespace)
        namespace = _namespace_of(target) if not target.startswith("ns/") else target[3:]
        if not deps.readable(namespace):
            await ack(text="I may not act on that namespace.")
            return
        allowed, reason = await may(deps, client, user, namespace, "incident")
        if not allowed:
            await ack(text=reason)
            deps.app.record("refused", actor=user, channel=channel, details={"what": cmd.name, "target": target})
            return
        if cmd.name == "mute":
            m = await deps.app.mute(target, parse_for(cmd.args[1]), actor=user, channel=channel)
            await ack(
                response_type="in_channel",
                text=f"{blocks.mention(user)} muted `{blocks.escape(target)}` until {m.until:%Y-%m-%d %H:%M} UTC.",
            )
        else:
            removed = await deps.app.unmute(target, actor=user, channel=channel)
            await ack(
                response_type="in_channel" if removed else "ephemeral",
                text=f"{blocks.mention(user)} unmuted `{blocks.escape(target)}`."
                if removed
                else f"`{blocks.escape(target)}` was not muted.",
            )
    except UsageError as exc:
        await ack(text=blocks.escape(str(exc))[:300])
    except AuditStoreError as exc:
        await ack(text=f"Cannot read the ledger: {public_error(exc, cmd.name)}.")


async def _mutes_text(deps: BotDeps) -> str:
    """``/k8s mute`` alone: kubewhy's mutes and Alertmanager's active silences, both kinds in one answer."""
    try:
        mutes, silences = await both_kinds(deps.app)
        failed = ""
    except KubewhyError as exc:  # Alertmanager away: kubewhy's own still listed
        mutes, silences, failed = await (await deps.app.ledger()).mutes(), [], public_error(exc, "mute")
    lines = [f"*kubewhy mutes* ({len(mutes)})"]
    lines += [
        f"• `{blocks.escape(m.target)}` until {m.until:%Y-%m-%d %H:%M} UTC by {blocks.mention(m.created_by)}"
        for m in mutes[:20]
    ]
    if silences is None:
        lines.append("_No Alertmanager configured (KUBEWHY_ALERTMANAGER_URL): snoozes are kubewhy mutes._")
    else:
        lines.append(f"*Alertmanager silences* ({len(silences)})")
        for s in silences[:20]:
            matchers = ", ".join(
                f"{m.get('name')}{'=' if m.get('isEqual', True) else '!'}{'~' if m.get('isRegex') else ''}"
                f"{m.get('value')}"
                for m in s.get("matchers") or []
            )
            lines.append(
                f"• `{blocks.escape(matchers)}` until {str(s.get('endsAt', ''))[:16]} by "
                f"{blocks.mention(str(s.get('createdBy', '')))} (`{blocks.escape(str(s.get('id', '')))}`)"
            )
        if failed:
            lines.append(f"_Alertmanager's silences cannot be read: {failed}._")
    return "\n".join(lines)
