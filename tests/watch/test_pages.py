"""A page is a diagnosis, sent once per incident, updated in place, resolved in its thread."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_client
from bot.pager import SlackNotifier
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble

from .conftest import (
    DATA,
    Cluster,
    Pages,
    crash_looping,
    evicted,
    pod,
    running,
    settled,
    text_of,
    watch_environ,
)

Start = Callable[..., Any]


@pytest.fixture
async def watchers(cluster: Cluster, slack: SlackDouble, tmp_path: Path) -> AsyncIterator[Start]:
    """Start the watchers in this event loop (as ``kubewhy watch`` does); stopped at the end of the test."""
    running: list[tuple[asyncio.Event, asyncio.Task[Watcher]]] = []

    async def start(**extra: str) -> Watcher:
        env = watch_environ(cluster, slack, tmp_path, **{"KUBEWHY_WATCH_RULES": str(DATA / "rules.yaml"), **extra})
        settings = load(env)
        stop, ready = asyncio.Event(), asyncio.Event()
        box: dict[str, Watcher] = {}

        def on_ready(w: Watcher) -> None:
            box["w"] = w
            ready.set()

        task = asyncio.create_task(
            run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
        )
        done, _ = await asyncio.wait(
            [task, asyncio.create_task(ready.wait())], timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()
        running.append((stop, task))
        return box["w"]

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 15)


def latest(pages: Pages, post: dict[str, Any], ts: str) -> dict[str, Any]:
    """A page's message as it is now: its last update, else as posted."""
    updates = [u for u in pages.updates() if u.get("ts") == ts]
    return updates[-1] if updates else post


async def test_a_page_whose_diagnosis_is_late_goes_out_and_the_cause_follows_in_it(
    cluster: Cluster, slack: SlackDouble, watchers: Start
) -> None:
    pages = Pages(slack)
    watcher = await watchers()
    watcher.options.page_wait = 0.0  # no diagnosis is that fast: every page goes out before its cause
    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) >= 1, what="the page")
    page = pages.posts()[0]
    assert "node-2" in page["text"] and "CRITICAL" in page["text"]
    assert "Diagnosing: the cause will appear here" in text_of(page) and "Cause:" not in text_of(page)
    ts = slack.answers("chat.postMessage")[0]["ts"]
    await pages.wait(lambda: "Cause:" in text_of(latest(pages, page, ts)), what="the cause written into the page")
    assert "NotReady" in text_of(latest(pages, page, ts))
    assert "Diagnosing" not in text_of(latest(pages, page, ts))
    await pages.wait(lambda: any(r["thread_ts"] == ts for r in pages.replies()), what="the report in the thread")
    await settled(watcher, cluster)
    assert len(pages.posts()) == 1  # still one page


