"""Without Prometheus, the watchers page CPU throttling, memory near the limit and a filling volume from the
kubelet sampler (the simulator's kubelets through the node proxy): each pages once, with its diagnosis, and
resolves when the figures come back (the rules' `for` 2 s, `every` 1 s, the sampler's interval 1 s)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
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
from tests.prometheus.promcases import FILLING, MEMORY, THROTTLED

from .conftest import DATA, Cluster, Pages, text_of, watch_environ

CASES = [
    (
        THROTTLED,
        "deploy/q10/server",
        "CPU-throttled",
        {"usage": {"pod": "q10/server-7b6f4c9d8c-jhk7g", "container": "server", "set": {"throttledRatio": 0.0}}},
    ),
    (
        MEMORY,
        "deploy/mem/api",
        "at its memory limit",
        {
            "usage": {
                "pod": "mem/api-5c8d7f9b6d-k2m4p",
                "container": "api",
                "set": {"memory": "100Mi", "memoryGrowthPerMinute": 0},
            }
        },
    ),
    (
        FILLING,
        "pvc/ingest/data-collector-0",
        "filling up",
        {"usage": {"volume": "ingest/data-collector-0", "set": {"used": "1Gi", "growthPerMinute": 0}}},
    ),
]


@pytest.mark.parametrize("scenario,subject,says,fix", CASES, ids=["cpu-throttling", "memory-near-limit", "pvc-filling"])
async def test_a_metric_rule_pages_once_from_the_kubelets_and_resolves(
    start_sim: Callable[..., RunningSim],
    slack: SlackDouble,
    tmp_path: Path,
    scenario: str,
    subject: str,
    says: str,
    fix: dict[str, Any],
) -> None:
    sim = start_sim(scenario, timeline_mode="manual", watch_bookmark_interval=0.5)
    pages = Pages(slack)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        cluster = Cluster(sim, http)
        env = watch_environ(
            cluster,
            slack,
            tmp_path,
            KUBEWHY_WATCH_RULES=str(DATA / "sampler-rules.yaml"),
            KUBEWHY_SAMPLER_INTERVAL="1s",
        )
        settings = load(env)
        assert not settings.prometheus.enabled and settings.watch.sampler is None  # on: no Prometheus
        stop, ready = asyncio.Event(), asyncio.Event()
        box: list[Watcher] = []

        def on_ready(w: Watcher) -> None:
            box.append(w)
            ready.set()

        task = asyncio.create_task(
            run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
        )
        try:
            await pages.wait(lambda: any(subject in text_of(p) for p in pages.posts()), timeout=40, what="the page")
            page = next(p for p in pages.posts() if subject in text_of(p))
            assert says in text_of(page) and "kubelets read every 1s" in text_of(page), text_of(page)
            # the diagnosis is the first reply in the page's thread
            await pages.wait(lambda: bool(pages.replies()), what="the diagnosis in the thread")
            assert text_of(pages.replies()[0]).startswith("kubewhy:"), pages.summary()
            (await http.post("/kubesim/v1/apply", json={"steps": [fix]})).raise_for_status()
            await pages.wait(
                lambda: any("Resolved" in u.get("text", "") and subject in u.get("text", "") for u in pages.updates()),
                timeout=40,
                what="the resolve",
            )
            assert [p for p in pages.posts() if subject in text_of(p)] == [page]  # paged once
            assert len(pages.posts()) == 1, pages.summary()  # nothing else on this cluster
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def test_a_diagnosis_in_the_watchers_process_takes_the_samplers_readings(
    start_sim: Callable[..., RunningSim], slack: SlackDouble, tmp_path: Path
) -> None:
    """Shared evidence (k8sbot's `/k8s why` runs in this process): the throttling rate of a diagnosis is the one
    between the sampler's last two readings, stored in the audit database, with no read of the kubelet."""
    from kubewhy.models.target import Target

    sim = start_sim(THROTTLED, timeline_mode="manual", watch_bookmark_interval=0.5)
    pages = Pages(slack)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        env = watch_environ(
            Cluster(sim, http),
            slack,
            tmp_path,
            KUBEWHY_WATCH_RULES=str(DATA / "sampler-rules.yaml"),
            KUBEWHY_SAMPLER_INTERVAL="10s",  # two readings at least 10 s apart (cAdvisor's housekeeping)
        )
        settings = load(env)
        stop, ready = asyncio.Event(), asyncio.Event()
        box: list[Watcher] = []

        def on_ready(w: Watcher) -> None:
            box.append(w)
            ready.set()

        task = asyncio.create_task(
            run_watchers(settings, SlackNotifier(build_client(settings.slack)), stop=stop, on_ready=on_ready)
        )
        try:
            await pages.wait(lambda: bool(pages.posts()), timeout=60, what="the throttling page")
            evidence = ""
            for _ in range(30):  # the page can go out before its readings are stored: ask until they are
                report = await box[0].app.diagnose(Target("Pod", "server-7b6f4c9d8c-jhk7g", "q10"), source="slack")
                found = next(f for f in report.findings if f.id == "cpu-throttling")
                evidence = " ".join(found.evidence)
                if "sampler's last two readings" in evidence:
                    break
                await asyncio.sleep(1)
            apart = re.search(r"between the kubelet sampler's last two readings, (\d+)s apart", evidence)
            assert apart is not None and int(apart.group(1)) >= 10, evidence  # 10 s or more under a loaded CI
            assert "62%" in evidence, evidence
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
