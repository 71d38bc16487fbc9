"""The chaos suite's database and replica faults (issue 25), each counted against the incidents the test declares
(the ground truth), never against what was paged: messages at the Slack double (top-level posts, by the incident
ref in their metadata) or ``page`` lines on stdout, and the audit log's firing rows (in the database, once the
next process has imported what was left in the fallback file).

The database is a Postgres cluster of the suite's own (``private_pg``: ``initdb`` on a free port), stopped, crashed
and SIGKILLed here; the shared server at 5432 is never touched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from kubewhy import compose
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.notify import Notifier, Page
from tests.bot.slack_double import SlackDouble
from tests.reliability.pgcluster import PrivatePostgres
from tests.waiting import until, until_answer
from tests.watch.conftest import (
    Cluster,
    open_incidents,
    settled,
    watch_environ,
)
from tests.watch.test_storm import LostAnswers, Sent, storm, watch


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
