"""Issue 28's escalation out: a page left unacknowledged past ``KUBEWHY_ESCALATE_AFTER`` gives one event at the
PagerDuty double (Events API v2) and one alert at the Opsgenie double (Alert API), keyed by the incident's ref,
resolved there once resolved here; an acknowledged page is not handed on. Time is the test's (``now=``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from kubewhy.escalation import escalate_due, services
from tests.watch.conftest import Cluster

from .conftest import TOKEN
from .test_receiver import stack


@dataclass
class Doubles:
    """PagerDuty's and Opsgenie's public APIs, as far as kubewhy calls them, recording each call."""

    url: str = ""
    pagerduty: list[dict[str, Any]] = field(default_factory=list)
    opsgenie: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
async def doubles() -> AsyncIterator[Doubles]:
    seen = Doubles()

    async def enqueue(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("routing_key") != "pd-key" or body.get("event_action") not in ("trigger", "resolve"):
            return web.json_response({"status": "invalid event"}, status=400)
        seen.pagerduty.append(body)
        return web.json_response({"status": "success", "dedup_key": body["dedup_key"]}, status=202)

    async def alerts(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "GenieKey og-key":
            return web.json_response({"message": "unauthorized"}, status=401)
        seen.opsgenie.append((request.path, await request.json()))
        return web.json_response({"result": "Request will be processed", "requestId": "r1"}, status=202)

    app = web.Application()
    app.router.add_post("/v2/enqueue", enqueue)
    app.router.add_post("/v2/alerts", alerts)
    app.router.add_post("/v2/alerts/{alias}/close", alerts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield seen
    await runner.cleanup()


def notification(name: str, fingerprint: str, status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": "critical"},
                "annotations": {"summary": f"{name} fired", "runbook_url": "https://runbooks.example/" + name},
                "startsAt": "2026-12-07T09:00:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


async def test_unacknowledged_pages_escalate_once_and_resolve_there(
    cluster: Cluster, tmp_path: Path, doubles: Doubles
) -> None:
    env = {
        "KUBEWHY_PAGERDUTY_ROUTING_KEY": "pd-key",
        "KUBEWHY_PAGERDUTY_URL": doubles.url + "/v2/enqueue",
        "KUBEWHY_OPSGENIE_API_KEY": "og-key",
        "KUBEWHY_OPSGENIE_URL": doubles.url,
        "KUBEWHY_ESCALATE_AFTER": "10m;#elsewhere=1m",
    }
    async with stack(cluster, tmp_path, watchers=False, **env) as s:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(timeout=30) as http:
            for name, fp in (("BrokenThing", "f1"), ("OtherThing", "f2")):
                answer = await http.post(s.receiver_url, json=notification(name, fp), headers=auth)
                assert answer.status_code == 200 and len(answer.json()["paged"]) == 1, answer.text
            app = s.bot.deps.app
            broken, other = [await s.incident_with(n) for n in ("BrokenThing", "OtherThing")]
            assert broken is not None and other is not None and broken.notified_at is not None
            await app.ack(other.id, actor="U0ONCALL")  # someone took this one
            to = services(app.settings.escalation)
            assert [t.name for t in to] == ["pagerduty", "opsgenie"]

            early = await escalate_due(app, to, now=broken.notified_at + timedelta(minutes=9))
            assert early.triggered == [] and doubles.pagerduty == []
            due = broken.notified_at + timedelta(minutes=11)
            assert (await escalate_due(app, to, now=due)).triggered == [broken.ref]
            assert (await escalate_due(app, to, now=due + timedelta(minutes=5))).triggered == []  # once
            (event,) = doubles.pagerduty
            assert event["event_action"] == "trigger" and event["dedup_key"] == broken.ref
            assert event["payload"]["severity"] == "critical" and "BrokenThing" in event["payload"]["summary"]
            assert event["payload"]["custom_details"]["runbook"] == "https://runbooks.example/BrokenThing"
            assert [(path, body["alias"]) for path, body in doubles.opsgenie] == [("/v2/alerts", broken.ref)]

            resolved = await http.post(s.receiver_url, json=notification("BrokenThing", "f1", "resolved"), headers=auth)
            assert resolved.json()["resolved"] == [broken.ref]
            assert (await escalate_due(app, to, now=due + timedelta(minutes=6))).resolved == [broken.ref]
            assert (await escalate_due(app, to, now=due + timedelta(minutes=7))).resolved == []
        assert [(e["event_action"], e["dedup_key"]) for e in doubles.pagerduty] == [
            ("trigger", broken.ref),
            ("resolve", broken.ref),
        ]
        assert doubles.opsgenie[-1][0] == f"/v2/alerts/{broken.ref}/close"
        assert app.audit is not None
        assert "escalated" in (await app.postmortem(broken.ref) or "")


def test_the_wait_is_per_channel() -> None:
    from kubewhy.settings import SettingsError, load

    esc = load({"KUBEWHY_ESCALATE_AFTER": "10m;#payments-oncall=2m"}).escalation
    assert esc.after_for("#payments-oncall") == 120 and esc.after_for("#infra") == 600
    with pytest.raises(SettingsError, match="KUBEWHY_ESCALATE_AFTER"):
        load({"KUBEWHY_ESCALATE_AFTER": "soon"})
