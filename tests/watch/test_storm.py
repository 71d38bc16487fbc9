"""A start-up storm: hundreds of incidents open when the watchers start. Each is paged exactly once, on SQLite,
on Postgres and on stdout, whatever the pool or Slack do meanwhile. (Postgres restarted or killed mid-posting is
tests/reliability/test_chaos.py, on a cluster of its own.)"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import build_client
from bot.pager import SlackNotifier
from kubewhy import compose
from kubewhy.audit.ledger import LedgerIncident
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.notify import Notifier, Page, StdoutNotifier
from kubewhy.watch.run import run_watchers
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url
from tests.bot.slack_double import SlackDouble
from tests.waiting import until

from .conftest import DATA, Cluster, Pages, crash_looping, open_incidents, pod, settled, watch_environ

STORM = int(os.environ.get("KUBEWHY_TEST_STORM", "300"))  # the issue asks for at least 300; 400 measured


def storm(n: int, per_node: int = 10) -> list[dict[str, Any]]:
    """``n`` workloads, each with one crash-looping pod: ``n`` incidents (one per workload). One namespace each
    and ``per_node`` pods a node, as in a real cluster: a diagnosis reads the pod's namespace and node, and 400
    pods on one node would make each of the 400 diagnoses cost 400."""
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"storm-{k}", "labels": {"kubernetes.io/hostname": f"storm-{k}"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
        }
        for k in range((n + per_node - 1) // per_node)
    ]
    pods = [
        pod(f"team{i}", f"w{i}-5c8d7f9b6d-aaaaa", f"storm-{i // per_node}", owner=f"w{i}", status=crash_looping(5))
        for i in range(n)
    ]
    return nodes + pods


async def watch(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, notifier: Callable[[Any], Notifier], **env: str
) -> tuple[asyncio.Event, asyncio.Task[Watcher], Watcher]:
    settings = load(watch_environ(cluster, slack, tmp_path, **{"KUBEWHY_WATCH_RULES": str(DATA / "rules.yaml"), **env}))
    stop, ready = asyncio.Event(), asyncio.Event()
    box: list[Watcher] = []

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    task = asyncio.create_task(run_watchers(settings, notifier(settings), stop=stop, on_ready=on_ready))
    done, _ = await asyncio.wait([task, asyncio.create_task(ready.wait())], timeout=60, return_when="FIRST_COMPLETED")
    if task in done:
        task.result()
    return stop, task, box[0]


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """SQLite (a file of the test's own) or the machine's Postgres (127.0.0.1:5432, a database of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    name = await create_pg_database()
    yield pg_url(name)
    await drop_pg_database(name)


class Sent:
    """The pages that went out: top-level messages at the Slack double, or ``page`` lines on stdout."""

    def __init__(self, slack: SlackDouble, output: str):
        self.pages, self.output, self.out = Pages(slack), output, io.StringIO()

    def notifier(self, settings: Any) -> Notifier:
        if self.output == "slack":
            return SlackNotifier(build_client(settings.slack))
        return StdoutNotifier(stream=self.out)

    def refs(self) -> list[str]:
        if self.output == "slack":
            return [p["metadata"]["event_payload"]["ref"] for p in self.pages.posts()]
        return [line.split()[2] for line in self.out.getvalue().splitlines() if line.split()[1] == "page"]


class LostAnswers:
    """Slack takes every ``every``-th message but its answer is lost (a timeout, a reset): the poster cannot know
    whether it went out. The message is in the channel all the same."""

    def __init__(self, inner: Notifier, every: int):
        self.inner, self.every, self.posts, self.lost = inner, every, 0, 0

    async def post(self, page: Page) -> str:
        ts = await self.inner.post(page)
        self.posts += 1
        if self.posts % self.every == 0:
            self.lost += 1
            raise TimeoutError("chat.postMessage: no answer (the message went out)")
        return ts

    async def update(self, page: Page, message_id: str) -> None:
        await self.inner.update(page, message_id)

    async def reply(self, page: Page, message_id: str) -> None:
        await self.inner.reply(page, message_id)

    async def find(self, incident: LedgerIncident) -> str | None:
        return await self.inner.find(incident)


async def alert_rows(cluster: Cluster, slack: SlackDouble, tmp_path: Path, database_url: str) -> set[str]:
    """The audit log's firing pages (one row per incident fingerprint), once the next process on this database
    has imported what this one left in its fallback file: nothing is lost if it is in one or the other."""
    settings = load(watch_environ(cluster, slack, tmp_path, database_url=database_url))
    async with compose.audit_opened(settings) as audit:
        assert audit is not None
        await audit.flush()
        async with audit.engine.connect() as conn:
            rows = await conn.execute(text("SELECT fingerprint FROM alerts WHERE state = 'firing'"))
            return {r[0] for r in rows}


@pytest.mark.parametrize(
    ("database_url", "output"),
    [("sqlite", "slack"), ("postgres", "slack"), ("sqlite", "stdout")],
    indirect=["database_url"],
)
async def test_a_start_up_storm_pages_each_incident_exactly_once_though_answers_get_lost(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, database_url: str, output: str
) -> None:
    await cluster.preload(storm(STORM))
    sent = Sent(slack, output)
    box: list[LostAnswers] = []

    def notifier(settings: Any) -> Notifier:
        box.append(LostAnswers(sent.notifier(settings), every=20))
        return box[0]

    stop, task, watcher = await watch(cluster, slack, tmp_path, notifier, KUBEWHY_DATABASE_URL=database_url)
    try:
        await until(lambda: len(sent.refs()) >= STORM, timeout=240, what=f"{STORM} pages")
        await settled(watcher, cluster, timeout=120)
        refs = sent.refs()
        assert box[0].lost >= STORM // 20  # the fault did happen
        assert len(refs) == STORM and len(set(refs)) == STORM, f"{len(refs)} messages for {STORM} incidents"
        assert watcher.stats["adopted"] == box[0].lost  # each lost answer: found by its ref, not posted again
        held = await open_incidents(database_url)
        assert len(held) == STORM and all(held.values())  # every incident holds its one message
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert len(await alert_rows(cluster, slack, tmp_path, database_url)) == STORM  # and the audit log has each


async def test_slack_answering_429_and_5xx_delays_pages_but_never_doubles_or_drops_them(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path
) -> None:
    incidents = 30
    await cluster.preload(storm(incidents))
    slack.rate_limits["chat.postMessage"] = [1, 1]  # 429 with Retry-After, twice
    slack.failures["chat.postMessage"] = [(503, "service_unavailable"), (500, "internal_error")] * 3
    sent = Sent(slack, "slack")
    stop, task, watcher = await watch(cluster, slack, tmp_path, sent.notifier)
    try:
        await until(lambda: len(sent.refs()) >= incidents, timeout=120, what=f"{incidents} pages")
        await settled(watcher, cluster, timeout=60)
        refs = sent.refs()
        assert not slack.rate_limits["chat.postMessage"] and not slack.failures["chat.postMessage"]  # all served
        assert len(refs) == incidents and len(set(refs)) == incidents, f"{len(refs)} messages for {incidents}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
