"""``F`` on a pod forwards a local port to it in-process: the core's connection opens a WebSocket to the pod's
``portforward`` subresource (``v4.channel.k8s.io``) for each local connection, and the simulator's HTTP stub behind
the pod's port answers."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable

import pytest
from textual.widgets import Input

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import listed, select
from tui.app import K8sTui
from tui.screens.portforward import PortPrompt, parse_ports

POD = ("q4", "web-84c6d6f7b9-4bxv5")  # declares containerPort 8080


@pytest.mark.parametrize(
    "text,ports",
    [("8080", (8080, 8080)), ("9000:80", (9000, 80)), (":8080", (0, 8080)), ("x", None), ("1:0", None), ("", None)],
)
def test_parse_ports(text: str, ports: tuple[int, int] | None) -> None:
    assert parse_ports(text) == ports


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


async def test_port_forward_reaches_the_pods_port_and_stops(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        await select(pilot, pods.table, POD)
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, PortPrompt), "the ports prompt")
        prompt = app.screen
        assert isinstance(prompt, PortPrompt) and prompt.ports == [8080]  # the pod's declared container ports
        prompt.query_one(Input).value = ":8080"  # any free local port
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.session.forwards), "the forward listens")
        target, forward = app.session.forwards[0]
        assert target.name == POD[1] and forward.local_port > 0
        for path in ("/healthz", "/again"):  # two connections, two WebSockets
            body = await asyncio.to_thread(fetch, f"http://127.0.0.1:{forward.local_port}{path}")
            assert body == f"kubesim stub: pod q4/{POD[1]} port 8080 GET {path}\n"
        assert forward.connections == 2 and not forward.errors
        entries = await app.session.history()
        assert any(e.summary == "port forward" and e.actor == "tester" for e in entries), entries
        await pilot.press(":")
        await pilot.press(*"pf stop", "enter")
        await until(pilot, lambda: not app.session.forwards, "the forwards stop")
        with pytest.raises(OSError):
            await asyncio.to_thread(fetch, f"http://127.0.0.1:{forward.local_port}/gone")
