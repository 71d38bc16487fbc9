"""Buttons under an answer (logs, events, describe, re-run, all evidence) and the "Apply fix…" flow."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy import actions as core_actions
from kubewhy.access import may
from kubewhy.errors import KubewhyError, UsageError
from kubewhy.fixes import apply_patch
from kubewhy.inspect import describe_lines, events_lines, logs_lines
from kubewhy.kinds import info
from kubewhy.models.target import Target, parse_target

from .. import blocks
from ..commands import INCIDENT_REF
from ..deps import BotDeps
from ..permissions import may_apply
from ..public import clip, public_error
from .diagnosis import run_and_update
from .errors import guarded

log = logging.getLogger("kubewhy.bot")


@dataclass(frozen=True)
class Click:
    value: dict[str, Any]
    target: Target
    channel: str
    ts: str
    user: str
    incident: str | None = None  # the incident of the answer the button is under


def _clicked(body: dict[str, Any]) -> Click:
    """The button's value, parsed like anything typed: a hand-made value is not trusted (UsageError)."""
    action = body["actions"][0]
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        raise UsageError("this button's value is not valid") from None
    if not isinstance(value, dict) or not isinstance(value.get("t", ""), str):
        raise UsageError("this button's value is not valid")
    incident = value.get("i")
    if incident is not None and not (isinstance(incident, str) and INCIDENT_REF.fullmatch(incident)):
        raise UsageError("this button's incident is not valid")
    target = parse_target(value.get("t", ""))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts", "")
    return Click(value, target, channel, ts, (body.get("user") or {}).get("id", ""), incident)