async def test_node_not_ready_pages_once_with_its_diagnosis_and_resolves_in_the_thread(
    cluster: Cluster, slack: SlackDouble, watchers: Start
) -> None:
    pages = Pages(slack)
    watcher = await watchers()
    assert pages.posts() == []  # a healthy cluster (and a pod with old restarts) pages nothing at start
    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) >= 1, what="the page")
    page = pages.posts()[0]
    assert page["channel"] == "#alerts"
    assert "node-2" in page["text"] and "CRITICAL" in page["text"]
    ts = slack.answers("chat.postMessage")[0]["ts"]
    # the core's diagnosis, not just the symptom (in the page as posted, or written into it when it came late)
    await pages.wait(lambda: "Cause:" in text_of(latest(pages, page, ts)), what="the cause in the page")
    body = text_of(latest(pages, page, ts))
    assert "NotReady" in body
    assert "kubewhy_incident_ack" in body and "kubewhy_incident_resolve" in body
    # the full report (evidence, fix buttons) is the first reply in its thread
    await pages.wait(lambda: any(r["thread_ts"] == ts for r in pages.replies()), what="the report in the thread")
    await settled(watcher, cluster)  # and nothing more to do: still one page
    assert len(pages.posts()) == 1

    await cluster.node_ready("node-2", True)
    await pages.wait(lambda: any("Resolved" in r.get("text", "") for r in pages.replies()), what="the resolve")
    resolves = [r for r in pages.replies() if "Resolved" in r.get("text", "")]
    assert len(resolves) == 1 and resolves[0]["thread_ts"] == ts
    assert any(u["ts"] == ts and "resolved" in text_of(u) for u in pages.updates())
    await settled(watcher, cluster)
    assert len(pages.posts()) == 1 and watcher.stats["pages"] == 1

    # `kubewhy postmortem REF` (the command, as a process) has the page, the diagnosis and the resolve, in order
    ref = json.loads(
        next(
            e["value"]
            for b in page["blocks"]
            for e in b.get("elements") or []
            if e.get("action_id") == "kubewhy_incident_ack"
        )
    )["r"]
    assert watcher.app.audit is not None
    await watcher.app.audit.flush()
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "kubewhy", "postmortem", ref, "--database-url", watcher.app.audit.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    timeline = out.stdout.split("## Timeline", 1)[1].split("## Causes", 1)[0]
    rows = [line for line in timeline.splitlines() if line.startswith("| 20")]
    kinds = [
        next(k for k in ("opened", "diagnosis", "alert", "resolved") if k in row)
        for row in rows
        if any(k in row for k in ("opened", "diagnosis", "alert", "resolved"))
    ]
    assert kinds[0] == "opened" and kinds[-1] == "resolved" and "diagnosis" in kinds and "alert" in kinds, rows
    assert "Node is NotReady" in out.stdout  # the cause found by the page's diagnosis


async def test_three_hundred_evictions_in_ten_seconds_are_one_message_counting_300(
    cluster: Cluster, slack: SlackDouble, watchers: Start
) -> None:
    names = [f"batch-{i:03d}" for i in range(300)]
    await cluster.preload([pod("jobs", n, "node-1", owner="batch", status=running()) for n in names])
    pages = Pages(slack)
    await watchers()
    gate = asyncio.Semaphore(20)

    async def evict(name: str) -> None:  # the kubelet marks each pod Failed/Evicted (node memory pressure)
        async with gate:
            await cluster.pod_status("jobs", name, evicted("node-1"))

    await asyncio.gather(*(evict(n) for n in names))  # all 300 at once (the benchmark times such storms)
    await pages.wait(
        lambda: any("300 so far" in u.get("text", "") for u in pages.updates()),
        timeout=30,
        what="the count to reach 300",
    )
    assert len(pages.posts()) == 1
    assert "evicted" in pages.posts()[0]["text"] and "node-1" in pages.posts()[0]["text"]
    ts = slack.answers("chat.postMessage")[0]["ts"]
    assert {u["ts"] for u in pages.updates()} == {ts}  # updated in place, never a second message


async def test_a_pod_with_old_restarts_that_is_healthy_now_and_old_evictions_never_page(
    cluster: Cluster, slack: SlackDouble, watchers: Start
) -> None:
    # shop/api has restartCount 7 and an OOMKilled last state from 2024, and is Ready now (two-nodes.yaml)
    await cluster.create_pod("shop", "web-1", "node-1", owner="web")
    await cluster.pod_status(
        "shop",
        "web-1",
        {
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 12,
                    "state": {"running": {"startedAt": "2024-06-12T08:00:00Z"}},
                    "lastState": {
                        "terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2024-06-12T07:59:00Z"}
                    },
                }
            ]
        },
    )
    old_eviction = evicted("node-1")  # and pods the kubelet evicted long ago, still listed as Failed
    old_eviction["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = "2024-06-12T08:00:00Z"
    for i in range(3):
        await cluster.create_pod("jobs", f"old-{i}", "node-1", owner="batch", status=old_eviction)
    watcher = await watchers()
    await settled(watcher, cluster)  # every object seen, no candidate waiting out its grace
    assert Pages(slack).posts() == []
    assert watcher.stats["pages"] == 0


async def test_crash_loop_pages_its_workload_once_and_a_not_ready_node_absorbs_its_pods(
    cluster: Cluster, slack: SlackDouble, watchers: Start
) -> None:
    pages = Pages(slack)
    watcher = await watchers()
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-bbbbb", "node-1", owner="cart", status=crash_looping(6))
    await pages.wait(lambda: len(pages.posts()) == 1, what="the crash-loop page")
    assert "deploy/shop/cart" in text_of(pages.posts()[0])  # one incident per owner workload
    await settled(watcher, cluster)
    assert len(pages.posts()) == 1

    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) == 2, what="the node page")
    for i in range(3):  # pods on the NotReady node start crashing: grouped under the node, not paged
        await cluster.create_pod(
            "pay", f"ledger-5c8d7f9b6d-{i}aaaa", "node-2", owner=f"ledger{i}", status=crash_looping(5)
        )
    await pages.wait(
        lambda: any("grouped here" in text_of(u) and "3 pod incident" in text_of(u) for u in pages.updates()),
        what="three absorbed incidents",
    )
    assert len(pages.posts()) == 2


