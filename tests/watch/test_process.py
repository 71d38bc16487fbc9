"""``kubewhy watch`` as a process: stopped (SIGTERM) or killed (SIGKILL) in the middle of an incident and started
again, it pages nothing twice and pages what happened while it was down; two processes on one Postgres page once
between them, and the second takes over when the leader dies."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.slack_double import SlackDouble
from tests.waiting import until, until_answer

from .conftest import DATA, Cluster, Pages, crash_looping, open_incidents, watch_environ


class Proc:
    def __init__(self, proc: asyncio.subprocess.Process, log: Path):
        self.proc, self.log = proc, log

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_for_line(self, needle: str, timeout: float = 30.0) -> None:
        def seen() -> bool:
            if needle in self.text():
                return True
            if self.proc.returncode is not None:
                raise AssertionError(f"kubewhy watch exited {self.proc.returncode}:\n{self.text()}")
            return False

        await until(seen, timeout=timeout, what=repr(needle), detail=lambda: "\n" + self.text())


async def ledger_holds(database_url: str, *subjects: str) -> None:
    """Until exactly these incidents are open in the ledger, each with its page's message saved: the watcher that
    posted them is done with them (a page is posted, then saved)."""
    await until_answer(
        lambda: open_incidents(database_url),
        lambda held: set(held) == set(subjects) and all(held.values()),
        what=f"the ledger to hold {subjects} posted",
    )


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[object]:
    procs: list[Proc] = []

    async def start(env: dict[str, str], name: str) -> Proc:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kubewhy", "watch", "-v", env=env, stdout=out, stderr=out
            )
        p = Proc(proc, log)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.proc.returncode is None:
            p.proc.kill()
            await p.proc.wait()


LEADS = "now leads"


async def test_stopped_or_killed_mid_incident_then_restarted_pages_nothing_twice_and_what_happened_meanwhile(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, spawn: object
) -> None:
    env = watch_environ(cluster, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
    start = spawn  # type: ignore[assignment]
    pages = Pages(slack)
    a = await start(env, "a")  # type: ignore[operator]
    await a.wait_for_line(LEADS)
    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) == 1, what="the node page")

    a.proc.send_signal(signal.SIGTERM)  # the pod is stopped mid-incident
    assert await asyncio.wait_for(a.proc.wait(), 20) == 0
    assert "Traceback" not in a.text()
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))

    b = await start(env, "b")  # type: ignore[operator]
    await b.wait_for_line(LEADS)
    await pages.wait(lambda: len(pages.posts()) == 2, what="the crash loop that began while it was down")
    assert "cart" in pages.posts()[1]["text"]

    b.proc.send_signal(signal.SIGKILL)  # no goodbye: the Lease is not released, nothing is flushed
    await b.proc.wait()
    await cluster.node_ready("node-2", True)  # the node recovered while nobody watched

    c = await start(env, "c")  # type: ignore[operator]
    await c.wait_for_line(LEADS, timeout=40)  # after the dead holder's Lease expired
    await pages.wait(
        lambda: any("Resolved" in r.get("text", "") and "node-2" in r.get("text", "") for r in pages.replies()),
        what="the resolve of node-2 after the restart",
    )
    await ledger_holds(env["KUBEWHY_DATABASE_URL"], "deploy/shop/cart")  # nothing left unposted
    c.proc.send_signal(signal.SIGTERM)  # it finishes what it started before it exits
    assert await asyncio.wait_for(c.proc.wait(), 20) == 0
    assert len(pages.posts()) == 2  # across SIGTERM and SIGKILL: each incident paged exactly once


async def test_two_watchers_on_one_postgres_page_once_and_the_other_takes_over_when_the_leader_dies(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, spawn: object, pg_url: str
) -> None:
    start = spawn  # type: ignore[assignment]
    pages = Pages(slack)
    env_a = watch_environ(
        cluster,
        slack,
        tmp_path,
        database_url=pg_url,
        KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
        KUBEWHY_WATCH_IDENTITY="replica-a",
    )
    env_b = {**env_a, "KUBEWHY_WATCH_IDENTITY": "replica-b"}
    a = await start(env_a, "a")  # type: ignore[operator]
    await a.wait_for_line(LEADS, timeout=40)
    b = await start(env_b, "b")  # type: ignore[operator]
    await b.wait_for_line("watching", timeout=40)
    leader, other = a, b
    assert LEADS not in other.text()
    await cluster.node_ready("node-2", False)
    await pages.wait(lambda: len(pages.posts()) == 1, what="one page from the leader")
    await ledger_holds(pg_url, "node/node-2")  # the leader saved it: the other replica has nothing to post
    assert len(pages.posts()) == 1

    leader.proc.send_signal(signal.SIGKILL)
    await leader.proc.wait()
    await other.wait_for_line(LEADS, timeout=30)  # within the Lease duration, far below 30 s
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))
    await pages.wait(lambda: len(pages.posts()) == 2, what="the new leader's page")
    await ledger_holds(pg_url, "node/node-2", "deploy/shop/cart")
    other.proc.send_signal(signal.SIGTERM)  # it finishes what it started before it exits
    assert await asyncio.wait_for(other.proc.wait(), 20) == 0
    assert len(pages.posts()) == 2  # the NotReady node the dead leader paged is not paged again


async def test_stdout_json_lines_without_slack(cluster: Cluster, tmp_path: Path) -> None:
    env = watch_environ(cluster, SlackDouble(), tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"))
    for key in ("SLACK_BOT_TOKEN", "KUBEWHY_SLACK_API_URL", "KUBEWHY_ALERT_CHANNEL"):
        env.pop(key)
    log = tmp_path / "stderr.log"
    with log.open("wb") as err_out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kubewhy",
            "watch",
            "--stdout",
            "-o",
            "json",
            "-v",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=err_out,
        )
    try:
        await Proc(proc, log).wait_for_line("watching")  # the caches are synced: what changes now is news
        await cluster.node_ready("node-2", False)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        page = json.loads(line)
        assert page["event"] == "page" and page["rule"] == "node-not-ready" and page["subject"] == "node/node-2"
        assert page["cause"]["id"] == "node-not-ready" and page["severity"] == "critical"
        await cluster.node_ready("node-2", True)
        resolve = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert resolve["event"] == "resolve" and resolve["state"] == "resolved"
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0 and "Traceback" not in log.read_text()
