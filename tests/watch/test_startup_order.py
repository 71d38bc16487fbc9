"""Start-up ordering (issue 24): the work of a start-up storm goes by priority (pages of new incidents, critical
first, before updates and resolves), a node's incident is paged as soon as the nodes are listed (a big cluster's
pods take hundreds of pages more), and nothing resolves or is re-paged before the pods are known."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.app import build_client
from bot.pager import SlackNotifier
from kubewhy.settings import load
from kubewhy.watch.engine import JOIN, OPEN, RESOLVE, UPDATE, PriorityGate, Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble
from tests.waiting import until, until_answer

from .conftest import DATA, Cluster, Pages, crash_looping, open_incidents, pod, settled, watch_environ


async def test_the_gate_lets_waiters_in_by_priority_then_arrival_and_skips_the_cancelled() -> None:
    gate = PriorityGate(1)
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.hold((OPEN,)):
            await release.wait()

    async def waiter(name: str, priority: tuple[Any, ...]) -> None:
        async with gate.hold(priority):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    assert gate.held == 1
    waiting = {
        name: asyncio.create_task(waiter(name, prio))
        for name, prio in [
            ("resolve", (RESOLVE, 1, 0.0)),
            ("update", (UPDATE, 1, 0.0)),
            ("warning page", (OPEN, 1, 5.0)),
            ("cancelled critical", (OPEN, 0, 0.0)),
            ("critical page", (OPEN, 0, 9.0)),
            ("older warning page", (OPEN, 1, 1.0)),
            ("join", (JOIN, 0, 0.0)),
        ]
    }
    for _ in range(3):
        await asyncio.sleep(0)
    waiting["cancelled critical"].cancel()
    release.set()
    await first
    await asyncio.gather(*waiting.values(), return_exceptions=True)
    assert order == ["critical page", "older warning page", "warning page", "join", "update", "resolve"]
    assert gate.held == 0


def _environ(cluster: Cluster, slack: SlackDouble, tmp_path: Path) -> dict[str, str]:
    return watch_environ(
        cluster, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"), KUBEWHY_WATCH_GRACE="0s"
    )


async def _start(
    env: dict[str, str], slack: SlackDouble, on_ready: Callable[[Watcher], None] | None = None
) -> tuple[asyncio.Event, asyncio.Task[Watcher]]:
    settings = load(env)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
    )
    return stop, task


async def _fault(http: httpx.AsyncClient, **spec: Any) -> None:
    (await http.post("/kubesim/v1/faults", json=spec)).raise_for_status()


async def _list_failures(http: httpx.AsyncClient) -> int:
    """How many LISTs of pods the fault has failed so far."""
    return int((await http.get("/kubesim/v1/faults")).json()["faults"][0]["hits"])


async def test_a_node_is_paged_before_the_pods_are_listed_and_nothing_open_resolves_or_pages_again_meanwhile(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path
) -> None:
    pages = Pages(slack)
    env = _environ(cluster, slack, tmp_path)
    await cluster.preload([pod("team", "w-5c8d7f9b6d-aaaaa", "node-1", owner="w", status=crash_looping(5))])
    # a first run pages the crash-looping workload: the ledger holds it open
    stop, task = await _start(env, slack)
    await pages.wait(lambda: len(pages.posts()) == 1, what="the workload's page")
    stop.set()
    await asyncio.wait_for(task, 30)
    held = await open_incidents(env["KUBEWHY_DATABASE_URL"])
    assert list(held) == ["deploy/team/w"] and all(held.values())

    # the pods cannot be listed (every LIST of them fails) and a node goes NotReady while the watchers are down
    await _fault(cluster.http, status=500, method="GET", path="/api/v1/pods", times=None)
    await cluster.node_ready("node-2", False)
    synced: list[Watcher] = []
    stop, task = await _start(env, slack, synced.append)
    try:
        await pages.wait(lambda: len(pages.posts()) == 2, timeout=60, what="the node's page")
        assert "node-2" in pages.posts()[1]["text"]
        assert not synced  # paged before the pods were known (their LIST keeps failing)
        listed = await _list_failures(cluster.http)
        # the pod informer retries, with backoff, several times more: the ticks run all that while
        await until_answer(
            lambda: _list_failures(cluster.http), lambda n: n >= listed + 3, timeout=60, what="more LISTs of pods"
        )
        assert not synced
        held = await open_incidents(env["KUBEWHY_DATABASE_URL"])
        assert held.get("deploy/team/w"), held  # not resolved for want of its pods
        assert not any("Resolved" in r.get("text", "") for r in pages.replies())

        (await cluster.http.delete("/kubesim/v1/faults")).raise_for_status()
        await until(lambda: bool(synced), timeout=60, what="the pods listed")
        await settled(synced[0], cluster, timeout=60)
        assert len(pages.posts()) == 2  # the open workload is not paged again
        held = await open_incidents(env["KUBEWHY_DATABASE_URL"])
        assert set(held) == {"deploy/team/w", "node/node-2"} and all(held.values())
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_workload_pages_from_the_first_page_of_pods_while_the_rest_of_the_list_is_still_to_come(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path
) -> None:
    pages = Pages(slack)
    env = _environ(cluster, slack, tmp_path)
    healthy = [pod(f"zz{i // 100}", f"p{i}-5c8d7f9b6d-aaaaa", "node-1", owner=f"p{i}") for i in range(520)]
    failing = pod("aaa", "w-5c8d7f9b6d-aaaaa", "node-1", owner="w", status=crash_looping(5))
    await cluster.preload([failing, *healthy])  # more than a page of 500; the failing pod on the first
    # every later page of a pod LIST fails: the first page is all the watchers can have
    await _fault(cluster.http, status=500, method="GET", path="/api/v1/pods", query="continue=", times=None)
    synced: list[Watcher] = []
    stop, task = await _start(env, slack, synced.append)
    try:
        await pages.wait(lambda: len(pages.posts()) == 1, timeout=60, what="the workload's page")
        assert "aaa/w" in pages.posts()[0]["text"] or "pod/aaa/w-5c8d7f9b6d-aaaaa" in pages.posts()[0]["text"]
        assert not synced and await _list_failures(cluster.http) >= 1  # the pods' LIST is not whole
        (await cluster.http.delete("/kubesim/v1/faults")).raise_for_status()
        await until(lambda: bool(synced), timeout=60, what="the pods listed")
        await settled(synced[0], cluster, timeout=60)
        assert len(pages.posts()) == 1  # the changes of the whole LIST find it paged: no second page
        held = await open_incidents(env["KUBEWHY_DATABASE_URL"])
        assert list(held) == ["deploy/aaa/w"] and all(held.values())
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
