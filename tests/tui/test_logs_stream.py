"""``l``: logs streamed (one ``follow=true`` request per container, nothing read again), a workload's pods merged,
a container picker, previous, since, wrap and search — against the simulator, whose timeline appends log lines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.widgets import Input, Log, OptionList, Static

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import listed, select
from tui.app import K8sTui
from tui.screens.logs import ALL, ContainerPicker, LogsScreen, SincePrompt

COREDNS = ("coredns-5dd5756b68-lwz6l", "coredns-5dd5756b68-v65dp")  # the two pods of kube-system/coredns
PROMETHEUS = "prometheus-kube-prometheus-stack-prometheus-0"  # two containers: prometheus, config-reloader


def write_log(sim: RunningSim, ns: str, pod: str, container: str, text: str) -> None:
    sim.control("apply", {"steps": [{"log": {"namespace": ns, "pod": pod, "container": container, "text": text}}]})


def log_requests(sim: RunningSim) -> int:
    return sim.stats().get("get pods/log", 0)


async def opened(pilot: Any, app: K8sTui, kind: str, key: tuple[str, str], streams: int) -> LogsScreen:
    screen = await listed(pilot, app, kind)
    await select(pilot, screen.table, key)
    await pilot.press("l")
    logs = app.screen
    assert isinstance(logs, LogsScreen)
    await until(pilot, lambda: logs.streams == streams, f"{streams} log stream(s) open")
    return logs


async def test_a_workloads_pods_are_streamed_merged_and_never_read_again(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="deploy", namespace="kube-system")  # healthy: home reads no logs behind us
    async with app.run_test(size=SIZE) as pilot:
        logs = await opened(pilot, app, "Deployment", ("kube-system", "coredns"), 2)
        assert [p for p, _ in logs.pods] == list(COREDNS) and logs.container == ALL
        before = log_requests(workshop)
        for i in range(3):  # lines written after the streams opened arrive on them
            for pod in COREDNS:
                await asyncio.to_thread(write_log, workshop, "kube-system", pod, "coredns", f"query {i} from {pod}")
        wanted = [f"{pod} coredns query 2 from {pod}" for pod in COREDNS]
        await until(pilot, lambda: all(line in logs.ring for line in wanted), "both pods' lines")
        assert log_requests(workshop) == before  # followed on the open requests: nothing was read again
        state = str(logs.query_one("#log-state", Static).render())
        assert "2 pods" in state and "following" in state
        await pilot.press("w")  # wrap: a long line takes several rows of the widget
        long = " ".join(f"field{i}=value" for i in range(40))
        await asyncio.to_thread(write_log, workshop, "kube-system", COREDNS[0], "coredns", long)
        await until(pilot, lambda: any(line.endswith(long) for line in logs.ring), "the long line")
        log = logs.query_one("#log", Log)
        assert log.line_count > len(logs.ring) and "wrapped" in str(logs.query_one("#log-state", Static).render())
        await pilot.press("slash")  # search: only the matching lines are shown
        await pilot.press(*"query 1", "enter")
        assert log.line_count == 2 and all("query 1" in line for line in log.lines)


async def test_container_picker_previous_and_since(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        logs = await opened(pilot, app, "Pod", ("monitoring", PROMETHEUS), 1)
        assert logs.container == "prometheus" and logs.containers() == ["config-reloader", "prometheus"]
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainerPicker), "the container picker")
        app.screen.query_one(OptionList).highlighted = 0  # all containers
        await pilot.press("enter")
        await until(pilot, lambda: logs.streams == 2, "both containers streamed")
        await asyncio.to_thread(write_log, workshop, "monitoring", PROMETHEUS, "config-reloader", "reloaded")
        await until(pilot, lambda: f"{PROMETHEUS} config-reloader reloaded" in logs.ring, "the prefixed line")
        await pilot.press("s")  # since: a new request for what was written since then
        await until(pilot, lambda: isinstance(app.screen, SincePrompt), "the since prompt")
        app.screen.query_one(Input).value = "5m"
        requests = log_requests(workshop)
        await pilot.press("enter")
        await until(pilot, lambda: logs.since == 300 and log_requests(workshop) == requests + 2, "reopened since 5m")
        assert "since 300s ago" in str(logs.query_one("#log-state", Static).render())
        await pilot.press("escape")  # back to the pods
        crashing = await opened(pilot, app, "Pod", ("q1", "app-7d4b9c6f5-x2x7k"), 1)
        await until(pilot, lambda: crashing.streams == 0 or bool(crashing.ring), "the current log")
        await pilot.press("p")  # the previous container's log: read once, not followed
        assert crashing.previous and "previous logs" in crashing.title_text
        await until(pilot, lambda: bool(crashing.ring) and crashing.streams == 0, "the previous log, whole")


async def test_a_container_not_started_yet_is_asked_for_again(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    pod = "writer-a-6f9c8d7b5-bq7ns"  # ContainerCreating: the server refuses its log for now
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        logs = await opened(pilot, app, "Pod", ("q8", pod), 1)
        await until(pilot, lambda: any("waiting to start" in p for p in logs.problems), "the refusal, shown")
        await asyncio.to_thread(write_log, workshop, "q8", pod, "writer", "started at last")
        await until(pilot, lambda: "started at last" in logs.ring, "the log once there is one")
        assert not logs.problems and logs.ring.count("started at last") == 1
