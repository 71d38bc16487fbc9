"""The watchers' pages in Slack: one message per incident (the cause, the evidence, Acknowledge and Resolve),
updated in place with the count and the last time seen; the full diagnosis with its fix buttons, later updates,
reminders and the resolve notice go in its thread."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.audit.ledger import LedgerIncident
from kubewhy.watch.notify import Page

from . import blocks
from .binding import remember
from .deps import BotDeps
from .listeners.diagnosis import register_fixes

ACTION_ACK, ACTION_RESOLVE = "kubewhy_incident_ack", "kubewhy_incident_resolve"
ACTION_SNOOZE = "kubewhy_incident_snooze"  # 2 h: an Alertmanager silence, else kubewhy's own mute
STATE_EMOJI = {"open": "", "acknowledged": " :eyes: acknowledged", "resolved": " :white_check_mark: resolved"}


def page_runbooks(deps: BotDeps | None, page: Page) -> list[str]:
    """The runbook links configured for a page's cause and its subject's namespace (KUBEWHY_RUNBOOKS)."""
    if deps is None:
        return []
    parts = page.incident.subject.split(":", 1)[0].split("/")
    cause = page.cause or {}
    ids = [str(cause["id"])] if cause.get("id") else []
    return deps.app.settings.runbooks.links(parts[1] if len(parts) == 3 else None, ids)


def incident_blocks(page: Page, runbooks: Sequence[str] = ()) -> list[Block]:
    i = page.incident
    emoji = blocks.SEVERITY_EMOJI.get(i.severity, "")
    head = f"{i.severity.upper()}: {i.title}"
    out: list[Block] = [HeaderBlock(text=PlainTextObject(text=blocks.cut(head, 150)))]
    state = STATE_EMOJI.get(i.state, "")
    if i.state == "acknowledged" and i.acknowledged_by:
        state += f" by {blocks.mention(i.acknowledged_by)}"
    status = (
        f"{emoji} *{blocks.escape(i.rule)}* on `{blocks.escape(i.subject)}`{state}\n"
        f"*{i.count}* so far · first seen {i.first_seen:%Y-%m-%d %H:%M:%S} UTC · "
        f"last seen {i.last_seen:%H:%M:%S} UTC"
    )
    if i.absorbed:
        status += f"\n:link: {i.absorbed} pod incident(s) on this node grouped here (the node is the cause)"
    out.append(blocks.section(status))
    alerts = alert_lines(i.details.get("alerts") or {})
    if alerts:
        out.append(blocks.section(blocks.cut("\n".join(alerts))))
    cause = page.cause
    if cause:
        text = f"*Cause:* {blocks.escape(cause.get('title', ''))}"
        if cause.get("summary"):
            text += f"\n{blocks.escape(cause['summary'])}"
        for line in cause.get("evidence", [])[:3]:
            text += f"\n• {blocks.escape(str(line))}"
        if cause.get("fix"):
            text += "\n" + blocks.code(cause["fix"], 600)
        out.append(blocks.section(blocks.cut(text)))
        if changed := blocks.changes_section(cause.get("changes") or []):
            out.append(changed)
    elif i.details.get("source") == "alertmanager" and not i.details.get("target"):
        labels = ", ".join(f"{k}={v}" for k, v in sorted((i.details.get("labels") or {}).items()))
        out.append(blocks.section(blocks.cut(f"_Its labels name no Kubernetes object:_ {blocks.code(labels, 600)}")))
    elif page.event == "page" and page.pending:
        out.append(blocks.section("_Diagnosing: the cause will appear here, the whole report in the thread._"))
    elif page.event == "page" and page.report is None:
        out.append(blocks.section("_The diagnosis could not run; see the thread for updates._"))
    if runbooks:
        out.append(blocks.runbook_section(runbooks))
    out.append(ContextBlock(elements=[MarkdownTextObject(text=f"{i.ref} · kubewhy watch")]))
    if i.state != "resolved":
        buttons = [
            blocks.button("Resolve", ACTION_RESOLVE, {"i": i.id, "r": i.ref}),
            blocks.button("Snooze 2h", ACTION_SNOOZE, {"i": i.id, "r": i.ref}),
        ]
        if i.state == "open":
            buttons.insert(0, blocks.button("Acknowledge", ACTION_ACK, {"i": i.id, "r": i.ref}, "primary"))
        out.append(ActionsBlock(elements=buttons))
    return out


def alert_lines(alerts: dict[str, Any]) -> list[str]:
    """The Alertmanager alerts joined to an incident, each with its runbook link (an http(s) URL, escaped)."""
    out = []
    for alert in list(alerts.values())[:10]:
        mark = ":bell:" if alert.get("status") == "firing" else ":white_check_mark:"
        line = f"{mark} Alertmanager *{blocks.escape(str(alert.get('name', '')))}* {alert.get('status', '')}"
        if alert.get("summary"):
            line += f": {blocks.escape(str(alert['summary']))[:200]}"
        runbook = str(alert.get("runbook") or "")
        if runbook.startswith(("http://", "https://")) and not any(c in runbook for c in "<>|"):
            line += f" · <{blocks.escape(runbook)}|runbook>"
        out.append(line)
    return out


class SlackNotifier:
    """Notifier for :mod:`kubewhy.watch` (``chat.postMessage`` / ``chat.update`` on the Web API)."""

    def __init__(self, client: AsyncWebClient, deps: BotDeps | None = None):
        self.client = client
        self.deps = deps  # for the fix buttons of the diagnosis in the thread

    def _channel(self, page: Page) -> str:
        if not page.incident.channel:
            raise RuntimeError("no channel for this page: set --channel or KUBEWHY_ALERT_CHANNEL, or a route")
        return page.incident.channel

    async def post(self, page: Page) -> str:
        channel = self._channel(page)
        posted = await self.client.chat_postMessage(
            channel=channel,
            text=blocks.escape(f"{page.incident.severity.upper()}: {page.text}"),
            blocks=blocks.to_dicts(incident_blocks(page, page_runbooks(self.deps, page))),
            metadata={"event_type": "kubewhy_incident", "event_payload": {"ref": page.incident.ref}},
        )
        return str(posted["ts"])

    async def update(self, page: Page, message_id: str) -> None:
        await self.client.chat_update(
            channel=self._channel(page),
            ts=message_id,
            text=blocks.escape(f"{page.incident.severity.upper()}: {page.text}"),
            blocks=blocks.to_dicts(incident_blocks(page, page_runbooks(self.deps, page))),
        )

    async def reply(self, page: Page, message_id: str) -> None:
        channel = self._channel(page)
        if page.event == "page" and page.report is not None:  # the whole diagnosis, with its fix buttons
            fix_ids: dict[tuple[int, int], str] = {}
            if self.deps is not None:
                fix_ids = register_fixes(self.deps, page.report, channel, asker="kubewhy")  # the watchers asked
            posted = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=message_id,
                text=blocks.fallback_text(page.report),
                blocks=blocks.to_dicts(
                    blocks.report_blocks(
                        page.report, fix_ids, runbooks=self.deps.runbooks(page.report) if self.deps else ()
                    )
                ),
            )
            if self.deps is not None:  # its buttons' clicks are bound to this message
                await remember(self.deps, channel, str(posted["ts"]), None, page.report.target.ref)
            return
        await self.client.chat_postMessage(channel=channel, thread_ts=message_id, text=blocks.escape(page.text))

    async def find(self, incident: LedgerIncident) -> str | None:
        """The message a replica posted before dying, found by the metadata every page carries."""
        if not incident.channel:
            return None
        cursor = None
        for _ in range(10):  # newest first, up to 2,000 messages: a start-up storm posts hundreds
            history = await self.client.conversations_history(
                channel=incident.channel, limit=200, include_all_metadata=True, cursor=cursor
            )
            for message in history.get("messages") or []:
                meta = message.get("metadata") or {}
                if (
                    meta.get("event_type") == "kubewhy_incident"
                    and (meta.get("event_payload") or {}).get("ref") == incident.ref
                ):
                    return str(message.get("ts"))
            cursor = (history.get("response_metadata") or {}).get("next_cursor")
            if not history.get("has_more") or not cursor:
                return None
        return None


def click_value(body: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(body["actions"][0].get("value") or "{}")
    except (KeyError, IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


__all__ = [
    "ACTION_ACK",
    "ACTION_RESOLVE",
    "ACTION_SNOOZE",
    "page_runbooks",
    "SlackNotifier",
    "click_value",
    "incident_blocks",
]
