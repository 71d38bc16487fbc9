"""Escalation out (docs/alertmanager.md, "Escalation"): a page left open and unacknowledged for
``KUBEWHY_ESCALATE_AFTER`` (per channel, i.e. per route) is handed on to PagerDuty (Events API v2) and/or Opsgenie,
and resolved there once it is resolved here. The dedup key (PagerDuty's ``dedup_key``, Opsgenie's ``alias``) is
the incident's ref, so a second trigger (another replica, a retry) is the same alert there.

What was sent is kept in the incident (``details.escalated``: when, to which services, and when it was resolved
there) and in the audit log (``escalated``, ``escalation resolved``), so ``kubewhy postmortem`` shows it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from .adapters.escalation import Opsgenie, PagerDuty
from .errors import KubewhyError

if TYPE_CHECKING:
    from .app import Kubewhy
    from .audit.ledger import LedgerIncident
    from .settings import EscalationSettings

log = logging.getLogger("kubewhy.escalation")
MEMORY = timedelta(days=7)  # resolved incidents looked at for a resolve still owed to the services
EVERY = 15.0  # seconds between looks (k8sbot)


class Service(Protocol):
    name: str

    async def trigger(self, key: str, summary: str, *, severity: str, source: str, details: dict[str, Any]) -> None:
        """Open (or, for the same key, keep) an alert there."""

    async def resolve(self, key: str) -> None:
        """Resolve it there."""


def services(settings: EscalationSettings) -> list[Service]:
    out: list[Service] = []
    if settings.pagerduty_key:
        out.append(PagerDuty(settings.pagerduty_url, settings.pagerduty_key))
    if settings.opsgenie_key:
        out.append(Opsgenie(settings.opsgenie_url, settings.opsgenie_key))
    return out


@dataclass
class Escalated:
    triggered: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def _cluster(app: Kubewhy) -> str:
    return app.settings.watch.cluster or urlsplit(app.endpoint).netloc or app.endpoint


async def escalate_due(app: Kubewhy, to: list[Service], *, now: datetime | None = None) -> Escalated:
    """One look at the ledger: trigger what waited too long unacknowledged, resolve what was resolved here."""
    now = now or datetime.now(UTC)
    settings = app.settings.escalation
    ledger = await app.ledger()
    done = Escalated()
    for incident in await ledger.recent(_cluster(app), now - MEMORY):
        sent = incident.details.get("escalated") or {}
        if incident.state == "resolved":
            if sent and not sent.get("resolved_at"):
                for service in to:
                    if service.name in sent.get("to", []):
                        await service.resolve(incident.ref)
                await _mark(app, incident, {**sent, "resolved_at": now.isoformat()})
                app.record(
                    "escalation resolved",
                    actor="kubewhy",
                    source="escalation",
                    incident=incident.ref,
                    details={"summary": f"resolved at {', '.join(sent.get('to', []))}"},
                )
                done.resolved.append(incident.ref)
            continue
        if sent or incident.state != "open" or incident.notified_at is None:
            continue  # handed on already, acknowledged, or not paged yet
        wait = timedelta(seconds=settings.after_for(incident.channel))
        if now - incident.notified_at < wait:
            continue
        summary = f"{incident.severity.upper()}: {incident.title} ({incident.subject})"
        details = {"ref": incident.ref, "rule": incident.rule, "subject": incident.subject, "count": incident.count}
        runbooks = [a["runbook"] for a in (incident.details.get("alerts") or {}).values() if a.get("runbook")]
        if runbooks:
            details["runbook"] = runbooks[0]
        for service in to:
            await service.trigger(
                incident.ref, summary, severity=incident.severity, source=incident.cluster, details=details
            )
        names = [s.name for s in to]
        await _mark(app, incident, {"at": now.isoformat(), "to": names})
        app.record(
            "escalated",
            actor="kubewhy",
            source="escalation",
            channel=incident.channel,
            incident=incident.ref,
            details={"summary": f"unacknowledged for {wait}: sent to {', '.join(names)}"},
        )
        done.triggered.append(incident.ref)
    return done


async def _mark(app: Kubewhy, incident: LedgerIncident, sent: dict[str, Any]) -> None:
    ledger = await app.ledger()
    current = await ledger.get(incident.id) or incident  # the latest details: only ``escalated`` changes
    await ledger.change(incident.id, details={**current.details, "escalated": sent})


async def run(app: Kubewhy, stop: asyncio.Event, *, every: float = EVERY) -> None:
    """k8sbot's loop: a look every ``every`` seconds until ``stop``; a failed look is logged and tried again."""
    to = services(app.settings.escalation)
    while not stop.is_set():
        try:
            await escalate_due(app, to)
        except KubewhyError as exc:
            log.warning("escalation: %s (trying again)", exc)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


__all__ = ["Escalated", "Service", "escalate_due", "run", "services"]
