"""The two ways in and out through credentials: Alertmanager's ``http_config.basic_auth`` reaches the receiver
(with ``KUBEWHY_ALERTMANAGER_USER``/``_PASSWORD``), and an Alertmanager behind an auth proxy is read with the
configured headers (``KUBEWHY_ALERTMANAGER_HEADERS``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kubewhy.adapters.alertmanager import AlertmanagerError
from kubewhy.settings import SettingsError, load
from kubewhy.silences import both_kinds
from tests.watch.conftest import Cluster, text_of

from .conftest import TOKEN, RunningAlertmanager, alert, ready, route_config
from .test_receiver import stack


async def test_basic_auth_from_alertmanager_reaches_the_receiver(
    cluster: Cluster, tmp_path: Path, alertmanager_factory: Any
) -> None:
    env = {"KUBEWHY_ALERTMANAGER_TOKEN": "", "KUBEWHY_ALERTMANAGER_USER": "am", "KUBEWHY_ALERTMANAGER_PASSWORD": TOKEN}
    async with stack(cluster, tmp_path, watchers=False, **env) as s:
        am = await alertmanager_factory(s.receiver_url, auth="basic")
        await am.push(alert("KubeNodeNotReady", {"node": "node-2", "severity": "critical"}, summary="node-2 is gone"))
        await s.pages.wait(lambda: len(s.pages.posts()) == 1, what="the page through basic auth")
        assert "node/node-2" in text_of(s.pages.posts()[0])


@pytest.fixture
async def proxy_to() -> AsyncIterator[Any]:
    """An auth proxy in front of Alertmanager: 403 without ``X-Proxy-Auth: let-me-in``."""
    runners: list[web.AppRunner] = []

    async def make(upstream: str) -> str:
        async def forward(request: web.Request) -> web.Response:
            if request.headers.get("X-Proxy-Auth") != "let-me-in":
                return web.Response(status=403, text="forbidden by the proxy")
            async with aiohttp.ClientSession() as session, session.get(upstream + request.path_qs) as answer:
                return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")

        app = web.Application()
        app.router.add_get("/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    yield make
    for runner in runners:
        await runner.cleanup()


async def test_silences_are_read_through_an_auth_proxy_with_the_configured_headers(
    cluster: Cluster, tmp_path: Path, start_alertmanager: Any, proxy_to: Any
) -> None:
    am: RunningAlertmanager = start_alertmanager(route_config("http://127.0.0.1:9/alertmanager"))
    await ready(am)
    silence_id = await am.silence([{"name": "node", "value": "node-2", "isRegex": False, "isEqual": True}])
    url = await proxy_to(am.url)
    async with stack(cluster, tmp_path / "without", watchers=False, KUBEWHY_ALERTMANAGER_URL=url) as s:
        with pytest.raises(AlertmanagerError, match="403"):
            await both_kinds(s.bot.deps.app)
    headers = "X-Proxy-Auth: let-me-in\nX-Other: 1"
    (tmp_path / "with").mkdir()
    async with stack(
        cluster, tmp_path / "with", watchers=False, KUBEWHY_ALERTMANAGER_URL=url, KUBEWHY_ALERTMANAGER_HEADERS=headers
    ) as s:
        _, silences = await both_kinds(s.bot.deps.app)
        assert [x["id"] for x in silences or []] == [silence_id]


def test_bad_alertmanager_settings_say_which() -> None:
    with pytest.raises(SettingsError, match="KUBEWHY_ALERTMANAGER_HEADERS"):
        load({"KUBEWHY_ALERTMANAGER_HEADERS": "no colon here"})
    with pytest.raises(SettingsError, match="KUBEWHY_ALERTMANAGER_URL"):
        load({"KUBEWHY_ALERTMANAGER_URL": "alertmanager:9093"})
