"""Lists shared between the diagnoses of a long-lived front-end (kubewhy/adapters/shared_lists.py), on the
simulator over HTTP: a watcher's start-up storm asks the API server for the nodes once, not once per incident;
an answer older than its time to live, a failed LIST and a ``get`` always go to the server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.shared_lists import SharedLists
from kubewhy.app import Kubewhy
from kubewhy.errors import KubewhyError
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, load

PODS = ["deploy/q1/app", "deploy/q6/app", "deploy/q8/writer-a"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_list_is_asked_once_while_fresh_and_again_once_stale(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    clock = Clock()

    async def run() -> list[int]:
        shared = SharedLists(LiveKube(build_api_client(str(sim.kubeconfig))), ttl=2.0, clock=clock)
        counts = []
        sim.reset_stats()
        first = await asyncio.gather(*(shared.list("Node") for _ in range(8)))  # eight diagnoses at once
        assert all(nodes is first[0] for nodes in first) and first[0]
        counts.append(sim.stats().get("list nodes", 0))
        clock.now += 1.5
        await shared.list("Node")
        await shared.get("Node", None, first[0][0]["metadata"]["name"])
        await shared.get("Node", None, first[0][0]["metadata"]["name"])
        counts.append(sim.stats().get("list nodes", 0))
        counts.append(sim.stats().get("get nodes", 0))
        clock.now += 2.5  # older than its time to live: asked again
        await shared.list("Node")
        await shared.list("Pod", "q1")  # another question is another request
        counts.append(sim.stats().get("list nodes", 0))
        counts.append(sim.stats().get("list pods", 0))
        shared.forget()  # a fix was applied: nothing read before it is shared
        await shared.list("Node")
        counts.append(sim.stats().get("list nodes", 0))
        return counts

    assert asyncio.run(run()) == [1, 1, 2, 2, 1, 3]


def test_a_failed_list_is_not_shared_with_later_callers(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop", timeline_mode="manual")

    async def run() -> int:
        shared = SharedLists(LiveKube(build_api_client(str(sim.kubeconfig))), ttl=60.0)
        sim.reset_stats()
        for _ in range(2):
            try:
                await shared.list("Pod", "q1", label_selector="app in (")  # the server refuses the selector
            except KubewhyError:
                pass
        return sim.stats().get("list pods", 0)

    assert asyncio.run(run()) == 2


def test_a_watchers_diagnoses_share_the_nodes_and_a_clis_do_not(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    """Three workloads diagnosed at once, as the watchers' start-up storm does: one LIST of the
    nodes behind the watcher's application object, one per diagnosis behind the CLI's, and the same findings."""
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}

    async def storm(source: str) -> tuple[int, list[list[str]]]:
        async with Kubewhy(load(env, Flags()), source=source, audit=False) as app:
            sim.reset_stats()
            reports = await asyncio.gather(*(app.diagnose(parse_target(p)) for p in PODS))
            return sim.stats().get("list nodes", 0), [[f.id for f in r.findings] for r in reports]

    watcher, cli = asyncio.run(storm("watcher")), asyncio.run(storm("cli"))
    assert watcher[1] == cli[1] and all(cli[1])
    assert cli[0] >= len(PODS) and watcher[0] == 1, (watcher[0], cli[0])
