"""Issue 28's silences both ways, with a real Alertmanager: the watchers do not page what an active silence matches,
"Snooze 2h" creates a silence with the person as createdBy (kubewhy's own mute without an Alertmanager), and
``/k8s mute`` lists both kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.pager import ACTION_SNOOZE
from tests.bot.test_slack_bot import ALLOWED, STRANGER
from tests.waiting import until
from tests.watch.conftest import Cluster, crash_looping, text_of, ticks_of

from .conftest import ready, route_config
from .test_receiver import Stack, stack


def said(body: str) -> str:
    return str(json.loads(body)["text"]) if body.startswith("{") else body


def page_of(s: Stack, name: str) -> dict[str, Any]:
    """The page about ``name`` with the ts the double gave it (what a click carries)."""
    calls = s.pages.slack.to("chat.postMessage")
    i = next(n for n, c in enumerate(calls) if not c.get("thread_ts") and name in text_of(c))
    return {**calls[i], "ts": s.pages.slack.answers("chat.postMessage")[i]["ts"]}


async def test_silenced_incidents_are_not_paged_and_snooze_creates_a_silence(
    cluster: Cluster, tmp_path: Path, start_alertmanager: Any
) -> None:
    am = start_alertmanager(route_config("http://127.0.0.1:9/alertmanager"))  # no alert is pushed here
    await ready(am)
    silence_id = await am.silence(
        [
            {"name": "alertname", "value": "KubePodCrashLooping", "isRegex": False, "isEqual": True},
            {"name": "namespace", "value": "shop", "isRegex": False, "isEqual": True},
            {"name": "pod", "value": "cart-.*", "isRegex": True, "isEqual": True},
        ],
        created_by="U0SOMEONE",
    )
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-abcde", "node-1", owner="cart", status=crash_looping(6))
    await cluster.create_pod("shop", "web-5c8d7f9b6d-fghij", "node-2", owner="web", status=crash_looping(6))
    extra = {"KUBEWHY_ALERTMANAGER_URL": am.url, "KUBEWHY_SLACK_ALLOW": f"*={ALLOWED}"}
    async with stack(cluster, tmp_path, **extra) as s:
        assert s.watcher is not None
        await s.pages.wait(lambda: len(s.pages.posts()) == 1, what="the unsilenced crash loop's page")
        assert "deploy/shop/web" in text_of(s.pages.posts()[0])
        # both crash loops were due at the same tick; two more whole ticks and the silenced one is still unpaged
        ticks = ticks_of(s.watcher)
        later = ticks.count + 2
        await until(lambda: ticks.count > later, what="two more ticks")
        held = s.watcher.candidates[("crash-loop", "deploy/shop/cart")]
        assert held.incident is None and len(s.pages.posts()) == 1

        # Snooze 2h: refused to someone not allowed to mute, then a silence created by the person who clicked
        page = page_of(s, "deploy/shop/web")
        await s.bot.click(page, ACTION_SNOOZE, user=STRANGER)
        await s.pages.slack.wait_for("response_url")
        assert len(await am.silences()) == 1
        await s.bot.click(page, ACTION_SNOOZE)
        await s.pages.wait(lambda: any("Snoozed by" in r.get("text", "") for r in s.pages.replies()), what="the snooze")
        created = [x for x in await am.silences() if x["id"] != silence_id]
        assert len(created) == 1 and created[0]["createdBy"] == ALLOWED
        assert {m["name"]: m["value"] for m in created[0]["matchers"]}["namespace"] == "shop"

        # /k8s mute lists both kinds
        _, muted, _ = await s.bot.command("mute node/node-1 1h")
        assert "muted `node/node-1`" in said(muted)
        _, listed, _ = await s.bot.command("mute")
        text = said(listed)
        assert "node/node-1" in text and silence_id in text and created[0]["id"] in text


async def test_without_alertmanager_snooze_is_a_kubewhy_mute(cluster: Cluster, tmp_path: Path) -> None:
    await cluster.create_pod("shop", "web-5c8d7f9b6d-fghij", "node-2", owner="web", status=crash_looping(6))
    async with stack(cluster, tmp_path, KUBEWHY_SLACK_ALLOW=f"*={ALLOWED}") as s:
        await s.pages.wait(lambda: len(s.pages.posts()) == 1, what="the page")
        await s.bot.click(page_of(s, "deploy/shop/web"), ACTION_SNOOZE)
        await s.pages.wait(lambda: any("kubewhy mute" in r.get("text", "") for r in s.pages.replies()), what="snooze")
        mutes = await (await s.bot.deps.app.ledger()).mutes()
        assert [(m.target, m.created_by) for m in mutes] == [("deploy/shop/web", ALLOWED)]
        _, listed, _ = await s.bot.command("mute")
        assert "deploy/shop/web" in said(listed) and "No Alertmanager configured" in said(listed)
