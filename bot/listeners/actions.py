"""Buttons under an answer (logs, events, describe, re-run, all evidence) and the "Apply fix…" flow."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy import actions as core_actions
from kubewhy.errors import KubewhyError, UsageError
from kubewhy.fixes import apply_patch
from kubewhy.inspect import describe_lines, events_lines, logs_lines
from kubewhy.models.target import Target, parse_target

from .. import blocks
from ..deps import BotDeps
from ..permissions import may_apply
from .diagnosis import run_and_update


def _clicked(body: dict[str, Any]) -> tuple[dict[str, Any], Target, str, str, str]:
    action = body["actions"][0]
    value = json.loads(action.get("value") or "{}")
    target = parse_target(value.get("t", ""))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts", "")
    return value, target, channel, ts, (body.get("user") or {}).get("id", "")


def _audit_click(deps: BotDeps, action: str, user: str, channel: str, target: Target) -> None:
    """Every click is recorded with the Slack user (issue 7); fix clicks are recorded as fix events instead."""
    core_actions.record_action(deps.core, action, actor=user, source="slack", channel=channel, target=target)


async def _post_lines(client: AsyncWebClient, channel: str, ts: str, title: str, lines: list[str]) -> None:
    for message in blocks.lines_messages(title, lines):
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=title, blocks=blocks.to_dicts(message))


def _view_listener(deps: BotDeps, name: str, view: Any) -> Any:
    async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        _, target, channel, ts, user = _clicked(body)
        _audit_click(deps, name, user, channel, target)
        try:
            title, lines = await view(target)
        except KubewhyError as exc:
            title, lines = f"{target.ref}: {name.replace('_', ' ')} unavailable", [str(exc)]
        await _post_lines(client, channel, ts, title, lines)

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
    for action_id, name, view in ((blocks.ACTION_LOGS, "show_logs", logs_view),
                                  (blocks.ACTION_EVENTS, "show_events", events_view),
                                  (blocks.ACTION_DESCRIBE, "describe", describe_view)):
        app.action(action_id)(_view_listener(deps, name, view))

    @app.action(blocks.ACTION_RERUN)
    async def rerun(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        _, target, channel, ts, user = _clicked(body)
        _audit_click(deps, "rerun", user, channel, target)
        await client.chat_update(channel=channel, ts=ts, text=f"Investigating {target.ref}…",
                                 blocks=blocks.to_dicts(blocks.investigating(target, user)))
        await run_and_update(deps, client, target, channel, ts, user)

    @app.action(blocks.ACTION_MORE)
    async def more(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        _, target, channel, ts, user = _clicked(body)
        _audit_click(deps, "show_all_evidence", user, channel, target)
        report = deps.reports.get((channel, ts))
        if report is None:  # the bot restarted since: diagnose again
            from kubewhy.service import diagnose

            report = await diagnose(target, deps.core, actor=user, source="slack", channel=channel)
        await _post_lines(client, channel, ts, f"{target.ref}: all evidence", blocks.all_evidence_lines(report))

    @app.action(blocks.ACTION_APPLY)
    async def apply_clicked(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value, _, channel, ts, user = _clicked(body)
        proposed = deps.fixes.get(value.get("f", ""))
        if proposed is None:
            await client.chat_postEphemeral(channel=channel, user=user,
                                            text="This fix proposal has expired. Press *Re-run* for a fresh one.")
            return
        allowed, reason = await may_apply(deps, client, user, proposed.patch.namespace)
        if not allowed:
            core_actions.fix_event(deps.core, proposed.audit_key, "declined", actor=user, source="slack",
                                   result={"reason": "not on the allowlist", "clicked_apply": True})
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        opened = await client.views_open(trigger_id=body["trigger_id"], view=blocks.loading_modal(proposed.fix.title))
        result = await apply_patch(deps.kube, proposed.patch, dry_run=True)
        core_actions.fix_event(deps.core, proposed.audit_key, "dry_run", actor=user, source="slack",
                               result={"ok": result.ok, "message": result.message})
        metadata = json.dumps({"f": proposed.id, "c": channel, "ts": ts})
        await client.views_update(view_id=opened["view"]["id"],
                                  view=blocks.fix_modal(proposed.fix.title, proposed.fix.command, result.message,
                                                        result.ok, metadata))

    @app.view(blocks.VIEW_CONFIRM)
    async def confirm(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user = (body.get("user") or {}).get("id", "")
        proposed = deps.fixes.get(meta.get("f", ""))
        channel, ts = meta.get("c", ""), meta.get("ts", "")
        if proposed is None:
            await client.chat_postEphemeral(channel=channel, user=user, text="This fix proposal has expired.")
            return
        allowed, reason = await may_apply(deps, client, user, proposed.patch.namespace)  # check again at submit
        if not allowed:
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        core_actions.fix_event(deps.core, proposed.audit_key, "approved", actor=user, source="slack")
        try:
            result = await apply_patch(deps.kube, proposed.patch, dry_run=False)
        except UsageError as exc:
            message, ok = str(exc), False
        else:
            message, ok = result.message, result.ok
        core_actions.fix_event(deps.core, proposed.audit_key, "applied" if ok else "failed", actor=user,
                               source="slack", result={"message": message})
        icon = ":white_check_mark:" if ok else ":x:"
        title = blocks.escape(proposed.fix.title)
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=message,
                                      blocks=blocks.to_dicts([blocks.section(
                                          f"{icon} <@{blocks.escape(user)}> applied *{title}*"
                                          f" to `{blocks.escape(proposed.target.ref)}`: {blocks.escape(message)}"
                                          if ok else f"{icon} Applying *{title}* failed: "
                                                     f"{blocks.escape(message)}")]))
