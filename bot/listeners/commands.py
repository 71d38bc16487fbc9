"""``/k8s``: why, status, history, playbooks, help. Acknowledged at once; slow work happens after ``ack()``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.adapters.describe import looks_like_describe
from kubewhy.errors import AuditStoreError, KubewhyError, UsageError
from kubewhy.inspect import cluster_status
from kubewhy.models.target import parse_target, validate_namespace

from .. import blocks
from ..binding import foreign, refuse
from ..commands import parse
from ..deps import BotDeps
from ..public import clip, public_error
from .diagnosis import run_and_update, run_described_and_update
from .errors import guarded
from .incidents import incident_command


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.command("/k8s")
    @guarded
    async def k8s(ack: Any, command: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        text = command.get("text", "")
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        elsewhere = foreign(context, command, deps.installation)
        if elsewhere is not None:
            await ack(text="This request is not from the workspace I am installed in.")
            await refuse(deps, {}, user, "command", elsewhere, "")
            return
        pasted = re.match(r"\s*why\s+(.*)", text, re.DOTALL | re.IGNORECASE)
        if pasted and "\n" in pasted.group(1) and looks_like_describe(pasted.group(1)):
            await ack()
            posted = await client.chat_postMessage(
                channel=channel,
                text="Reading the pasted describe output…",
                blocks=blocks.to_dicts(
                    [blocks.section(f"Reading the `kubectl describe` output {blocks.mention(user)} pasted…")]
                ),
            )
            await run_described_and_update(deps, client, pasted.group(1), channel, posted["ts"], user)
            return
        cmd = parse(text)
        if cmd.error:
            await ack(text=cmd.error)
            return
        if cmd.namespace is not None:
            try:
                validate_namespace(cmd.namespace)
            except UsageError as exc:
                await ack(text=f"{blocks.escape(clip(str(exc)))}. Try `/k8s {cmd.name} pod-name -n my-namespace`.")
                return
            if not deps.readable(cmd.namespace):
                await ack(
                    text=f"I may not read namespace `{blocks.escape(cmd.namespace)}`. Namespaces I can read: "
                    f"{', '.join(f'`{n}`' for n in deps.slack.namespaces)}."
                )
                return
        if cmd.name == "help":
            await ack(text=blocks.HELP, blocks=blocks.to_dicts(blocks.help_blocks(cmd.unknown)))
            return
        if cmd.name == "playbooks":
            lines = [
                f"• `{p.id}` ({', '.join(p.applies_to)}): {blocks.escape(p.title)}"
                for p in sorted(deps.app.catalog.playbooks, key=lambda p: p.id)
            ]
            await ack(
                text=f"{len(lines)} playbooks",
                blocks=blocks.to_dicts(blocks.list_sections(f"*{len(lines)} playbooks*", lines)),
            )
            return
        if cmd.name == "status":
            await ack()
            try:
                st = await cluster_status(deps.app.kube, cmd.namespace, only=deps.readable_namespaces())
            except KubewhyError as exc:
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=f"Cannot read the cluster: {public_error(exc, 'status')}."
                )
                return
            await client.chat_postMessage(
                channel=channel, text="Cluster status", blocks=blocks.to_dicts(blocks.status_blocks(st))
            )
            return
        if cmd.name == "history":
            await ack()
            await _history(deps, client, channel, user, cmd.args[0] if cmd.args else None)
            return
        if cmd.name in ("mute", "unmute", "incidents"):
            await incident_command(deps, ack, cmd, user, channel, client)
            return
        # why
        try:
            target = parse_target(cmd.args[0], cmd.namespace, deps.default_namespace)
        except UsageError as exc:
            await ack(
                text=f"{blocks.escape(clip(str(exc)))}.\nTry `/k8s why pod-name` or `/k8s why deploy/api -n prod`."
            )
            return
        if not deps.readable(target.namespace):
            await ack(text=f"I may not read namespace `{blocks.escape(target.namespace or '')}`.")
            return
        await ack()
        posted = await client.chat_postMessage(
            channel=channel,
            text=f"Investigating {target.ref}…",
            blocks=blocks.to_dicts(blocks.investigating(target, user)),
        )
        await run_and_update(deps, client, target, channel, posted["ts"], user, incident=cmd.incident)


async def _history(deps: BotDeps, client: AsyncWebClient, channel: str, user: str, target_text: str | None) -> None:
    if deps.app.audit is None:
        await client.chat_postEphemeral(channel=channel, user=user, text="The audit log is not configured.")
        return
    try:
        target = parse_target(target_text, None, deps.default_namespace) if target_text else None
    except UsageError as exc:
        await client.chat_postEphemeral(channel=channel, user=user, text=blocks.escape(clip(str(exc))))
        return
    if target is not None and not deps.readable(target.namespace):
        await client.chat_postEphemeral(
            channel=channel, user=user, text=f"I may not read namespace `{blocks.escape(target.namespace or '')}`."
        )
        return
    try:
        entries = await deps.app.history(
            since=datetime.now(UTC) - timedelta(days=7), target=target, limit=40, namespaces=deps.readable_namespaces()
        )
    except AuditStoreError as exc:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=f"Cannot read the audit log: {public_error(exc, 'history')}."
        )
        return
    lines = [
        f"{e.at:%Y-%m-%d %H:%M} {e.kind:9} {e.source}/{shown_actor(e.source, e.actor)} {e.target} {e.summary}"[:300]
        for e in entries
    ]
    title = f"History of {target.ref} (7 days)" if target else "Recent history (7 days)"
    for message in blocks.lines_messages(title, lines):
        await client.chat_postMessage(channel=channel, text=title, blocks=blocks.to_dicts(message))


def shown_actor(source: str, actor: str) -> str:
    """Slack users and the bot's own jobs are shown; a CLI or TUI operator's OS login stays out of the channel."""
    return (actor or "-") if source not in ("cli", "tui") else "operator"
