"""An incident is a cause on a subject: one workload's OOM kills and crash loop are one incident, an eviction is
keyed the same from its event and from its pod, and a resolved incident stays resolved across restarts, also for
a pod that carries no timestamps. Time is a virtual clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_client
from bot.pager import SlackNotifier
from kubesim.runner import RunningSim
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble

from .conftest import DATA, Cluster, Pages, crash_looping, settled, watch_environ


class Clock:
    """The watchers' time: it moves only when the test says."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


Start = Callable[..., Any]


@pytest.fixture
async def start(slack: SlackDouble, tmp_path: Path) -> AsyncIterator[Start]:
    """Start watchers on ``cluster`` with ``clock``; ``stop()`` on the result stops them (the test's end too)."""
    running: list[tuple[asyncio.Event, asyncio.Task[Watcher]]] = []

    async def go(cluster: Cluster, clock: Clock) -> tuple[Watcher, Callable[[], Any]]:
        env = watch_environ(cluster, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
        settings = load(env)
        stop, ready = asyncio.Event(), asyncio.Event()
        box: list[Watcher] = []

        def on_ready(w: Watcher) -> None:
            box.append(w)
            ready.set()

        notifier = SlackNotifier(build_client(settings.slack))
        task = asyncio.create_task(run_watchers(settings, notifier, stop=stop, on_ready=on_ready, clock=clock))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait([task, waiter], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        running.append((stop, task))

        async def halt() -> None:
            stop.set()
            await asyncio.wait_for(task, 15)

        return box[0], halt

    yield go
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def undated(start_sim: Callable[..., RunningSim]) -> AsyncIterator[Cluster]:
    sim = start_sim(DATA / "undated-eviction.yaml", timeline_mode="manual", watch_bookmark_interval=0.5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        yield Cluster(sim, http)


async def test_oom_kills_and_the_crash_loop_of_one_workload_are_one_incident(
    cluster: Cluster, slack: SlackDouble, start: Start
) -> None:
    pages, clock = Pages(slack), Clock()
    watcher, _ = await start(cluster, clock)
    # the kernel kills it (OOMKilled), the kubelet restarts it until CrashLoopBackOff: two rules, one cause
    await cluster.create_pod("q1", "app-5c8d7f9b6d-aaaaa", "node-1", owner="app", status=crash_looping(5, "OOMKilled"))
    await cluster.create_pod("q1", "app-5c8d7f9b6d-bbbbb", "node-2", owner="app", status=crash_looping(4, "OOMKilled"))
    await pages.wait(lambda: len(pages.posts()) >= 1, what="the page")
    await pages.wait(lambda: any("Also " in r.get("text", "") for r in pages.replies()), what="the second rule")
    await settled(watcher, cluster)
    assert len(pages.posts()) == 1, pages.summary()
    incidents = await watcher.ledger.open_incidents("test")
    assert [(i.subject, sorted(i.details["rules"])) for i in incidents] == [
        ("deploy/q1/app", ["crash-loop", "oom-killed"])
    ]


async def test_an_eviction_for_ephemeral_storage_is_one_incident_from_its_event_and_its_pod(
    undated: Cluster, slack: SlackDouble, start: Start
) -> None:
    pages, clock = Pages(slack), Clock()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "batch-1.evicted", "namespace": "jobs"},
        "involvedObject": {"kind": "Pod", "namespace": "jobs", "name": "batch-1"},
        "reason": "Evicted",
        "message": "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi.",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "lastTimestamp": clock.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (await undated.http.post("/api/v1/namespaces/jobs/events", json=event)).raise_for_status()
    watcher, _ = await start(undated, clock)
    await pages.wait(lambda: len(pages.posts()) >= 1, what="the page")
    await settled(watcher, undated)
    assert len(pages.posts()) == 1, pages.summary()
    assert [i.subject for i in await watcher.ledger.open_incidents("test")] == ["node/node-1:evicted-ephemeral-storage"]


async def test_a_resolved_eviction_of_a_pod_without_timestamps_stays_resolved_after_a_restart(
    undated: Cluster, slack: SlackDouble, start: Start
) -> None:
    pages, clock = Pages(slack), Clock()
    watcher, halt = await start(undated, clock)
    await pages.wait(lambda: len(pages.posts()) == 1, what="the page")
    clock.advance(10)  # no new eviction for longer than resolve_after (3 s): resolved
    await pages.wait(lambda: any("Resolved" in r.get("text", "") for r in pages.replies()), what="the resolve")
    await settled(watcher, undated)
    await halt()

    clock.advance(60)
    again, _ = await start(undated, clock)  # the same evicted pod, re-listed, still without timestamps
    await settled(again, undated)
    assert len(pages.posts()) == 1, pages.summary()
    assert await again.ledger.open_incidents("test") == []


def test_the_subject_is_the_top_controller() -> None:
    from kubewhy.watch.detect import pod_subject, project_pod

    def subject(owner: dict[str, Any] | None, name: str = "p-1", labels: dict[str, str] | None = None) -> str:
        meta: dict[str, Any] = {"name": name, "namespace": "ns", "labels": labels or {}}
        if owner is not None:
            meta["ownerReferences"] = [{"controller": True, **owner}]
        return pod_subject(project_pod({"metadata": meta, "spec": {}, "status": {}}))

    rs = {"kind": "ReplicaSet", "name": "web-5c8d7f9b6d"}
    assert subject(rs, labels={"pod-template-hash": "5c8d7f9b6d"}) == "deploy/ns/web"
    assert subject({"kind": "Job", "name": "backup-28934560"}) == "cronjob/ns/backup"  # a CronJob's run
    assert subject({"kind": "Job", "name": "migrate"}) == "job/ns/migrate"
    assert subject({"kind": "DaemonSet", "name": "agent"}) == "ds/ns/agent"
    assert subject({"kind": "Node", "name": "node-1"}, name="etcd-node-1") == "pod/ns/etcd-node-1"  # a static pod
    assert subject(None, name="bare") == "pod/ns/bare"
