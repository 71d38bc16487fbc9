"""The chaos suite's database and replica faults (issue 25), each counted against the incidents the test declares
(the ground truth), never against what was paged: messages at the Slack double (top-level posts, by the incident
ref in their metadata) or ``page`` lines on stdout, and the audit log's firing rows (in the database, once the
next process has imported what was left in the fallback file).

The database is a Postgres cluster of the suite's own (``private_pg``: ``initdb`` on a free port), stopped, crashed
and SIGKILLed here; the shared server at 5432 is never touched.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy import text

from kubewhy import compose
from kubewhy.audit import db, migrate
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.notify import Notifier, Page
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble
from tests.reliability.pgcluster import PrivatePostgres
from tests.waiting import until, until_answer
from tests.watch.conftest import (
    DATA,
    Cluster,
    Pages,
    crash_looping,
    open_incidents,
    settled,
    watch_environ,
)
from tests.watch.test_incident_key import Clock
from tests.watch.test_process import LEADS, Proc
from tests.watch.test_storm import LostAnswers, Sent, storm, watch
from tests.watch.test_watch_integrity import Restartable, churn
from tests.watch.test_watch_integrity import restartable as restartable


async def firing_rows(cluster: Cluster, slack: SlackDouble, tmp_path: Path, url: str) -> tuple[int, int]:
    """(firing rows, distinct incidents among them) in the audit log, once the next process on this database has
    imported what the others left in the fallback file: a record is lost only if it is in neither."""
    settings = load(watch_environ(cluster, slack, tmp_path, database_url=url))
    async with compose.audit_opened(settings) as audit:
        assert audit is not None
        await audit.flush()
        async with audit.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT fingerprint FROM alerts WHERE state = 'firing'"))).all()
    return len(rows), len({r[0] for r in rows})


class DatabaseDownAfterPost(LostAnswers):
    """After every ``every``-th message is posted, and before its ``ts`` can be saved, the private Postgres goes
    down (``stop``: a clean restart's shutdown; ``kill``: SIGKILL of the postmaster, its backends gone with it), and
    comes back once the watcher has failed on it."""

    def __init__(self, inner: Notifier, pg: PrivatePostgres, mode: str, every: int):
        super().__init__(inner, every)
        self.pg, self.mode, self.outages = pg, mode, 0
        self.watcher: Watcher | None = None
        self._restoring: asyncio.Task[None] | None = None

    async def post(self, page: Page) -> str:
        ts = await self.inner.post(page)
        self.posts += 1
        if self.posts % self.every == 0 and self._restoring is None:
            self.outages += 1
            await asyncio.to_thread(self.pg.kill if self.mode == "kill" else self.pg.stop)
            self._restoring = asyncio.create_task(self._restore())
        return ts

    async def _restore(self) -> None:
        assert self.watcher is not None
        errors = self.watcher.stats["errors"]
        await until(lambda: self.watcher is not None and self.watcher.stats["errors"] > errors, what="a failed save")
        await asyncio.to_thread(self.pg.start)
        self._restoring = None


@pytest.mark.parametrize(("mode", "output"), [("stop", "slack"), ("kill", "slack"), ("kill", "stdout")])
async def test_postgres_restarted_or_killed_mid_posting_pages_each_incident_once_and_loses_no_record(
    cluster: Cluster,
    slack: SlackDouble,
    tmp_path: Path,
    private_pg: tuple[PrivatePostgres, str],
    mode: str,
    output: str,
) -> None:
    pg, url = private_pg
    incidents = 40  # the ground truth: one per crash-looping workload
    await cluster.preload(storm(incidents))
    sent = Sent(slack, output)
    box: list[DatabaseDownAfterPost] = []

    def notifier(settings: Any) -> Notifier:
        box.append(DatabaseDownAfterPost(sent.notifier(settings), pg, mode, every=9))
        return box[0]

    stop, task, watcher = await watch(cluster, slack, tmp_path, notifier, KUBEWHY_DATABASE_URL=url)
    box[0].watcher = watcher
    try:
        await until(lambda: len(sent.refs()) >= incidents, timeout=240, what=f"{incidents} pages", detail=sent.refs)
        await until_answer(
            lambda: open_incidents(url),
            lambda held: len(held) == incidents and all(held.values()),
            retry_on=(Exception,),
            timeout=120,
            what="every incident saved with its message",
        )
        await settled(watcher, cluster, timeout=120)
        refs = sent.refs()
        assert box[0].outages >= 3 and pg.running()  # Postgres did go down, 3 times or more, and came back
        assert len(refs) == incidents and len(set(refs)) == incidents, f"{len(refs)} messages for {incidents}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    rows, distinct = await firing_rows(cluster, slack, tmp_path, url)
    assert (rows, distinct) == (incidents, incidents)  # 0 lost, 0 doubled in the audit log


@dataclass
class HoldingSlack(SlackDouble):
    """Slack that takes every message but, once ``answer_first`` pages were answered, holds the answers of the
    next ones: they are in the channel, and the replica that posted them never learns their ``ts`` (it is
    SIGKILLed waiting). ``release()`` answers them (to a dead connection) and every later post at once."""

    answer_first: int | None = None
    held: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.answer_first = None
        self._release.set()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "chat.postMessage" or self.answer_first is None:
            return await super()._api(request)
        params = await self._params(request)  # aiohttp keeps the body: super()._api reads it again
        if params.get("thread_ts") or len(Pages(self).posts()) < self.answer_first:
            return await super()._api(request)
        ts = self._next_ts()
        answer = {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text")}}
        self._record("chat.postMessage", params, answer)  # in the channel, found by conversations.history
        self.held += 1
        await self._release.wait()
        return web.json_response(answer)


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[Callable[[dict[str, str], str], Awaitable[Proc]]]:
    """``kubewhy watch`` processes, killed at the end if still running."""
    procs: list[Proc] = []

    async def start(env: dict[str, str], name: str) -> Proc:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kubewhy", "watch", "-v", env=env, stdout=out, stderr=out
            )
        procs.append(Proc(proc, log))
        return procs[-1]

    yield start
    for p in procs:
        if p.proc.returncode is None:
            p.proc.kill()
            await p.proc.wait()


@asynccontextmanager
async def audit_stalled(pg: PrivatePostgres, url: str, stalled: bool) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """With ``stalled``, the audit log's inserts wait (a lock on its alerts table, as under a slow disk) while the
    incident ledger's writes go through; the function yielded lets them go."""
    if not stalled:

        async def nothing() -> None:
            return None

        yield nothing
        return
    engine = db.make_engine(url)
    await migrate.upgrade(engine)  # the tables, at head, before the replicas start
    await engine.dispose()
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/{url.rsplit('/', 1)[1]}")
    lock = conn.transaction()
    await lock.start()
    await conn.execute("LOCK TABLE alerts IN SHARE ROW EXCLUSIVE MODE")  # reads go on, inserts wait

    async def release() -> None:
        if not conn.is_closed():
            await lock.commit()
            await conn.close()

    try:
        yield release
    finally:
        await release()


@pytest.mark.parametrize(
    ("successor", "audit"), [("replica", "flowing"), ("replica", "stalled"), ("restart", "stalled")]
)
async def test_a_leader_sigkilled_mid_post_and_its_successor_page_each_incident_once_and_lose_no_record(
    cluster: Cluster,
    tmp_path: Path,
    private_pg: tuple[PrivatePostgres, str],
    replicas: Callable[[dict[str, str], str], Awaitable[Proc]],
    successor: str,
    audit: str,
) -> None:
    """``replica``: two replicas, the leader SIGKILLed, the other takes over (a leader change). ``restart``: one
    watcher SIGKILLed and started again (a container restart: the same identity). ``stalled``: the audit log's
    inserts wait while the leader pages, so it dies with its page rows unwritten."""
    pg, url = private_pg
    storm_size, answered = 30, 12
    truth = {f"deploy/team{i}/w{i}" for i in range(storm_size)} | {"node/node-2", "deploy/shop/cart"}
    slack = HoldingSlack(answer_first=answered)
    await slack.start()
    pages = Pages(slack)
    async with audit_stalled(pg, url, audit == "stalled") as let_audit_go:
        try:
            await cluster.preload(storm(storm_size))  # open when the replicas start
            env_a = watch_environ(
                cluster,
                slack,
                tmp_path,
                database_url=url,
                KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
                KUBEWHY_WATCH_IDENTITY="replica-a",
            )
            a = await replicas(env_a, "a")
            await a.wait_for_line(LEADS, timeout=60)
            if successor == "replica":
                b = await replicas({**env_a, "KUBEWHY_WATCH_IDENTITY": "replica-b"}, "b")
                await b.wait_for_line("watching", timeout=60)
                assert LEADS not in b.text()
            # the leader is mid-storm: 12 pages answered, 8 more in the channel whose answers it waits for
            await until(
                lambda: slack.held >= 8,
                timeout=240,  # 30 diagnoses first, each bounded by its own deadline: a loaded machine is slow
                what="8 posts in flight",
                detail=lambda: f"{pages.summary()}\n{a.text()[-3000:]}",
            )

            a.proc.send_signal(signal.SIGKILL)  # no goodbye: the Lease is not released, nothing is flushed
            await a.proc.wait()
            slack.release()
            await let_audit_go()  # what the dead leader had not written is gone with it
            if successor == "restart":
                b = await replicas(env_a, "a-again")
            await b.wait_for_line(LEADS, timeout=60)
            await cluster.node_ready("node-2", False)  # and the new leader pages what happens after the change
            await cluster.create_pod("shop", "cart-5c8d7f9b6d-aaaaa", "node-1", owner="cart", status=crash_looping(4))

            await until_answer(
                lambda: open_incidents(url),
                lambda held: set(held) == truth and all(held.values()),
                timeout=180,
                what=f"the ledger to hold the {len(truth)} incidents posted",
            )
            b.proc.send_signal(signal.SIGTERM)  # it finishes what it started before it exits
            assert await asyncio.wait_for(b.proc.wait(), 30) == 0
            assert "Traceback" not in a.text() + b.text()
            refs = [p["metadata"]["event_payload"]["ref"] for p in pages.posts()]
            assert len(set(refs)) == len(truth), f"{len(set(refs))} incidents paged of {len(truth)}"  # 0 missed
            assert len(refs) == len(truth), f"{len(refs)} messages for {len(truth)} incidents"  # 0 duplicates
            assert slack.to("conversations.history")  # the new leader looked for the held posts before posting
            rows, distinct = await firing_rows(cluster, slack, tmp_path, url)
            assert (rows, distinct) == (len(truth), len(truth)), f"{rows} firing rows for {len(truth)} pages"  # 0 lost
        finally:
            slack.release()
            await slack.stop()


async def test_slack_answering_429_and_5xx_mid_storm_pages_each_incident_once_and_loses_no_record(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path
) -> None:
    incidents = 30
    await cluster.preload(storm(incidents))
    slack.rate_limit("chat.postMessage", times=2)  # 429 with Retry-After: 1
    slack.failures["chat.postMessage"] = [(503, "service_unavailable"), (500, "internal_error")] * 3
    slack.fail("chat.postMessage", "fatal_error", status=502, times=1)
    sent = Sent(slack, "slack")
    stop, task, watcher = await watch(cluster, slack, tmp_path, sent.notifier)
    try:
        await until(lambda: len(sent.refs()) >= incidents, timeout=120, what=f"{incidents} pages")
        await settled(watcher, cluster, timeout=60)
        answered = [c.method for c in slack.calls if c.method.startswith("chat.postMessage:")]
        assert len(answered) == 2 + 6 + 1 and not any(slack.failures.values())  # every fault was served
        refs = sent.refs()
        assert len(refs) == incidents and len(set(refs)) == incidents, f"{len(refs)} messages for {incidents}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    assert await firing_rows(cluster, slack, tmp_path, url) == (incidents, incidents)


async def test_an_api_server_restarted_with_its_state_reset_pages_what_is_new_and_loses_no_record(
    restartable: Restartable, slack: SlackDouble, tmp_path: Path
) -> None:
    """The ground truth: node-2 NotReady (paged, then resolved when the restored server says it is Ready), then an
    OOM-killed workload on node-2 after the restore (its own page, not absorbed into the old node incident)."""
    old = await restartable.start()
    await churn(old, 30)  # the old server's resourceVersion runs ahead of the restored one's
    clock = Clock()
    settings = load(watch_environ(old, slack, tmp_path, KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml")))
    stop, ready = asyncio.Event(), asyncio.Event()
    box: list[Watcher] = []

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    sent = Sent(slack, "slack")
    task = asyncio.create_task(
        run_watchers(settings, sent.notifier(settings), stop=stop, on_ready=on_ready, clock=clock)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        watcher = box[0]
        await old.node_ready("node-2", False)
        clock.advance(5)  # past its grace
        await until(lambda: len(sent.refs()) == 1, what="the NotReady page", detail=sent.pages.summary)
        new = await restartable.start()  # restored: node-2 is Ready there, at an older resourceVersion
        await until(lambda: watcher.nodes.stats.relists >= 1, what="the nodes listed again")
        clock.advance(5)  # past resolve_after
        await until(lambda: watcher.stats["resolves"] == 1, what="node-2 resolved", detail=sent.pages.summary)
        await new.create_pod("q1", "app-5c8d7f9b6d-aaaaa", "node-2", owner="app", status=crash_looping(4, "OOMKilled"))
        await until(lambda: len(sent.refs()) == 2, what="the OOM kill's own page", detail=sent.pages.summary)
        await settled(watcher, new)
        refs = sent.refs()
        assert len(refs) == 2 and len(set(refs)) == 2 and watcher.stats["absorbed"] == 0, sent.pages.summary()
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    async with compose.audit_opened(settings) as audit:
        assert audit is not None
        await audit.flush()
        async with audit.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT fingerprint, state FROM alerts ORDER BY id"))).all()
    assert sorted(state for _, state in rows) == ["firing", "resolved"]  # the node's row resolved, the OOM's firing
    assert len({fp for fp, _ in rows}) == 2