async def test_a_page_posted_by_a_replica_that_died_before_saving_it_is_adopted_not_posted_again(
    cluster: Cluster, slack: SlackDouble, watchers: Start, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from kubewhy import compose

    env = watch_environ(cluster, slack, tmp_path)
    settings = load(env)
    async with compose.audit_opened(settings) as audit:
        assert audit is not None
        await audit.flush()
        ledger = compose.build_ledger(audit)
        incident, _ = await ledger.open_incident(
            cluster="test",
            rule="node-not-ready",
            subject="node/node-2",
            severity="critical",
            title="node node-2: Ready is Unknown",
            channel="#alerts",
            details={"target": ["Node", None, "node-2"]},
        )
        assert await ledger.claim_post(incident.id, "replica-that-died", at=datetime.now(UTC) - timedelta(minutes=5))
    posted = await build_client(settings.slack).chat_postMessage(  # what it managed to post before dying
        channel="#alerts",
        text="CRITICAL: node node-2",
        metadata={"event_type": "kubewhy_incident", "event_payload": {"ref": incident.ref}},
    )
    await cluster.node_ready("node-2", False)
    pages = Pages(slack)
    watcher = await watchers()
    await pages.wait(lambda: bool(slack.to("conversations.history")), what="the look-up of the dead replica's page")
    await settled(watcher, cluster)  # the page it found is adopted: saved in the ledger, nothing left to post
    assert len(pages.posts()) == 1 and watcher.stats["pages"] == 0
    async with compose.audit_opened(settings) as audit:
        assert audit is not None
        found = await compose.build_ledger(audit).get(incident.id)
    assert found is not None and found.message_ts == posted["ts"]


async def test_reminders_repeat_in_the_thread_and_quiet_hours_hold_all_but_critical_pages(
    cluster: Cluster, slack: SlackDouble, watchers: Start, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("""apiVersion: kubewhy.io/v1
kind: WatchRules
defaults: {resolve_after: 1s}
rules:
  - {id: node-not-ready, detect: node-not-ready, severity: critical, grace: 0s, reminder: 1s,
     quiet_hours: {start: '00:00', end: '23:59:59', timezone: UTC}}
  - {id: crash-loop, detect: crash-loop, severity: warning, restarts: 3,
     quiet_hours: {start: '00:00', end: '23:59:59', timezone: UTC}}
""")
    pages = Pages(slack)
    watcher = await watchers(KUBEWHY_WATCH_RULES=str(rules))
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))
    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) == 1, what="the critical page")
    await pages.wait(lambda: sum("Reminder" in r.get("text", "") for r in pages.replies()) >= 2, what="two reminders")
    assert len(pages.posts()) == 1 and "node-2" in pages.posts()[0]["text"]  # the warning waits for morning
    held = watcher.candidates[("crash-loop", "deploy/shop/cart")]
    assert held.incident is not None and held.incident.message_ts is None  # recorded, not paged
