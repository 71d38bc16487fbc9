"""The simulator's bundled scenario ``histories`` (kubesim/scenarios/histories.yaml), played step by step while
the watchers run with their change log, the real Bolt app's Slack notifier and the Slack double: a bad rollout, a
config change, a lowered memory limit and a node cordon are each recorded; the OOM kills that follow the lowered
limit are paged with the top changes before them, the limit first and the cordon (closer to the onset) listed but
not blamed; and the pod of the bad rollout is diagnosed with the image change first and the config change listed
but not blamed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import build_client
from bot.pager import SlackNotifier
from kubesim.runner import RunningSim
from kubewhy.models.target import parse_target
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import CHANNEL, running_bot, text_of
from tests.waiting import until
from tests.watch.conftest import DATA as WATCH_DATA
from tests.watch.conftest import Cluster, Pages, caught_up, watch_environ

HISTORIES = "histories"  # bundled: kubesim/scenarios/histories.yaml
# (seconds to advance the simulator's timeline, the object whose change the change log then records)
STEPS = (
    (10, "deploy/shop/web"),  # the bad rollout (its ReplicaSet and pod are not recorded: not change-log kinds)
    (10, "configmap/shop/web-config"),  # the config change
    (10, "deploy/shop/worker"),  # the lowered limit
    (10, "node/node-2"),  # the node cordon
)


@pytest.fixture
async def histories(start_sim: Callable[..., RunningSim]) -> AsyncIterator[Cluster]:
    sim = start_sim(HISTORIES, timeline_mode="manual", watch_bookmark_interval=0.5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        yield Cluster(sim, http)


async def _advance(cluster: Cluster, seconds: float) -> int:
    r = await cluster.http.post("/kubesim/v1/timeline/advance", json={"seconds": seconds})
    r.raise_for_status()
    return int(r.json()["applied"])


def _changes_section(page: dict[str, Any]) -> list[str]:
    (section,) = [b for b in page["blocks"] if "What changed before it started" in text_of([b])]
    return [line.removeprefix("• ") for line in text_of([section]).splitlines()[1:]]


async def test_histories_are_recorded_paged_and_diagnosed_with_the_cause_first(
    histories: Cluster, tmp_path: Path
) -> None:
    slack = SlackDouble()
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    bot_env = {"KUBEWHY_DATABASE_URL": db, "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl")}
    async with running_bot(histories.sim, bot_env, slack) as bot:
        env = watch_environ(
            histories,
            slack,
            tmp_path,
            database_url=db,
            KUBEWHY_ALERT_CHANNEL=CHANNEL,
            KUBEWHY_WATCH_RULES=str(WATCH_DATA / "rules.yaml"),
            KUBEWHY_WATCH_GRACE="0s",
            KUBEWHY_WATCH_LEADER_ELECTION="0",
            KUBEWHY_CHANGE_KEY="test-change-key",
        )  # the change log is on by default
        settings = load(env)
        stop, ready, box = asyncio.Event(), asyncio.Event(), []

        def on_ready(w: Watcher) -> None:
            box.append(w)
            ready.set()

        notifier = SlackNotifier(build_client(settings.slack), bot.deps)
        task = asyncio.create_task(run_watchers(settings, notifier, stop=stop, on_ready=on_ready, app=bot.deps.app))
        try:
            await asyncio.wait_for(ready.wait(), 30)
            recorder = box[0].changes
            assert recorder is not None
            await until(lambda: all(i.synced.is_set() for i in recorder.informers), what="the change informers")

            seen: list[str] = []
            for seconds, subject in STEPS:  # one step at a time: the log's times keep the steps' order
                assert await _advance(histories, seconds) >= 1
                await caught_up(recorder.informers, histories)
                await until(lambda: recorder.stats["queued"] > len(seen), what=f"the change of {subject}")
                seen.append(subject)
            await until(lambda: recorder.stats["written"] >= len(STEPS), what="the changes written")

            pages = Pages(slack, CHANNEL)
            assert await _advance(histories, 10) == 1  # worker is OOM-killed
            await pages.wait(lambda: any("worker" in text_of(p["blocks"]) for p in pages.posts()), what="the page")
            (page,) = [p for p in pages.posts() if "worker" in text_of(p["blocks"])]
            lines = _changes_section(page)
            assert lines[0].startswith("likely cause, the memory limit was lowered, then OOMKilled: "), lines
            assert "deploy/shop/worker" in lines[0] and "worker: memory limit 1Gi → 256Mi" in lines[0], lines
            cordon = [line for line in lines if "node/node-2" in line]
            assert cordon and not cordon[0].startswith("likely cause"), lines  # closer to the onset, not blamed

            report = await bot.deps.app.diagnose(parse_target("pod/shop/web-bbb222-p2"))
            (changed,) = [f for f in report.findings if f.id == "what-changed"]
            first = changed.evidence[0]
            assert first.startswith("likely cause, the image changed, then ") and "web:1.5.0x" in first, changed
            config = [e for e in changed.evidence if "configmap/shop/web-config" in e]
            assert config and "data keys removed: mode" in config[0] and not config[0].startswith("likely"), changed
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