async def _checked(deps: BotDeps, body: dict[str, Any], client: AsyncWebClient) -> Click | None:
    """The click, if its target is one the bot may read; otherwise the clicker is told (only them) and None."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    user = (body.get("user") or {}).get("id", "")
    try:
        click = _clicked(body)
    except (UsageError, KeyError, IndexError) as exc:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=f"I cannot use this button: {blocks.escape(clip(str(exc)))}."
        )
        return None
    if not deps.readable(click.target.namespace):
        log.warning(
            "slack: %s clicked a button for namespace %s, which the bot may not read", user, click.target.namespace
        )
        await client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=(f"I may not read namespace `{blocks.escape(click.target.namespace or '')}`."),
        )
        return None
    return click


def _audit_click(deps: BotDeps, action: str, click: Click) -> None:
    """Every click is recorded with the Slack user (issue 7) and its incident, so the post-mortem shows it (issue
    15); fix clicks are recorded as fix events instead."""
    core_actions.record_action(
        deps.core,
        action,
        actor=click.user,
        source="slack",
        channel=click.channel,
        target=click.target,
        incident=click.incident,
    )


async def _post_lines(client: AsyncWebClient, channel: str, ts: str, title: str, lines: list[str]) -> None:
    for message in blocks.lines_messages(title, lines):
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=title, blocks=blocks.to_dicts(message))


def _view_listener(deps: BotDeps, name: str, view: Any) -> Any:
    async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = await _checked(deps, body, client)
        if click is None:
            return
        _audit_click(deps, name, click)
        try:
            title, lines = await view(click.target)
        except KubewhyError as exc:
            title, lines = f"{click.target.ref}: {name.replace('_', ' ')} unavailable", [public_error(exc, name)]
        await _post_lines(client, click.channel, click.ts, title, lines)

    listener.__name__ = name
    return listener


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def logs_view(target: Target) -> tuple[str, list[str]]:
        what, lines = await logs_lines(deps.kube, target)
        return f"{target.ref}: {what}", lines

    async def events_view(target: Target) -> tuple[str, list[str]]:
        return f"{target.ref}: events", await events_lines(deps.kube, target)

    async def describe_view(target: Target) -> tuple[str, list[str]]:
        return f"describe {target.ref}", await describe_lines(deps.kube, target)

    # Read-only views posted in the answer's thread: (button, audit action, what to show).
    for action_id, name, view in (
        (blocks.ACTION_LOGS, "show_logs", logs_view),
        (blocks.ACTION_EVENTS, "show_events", events_view),
        (blocks.ACTION_DESCRIBE, "describe", describe_view),
    ):
        app.action(action_id)(guarded(_view_listener(deps, name, view)))

    @app.action(blocks.ACTION_RERUN)
    @guarded
    async def rerun(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = await _checked(deps, body, client)
        if click is None:
            return
        _audit_click(deps, "rerun", click)
        await client.chat_update(
            channel=click.channel,
            ts=click.ts,
            text=f"Investigating {click.target.ref}…",
            blocks=blocks.to_dicts(blocks.investigating(click.target, click.user)),
        )
        await run_and_update(deps, client, click.target, click.channel, click.ts, click.user, incident=click.incident)

    @app.action(blocks.ACTION_MORE)
    @guarded
    async def more(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = await _checked(deps, body, client)
        if click is None:
            return
        target, channel, ts = click.target, click.channel, click.ts
        _audit_click(deps, "show_all_evidence", click)
        report = deps.reports.get((channel, ts))
        if report is None or report.target != target:  # the bot restarted since: diagnose again
            from kubewhy.service import diagnose

            report = await diagnose(
                target, deps.core, actor=click.user, source="slack", channel=channel, incident=click.incident
            )
        await _post_lines(client, channel, ts, f"{target.ref}: all evidence", blocks.all_evidence_lines(report))

    @app.action(blocks.ACTION_APPLY)
    @guarded
    async def apply_clicked(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = await _checked(deps, body, client)
        if click is None:
            return
        channel, ts, user = click.channel, click.ts, click.user
        proposed = deps.fixes.get(str(click.value.get("f", "")))
        if proposed is None or proposed.target != click.target:
            await client.chat_postEphemeral(
                channel=channel, user=user, text="This fix proposal has expired. Press *Re-run* for a fresh one."
            )
            return
        allowed, reason = await may_apply(deps, client, user, proposed.patch.namespace)
        if not allowed:
            core_actions.fix_event(
                deps.core,
                proposed.audit_key,
                "declined",
                actor=user,
                source="slack",
                result={"reason": "not on the allowlist", "clicked_apply": True},
            )
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        patch = proposed.patch
        access = await may(deps.kube.capabilities.objects, "patch", patch.kind, patch.namespace, patch.name)
        if access.allowed is False:  # RBAC says no: say so now, not halfway through a dry run
            where = f"in namespace `{patch.namespace}`" if patch.namespace else "at the cluster scope"
            core_actions.fix_event(
                deps.core,
                proposed.audit_key,
                "declined",
                actor=user,
                source="slack",
                result={"reason": "kubewhy's service account may not patch it (RBAC)", "clicked_apply": True},
            )
            await client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=f"kubewhy's service account may not patch {info(patch.kind).plural} {where}: the install is "
                "read-only (the Helm chart's default; an admin can grant the fix verbs with "
                "`rbac.applyFixes=true`). You can still run the command shown yourself.",
            )
            return
        opened = await client.views_open(trigger_id=body["trigger_id"], view=blocks.loading_modal(proposed.fix.title))
        result = await apply_patch(deps.kube.capabilities.writer, proposed.patch, dry_run=True)
        core_actions.fix_event(
            deps.core,
            proposed.audit_key,
            "dry_run",
            actor=user,
            source="slack",
            result={"ok": result.ok, "message": result.message},
        )
        metadata = json.dumps({"f": proposed.id, "c": channel, "ts": ts})
        await client.views_update(
            view_id=opened["view"]["id"],
            view=blocks.fix_modal(proposed.fix.title, proposed.fix.command, result.message, result.ok, metadata),
        )

    @app.view(blocks.VIEW_CONFIRM)
    @guarded
    async def confirm(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user = (body.get("user") or {}).get("id", "")
        proposed = deps.fixes.get(meta.get("f", ""))
        channel, ts = meta.get("c", ""), meta.get("ts", "")
        if proposed is None:
            await client.chat_postEphemeral(channel=channel, user=user, text="This fix proposal has expired.")
            return
        if not deps.readable(proposed.patch.namespace):
            await client.chat_postEphemeral(channel=channel, user=user, text="I may not touch that namespace.")
            return
        done = deps.applying.get(proposed.id)
        if done is not None:  # a second submit (a double click, a replay): nothing is applied twice
            await client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=(f"This fix was already submitted by <@{blocks.escape(done)}>; it is applied once."),
            )
            return
        allowed, reason = await may_apply(deps, client, user, proposed.patch.namespace)  # check again at submit
        if not allowed:
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        deps.applying[proposed.id] = user  # before any await: a concurrent submit sees it
        core_actions.fix_event(deps.core, proposed.audit_key, "approved", actor=user, source="slack")
        try:
            result = await apply_patch(deps.kube.capabilities.writer, proposed.patch, dry_run=False)
        except UsageError as exc:
            message, ok = str(exc), False
        else:
            message, ok = result.message, result.ok
        core_actions.fix_event(
            deps.core,
            proposed.audit_key,
            "applied" if ok else "failed",
            actor=user,
            source="slack",
            result={"message": message},
        )
        icon = ":white_check_mark:" if ok else ":x:"
        title = blocks.escape(proposed.fix.title)
        await client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=message,
            blocks=blocks.to_dicts(
                [
                    blocks.section(
                        f"{icon} <@{blocks.escape(user)}> applied *{title}*"
                        f" to `{blocks.escape(proposed.target.ref)}`: {blocks.escape(message)}"
                        if ok
                        else f"{icon} Applying *{title}* failed: {blocks.escape(message)}"
                    )
                ]
            ),
        )
