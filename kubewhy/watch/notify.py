"""Where pages go. The engine speaks to a :class:`Notifier`; the Slack one lives in the bot (``bot/pager.py``),
the one here prints lines (``kubewhy watch --stdout``, ``-o json`` for JSON lines) for trying it out and for
piping."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ..app import Kubewhy
    from ..audit.ledger import LedgerIncident
    from ..models.findings import Report

PageEvent = Literal["page", "update", "resolve", "reminder", "acknowledged"]
TOP_CHANGES = 3  # changes before the onset a page shows


@dataclass(frozen=True)
class Page:
    """One thing to tell people about an incident: the first page, an update of its count, a reminder, the
    resolve notice. ``report`` is the core's diagnosis of the subject (the first page carries it)."""

    event: PageEvent
    incident: LedgerIncident
    text: str
    report: Report | None = None
    pending: bool = False  # a first page sent before its diagnosis ended: the cause follows (an update)

    @property
    def cause(self) -> dict[str, Any] | None:
        """The diagnosis' first cause, from the report (a first page) or as the ledger kept it (updates)."""
        return cause_of(self.report) if self.report is not None else self.incident.details.get("cause")


def cause_of(report: Report | None) -> dict[str, Any] | None:
    """What the message keeps of the diagnosis (its updates re-render it from the ledger): the first cause, and
    the top changes before the onset (the ``what-changed`` finding's first lines, the likely cause first)."""
    if report is None:
        return None
    changed = top_changes(report)
    if not report.findings:
        return {
            "title": "No cause found" if report.healthy else "Diagnosis incomplete",
            "summary": "",
            "evidence": [],
            "healthy": report.healthy,
            **({"changes": changed} if changed else {}),
        }
    f = report.findings[0]
    return {
        "id": f.id,
        "title": f.title,
        "summary": f.summary,
        "severity": f.severity,
        "evidence": list(f.evidence[:3]),
        "fix": f.fixes[0].command if f.fixes else "",
        **({"changes": changed} if changed else {}),
    }


def top_changes(report: Report, n: int = TOP_CHANGES) -> list[str]:
    """The first ``n`` lines of the report's ``what-changed`` finding (kubewhy/changes/evidence.py), else none."""
    found = next((f for f in report.findings if f.id == "what-changed"), None)
    return list(found.evidence[:n]) if found is not None else []


class Notifier(Protocol):
    async def post(self, page: Page) -> str:
        """Post the incident's one message; its id (Slack: the ts) is kept in the ledger."""

    async def update(self, page: Page, message_id: str) -> None:
        """Update that message in place (count, last seen, state)."""

    async def reply(self, page: Page, message_id: str) -> None:
        """Say something in the message's thread (the first page's whole report, an update, a reminder, the
        resolve notice)."""

    async def find(self, incident: LedgerIncident) -> str | None:
        """The id of a message already posted for this incident (by a replica that died before saving it)."""


async def announce_resolved(
    notifier: Notifier, app: Kubewhy, done: LedgerIncident, text: str, *, rule: str, summary: str, actor: str
) -> None:
    """An incident the ledger has just resolved, said where it was paged and recorded: its message updated in
    place and the reason replied in its thread (when it was posted), the page's ``resolved`` record and the
    incident's. The watchers (a condition cleared) and Alertmanager's intake (its last alert resolved) end an
    incident the same way."""
    if done.message_ts is not None:
        await notifier.update(Page("resolve", done, text), done.message_ts)
        await notifier.reply(Page("resolve", done, text), done.message_ts)
    app.page(
        rule=rule,
        fingerprint=done.fingerprint,
        state="resolved",
        target=done.target(),
        channel=done.channel,
        message_ts=done.message_ts,
        summary=summary,
        incident=done.ref,
    )
    app.resolve_incident(done.ref, actor=actor, summary=None)


def summary_line(page: Page) -> str:
    i = page.incident
    return (
        f"{i.severity.upper():8} {page.event:8} {i.ref} {i.rule} {i.subject} count={i.count}"
        + (f" absorbed={i.absorbed}" if i.absorbed else "")
        + f" — {page.text}"
    )


class StdoutNotifier:
    """Each page, update and resolve as a line of text or JSON."""

    def __init__(self, *, json_lines: bool = False, stream: IO[str] | None = None):
        self.json_lines = json_lines
        self.stream = stream or sys.stdout
        self._printed: dict[str, str] = {}  # ref -> message id: what this process printed (its look-back)

    def _write(self, page: Page, message_id: str) -> None:
        if self.json_lines:
            i = page.incident
            cause = page.report.findings[0] if page.report and page.report.findings else None
            record = {
                "event": page.event,
                "id": message_id,
                "ref": i.ref,
                "rule": i.rule,
                "subject": i.subject,
                "severity": i.severity,
                "state": i.state,
                "count": i.count,
                "absorbed": i.absorbed,
                "channel": i.channel,
                "first_seen": _iso(i.first_seen),
                "last_seen": _iso(i.last_seen),
                "text": page.text,
                "cause": None if cause is None else {"id": cause.id, "title": cause.title, "summary": cause.summary},
                "changes": top_changes(page.report) if page.report is not None else [],
            }
            line = json.dumps(record, sort_keys=True)
        else:
            line = summary_line(page)
            if page.report is not None and page.report.findings:
                f = page.report.findings[0]
                line += f" | cause: {f.title}: {f.summary}"
            if page.report is not None and (changed := top_changes(page.report, 1)):
                line += f" | changed: {changed[0]}"
        try:
            print(line, file=self.stream, flush=True)
        except BrokenPipeError:  # `kubewhy watch --stdout | head`: the reader left
            pass

    async def post(self, page: Page) -> str:
        message_id = f"stdout-{page.incident.id}"
        self._write(page, message_id)
        self._printed[page.incident.ref] = message_id
        return message_id

    async def update(self, page: Page, message_id: str) -> None:
        self._write(page, message_id)

    async def reply(self, page: Page, message_id: str) -> None:
        if page.event not in ("page", "resolve"):  # their line was printed by post/update already
            self._write(page, message_id)

    async def find(self, incident: LedgerIncident) -> str | None:
        # what this process printed; a line printed by a process that died before saving it cannot be looked up,
        # so there (and only there) a page may print twice
        return self._printed.get(incident.ref)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


__all__ = ["Notifier", "Page", "PageEvent", "StdoutNotifier", "cause_of", "summary_line", "top_changes"]
