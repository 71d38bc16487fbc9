"""Issue 28's receiver end to end: a real Alertmanager, a kube-prometheus-style route (grouped by namespace,
second-scale waits, bearer token), alerts pushed through its API v2, kubewhy's receiver in front of the watchers'
ledger, and the messages counted at the Slack double."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.alerts import PATH, build_receiver
from bot.app import build_client
from bot.pager import SlackNotifier
from kubewhy.audit.ledger import LedgerIncident
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import CHANNEL, Bot, running_bot
from tests.waiting import until_answer
from tests.watch.conftest import DATA, Cluster, Pages, crash_looping, text_of, watch_environ

from .conftest import TOKEN, alert

RUNBOOK = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready"


@dataclass
class Stack:
    bot: Bot
    pages: Pages
    receiver_url: str
    watcher: Watcher | None

    async def incidents(self) -> list[LedgerIncident]:
        return await self.bot.deps.app.incidents()

    async def incident_with(self, alertname: str) -> LedgerIncident | None:
        for i in await self.incidents():
            if any(a.get("name") == alertname for a in (i.details.get("alerts") or {}).values()):
                return i
        return None


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        "KUBEWHY_CLUSTER_NAME": "test",
        "KUBEWHY_ALERT_CHANNEL": CHANNEL,
        "KUBEWHY_ALERTMANAGER_TOKEN": TOKEN,
        **extra,
    }


@asynccontextmanager
async def stack(cluster: Cluster, tmp_path: Path, *, watchers: bool = True, **extra: str) -> AsyncIterator[Stack]:
    slack = SlackDouble()
    async with running_bot(cluster.sim, bot_env(tmp_path, **extra), slack) as bot:
        notifier = SlackNotifier(build_client(bot.deps.slack), bot.deps)
        runner = web.AppRunner(build_receiver(bot.deps, notifier), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        stop, ready = asyncio.Event(), asyncio.Event()
        box: list[Watcher] = []
        task = None
        if watchers:
            settings = load(
                watch_environ(
                    cluster,
                    slack,
                    tmp_path,
                    database_url=f"sqlite:///{tmp_path / 'audit.db'}",
                    KUBEWHY_ALERT_CHANNEL=CHANNEL,
                    KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
                    **extra,
                )
            )

            def on_ready(w: Watcher) -> None:
                box.append(w)
                ready.set()

            task = asyncio.create_task(run_watchers(settings, notifier, stop=stop, on_ready=on_ready, app=bot.deps.app))
            await asyncio.wait_for(ready.wait(), 30)
        try:
            yield Stack(bot, Pages(slack, CHANNEL), f"http://127.0.0.1:{port}{PATH}", box[0] if box else None)
        finally:
            stop.set()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            await runner.cleanup()


async def test_alertmanager_alerts_join_the_watchers_incidents(
    cluster: Cluster, tmp_path: Path, alertmanager_factory: Any
) -> None:
    # a Deployment's pod crash-loops: the watchers page it (one message)
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-abcde", "node-1", owner="cart", status=crash_looping(6))
    async with stack(cluster, tmp_path) as s:
        await s.pages.wait(lambda: len(s.pages.posts()) == 1, what="the watchers' page")
        am = await alertmanager_factory(s.receiver_url)

        # Must show 1: KubePodCrashLooping for that pod → 0 new messages, the alert attached to the incident
        await am.push(
            alert(
                "KubePodCrashLooping",
                {"namespace": "shop", "pod": "cart-5c8d7f9b6d-abcde", "container": "app", "severity": "warning"},
                summary="Pod is crash looping.",
            )
        )
        await s.pages.wait(
            lambda: any("KubePodCrashLooping" in text_of(u) for u in s.pages.updates()),
            what="the page updated with the alert",
        )
        watched = await s.incident_with("KubePodCrashLooping")
        assert watched is not None and watched.subject == "deploy/shop/cart" and watched.rule == "crash-loop"
        assert len(s.pages.posts()) == 1

        # Must show 2: a new incident → 1 message with the diagnosis and the runbook link; a grouped notification
        # (two alerts on one pod, one on another subject, one namespace) → one message per incident
        pending = {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/2 nodes are available: 2 Insufficient cpu.",
                }
            ],
        }
        await cluster.create_pod("shop", "report", "", status=pending)
        await cluster.create_pod("shop", "mailer", "node-2")
        labels = {"namespace": "shop", "pod": "report", "severity": "warning"}
        await am.push(
            alert("KubePodNotReady", labels, summary="Pod has been in a non-ready state.", runbook_url=RUNBOOK),
            alert("KubeContainerWaiting", {**labels, "container": "app"}, summary="Container is waiting."),
            alert("KubeDeploymentReplicasMismatch", {"namespace": "shop", "deployment": "mailer"}),
        )
        await s.pages.wait(lambda: len(s.pages.posts()) == 3, what="one page per new incident")
        report_page = next(p for p in s.pages.posts() if "KubePodNotReady" in text_of(p))
        assert RUNBOOK in text_of(report_page)
        assert "Cause:" in text_of(report_page)  # the diagnosis
        both = {"KubePodNotReady", "KubeContainerWaiting"}  # the second joins the incident the first opened

        def attached(incident: LedgerIncident | None) -> bool:
            return incident is not None and {a["name"] for a in incident.details["alerts"].values()} == both

        new = await until_answer(lambda: s.incident_with("KubePodNotReady"), attached)
        assert new is not None and new.subject == "pod/shop/report"
        await s.pages.wait(
            lambda: any(r.get("thread_ts") for r in s.pages.replies()), what="the diagnosis in the thread"
        )

        # Must show 3: resolving updates the message in place, no new message
        posted_ts = new.message_ts
        await am.push(
            alert(
                "KubePodNotReady",
                labels,
                resolved=True,
                summary="Pod has been in a non-ready state.",
                runbook_url=RUNBOOK,
            ),
            alert(
                "KubeContainerWaiting", {**labels, "container": "app"}, resolved=True, summary="Container is waiting."
            ),
        )
        await s.pages.wait(
            lambda: any(
                u["ts"] == posted_ts and "` :white_check_mark: resolved" in text_of(u) for u in s.pages.updates()
            ),
            what="the page resolved in place",
        )
        assert len(s.pages.posts()) == 3
        assert (await s.bot.deps.app.incident(new.id)).state == "resolved"  # type: ignore[union-attr]
        # the watchers' incident stays theirs: still open
        assert any(i.id == watched.id for i in await s.incidents())


async def test_unknown_labels_are_paged_duplicates_once_bad_bodies_400(cluster: Cluster, tmp_path: Path) -> None:
    async with stack(cluster, tmp_path, watchers=False) as s:
        body: dict[str, Any] = {
            "version": "4",
            "status": "firing",
            "receiver": "kubewhy",
            "groupKey": "{}:{}",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "DiskIsSad", "instance": "10.1.2.3:9100", "job": "node-exporter"},
                    "annotations": {"description": "the disk is sad <!channel>"},
                    "startsAt": "2026-12-07T09:00:00Z",
                    "fingerprint": "a1b2c3d4e5f60718",
                }
            ],
        }
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.post(s.receiver_url, json=body)).status_code == 401
            wrong = await http.post(s.receiver_url, json=body, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            s.pages.slack.fail("chat.postMessage")  # Slack fails the page: 503, and Alertmanager's retry is no dup
            failed = await http.post(s.receiver_url, json=body, headers=auth)
            assert failed.status_code == 503, failed.text
            first = await http.post(s.receiver_url, json=body, headers=auth)
            assert first.status_code == 200 and len(first.json()["paged"]) == 1, first.text
            again = await http.post(s.receiver_url, json=body, headers=auth)  # HA Alertmanager: twice
            assert again.json()["duplicates"] == 1 and again.json()["paged"] == []
            for bad, says in [
                (b"not json", "not JSON"),
                (json.dumps({**body, "version": "3"}).encode(), "version 4"),
                (json.dumps({**body, "alerts": {}}).encode(), "`alerts` must be a list"),
                (json.dumps({**body, "alerts": [{"status": "odd"}]}).encode(), "alerts[0].status"),
                (json.dumps({**body, "alerts": [{**body["alerts"][0], "startsAt": "soon"}]}).encode(), "startsAt"),
                (json.dumps({**body, "alerts": [{**body["alerts"][0], "labels": {"a": 1}}]}).encode(), "labels"),
            ]:
                answer = await http.post(s.receiver_url, content=bad, headers=auth)
                assert answer.status_code == 400 and says in answer.json()["error"], (bad, answer.text)
        posts = s.pages.posts()
        assert len(posts) == 1  # never dropped, never twice
        shown = [b["text"]["text"] for b in posts[0]["blocks"] if b["type"] == "section"]
        assert any("DiskIsSad" in t and "&lt;!channel&gt;" in t for t in shown)  # escaped: pings nobody
        assert any("instance=10.1.2.3:9100" in t for t in shown)  # what its labels say
        unknown = await s.incident_with("DiskIsSad")
        assert unknown is not None and unknown.subject == "alert/DiskIsSad/a1b2c3d4e5f60718"
