"""Where an unacknowledged page is handed on: PagerDuty's Events API v2 and Opsgenie's Alert API, over aiohttp.
Both deduplicate on a key kubewhy gives them (the incident's ref), so a trigger sent twice (two replicas, a retry)
is one alert there. Every failure becomes :class:`EscalationError`, naming the service, never a traceback."""

from __future__ import annotations

from typing import Any

import aiohttp

from ..errors import AdapterError

PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
OG_PRIORITY = {"critical": "P1", "warning": "P3", "info": "P5"}


class EscalationError(AdapterError):
    """PagerDuty or Opsgenie did not take an event."""


async def _send(
    service: str, method: str, url: str, body: dict[str, Any], headers: dict[str, str], timeout: float
) -> None:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), headers=headers) as session,
            session.request(method, url, json=body) as answer,
        ):
            if answer.status >= 300:
                raise EscalationError(f"{service} {url}: {answer.status} {(await answer.text())[:200]}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise EscalationError(f"{service} {url}: {type(exc).__name__}: {exc}") from exc


class PagerDuty:
    """Events API v2: ``trigger`` and ``resolve`` on one ``dedup_key``."""

    name = "pagerduty"

    def __init__(self, url: str, routing_key: str, *, timeout: float = 10.0):
        self.url, self.routing_key, self.timeout = url, routing_key, timeout

    async def trigger(self, key: str, summary: str, *, severity: str, source: str, details: dict[str, Any]) -> None:
        await _send(
            "PagerDuty",
            "POST",
            self.url,
            {
                "routing_key": self.routing_key,
                "event_action": "trigger",
                "dedup_key": key,
                "payload": {
                    "summary": summary[:1024],
                    "source": source,
                    "severity": PD_SEVERITY.get(severity, "warning"),
                    "custom_details": details,
                },
            },
            {},
            self.timeout,
        )

    async def resolve(self, key: str) -> None:
        body = {"routing_key": self.routing_key, "event_action": "resolve", "dedup_key": key}
        await _send("PagerDuty", "POST", self.url, body, {}, self.timeout)


class Opsgenie:
    """Alert API v2: create with ``alias`` = the key, close by alias."""

    name = "opsgenie"

    def __init__(self, url: str, api_key: str, *, timeout: float = 10.0):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.headers = {"Authorization": f"GenieKey {api_key}"}

    async def trigger(self, key: str, summary: str, *, severity: str, source: str, details: dict[str, Any]) -> None:
        body = {
            "message": summary[:130],
            "alias": key,
            "source": source,
            "priority": OG_PRIORITY.get(severity, "P3"),
            "details": {k: str(v)[:500] for k, v in details.items()},
        }
        await _send("Opsgenie", "POST", f"{self.url}/v2/alerts", body, self.headers, self.timeout)

    async def resolve(self, key: str) -> None:
        url = f"{self.url}/v2/alerts/{key}/close?identifierType=alias"
        await _send("Opsgenie", "POST", url, {"source": "kubewhy"}, self.headers, self.timeout)


__all__ = ["EscalationError", "Opsgenie", "PagerDuty"]
