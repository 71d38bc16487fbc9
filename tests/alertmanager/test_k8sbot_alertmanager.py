"""``k8sbot`` as it runs in the cluster (one process: the bot, the watchers and the Alertmanager receiver) with a
real Alertmanager routing to it: the watchers' page is not repeated by Alertmanager's alert for it, a new
alert is paged once, and the receiver stops with the process."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from kubesim.prometheus import free_port
from tests.bot.slack_double import SlackDouble
from tests.watch.conftest import DATA, Cluster, Pages, crash_looping, open_incidents, text_of, watch_environ
from tests.watch.test_process import Proc

from .conftest import TOKEN, alert


async def test_k8sbot_receives_alertmanager_and_joins_the_watchers_pages(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, alertmanager_factory: Any
) -> None:
    receiver_port = free_port()
    am = await alertmanager_factory(f"http://127.0.0.1:{receiver_port}/alertmanager")
    await cluster.create_pod("shop", "cart-5c8d7f9b6d-abcde", "node-1", owner="cart", status=crash_looping(6))
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
        SLACK_APP_TOKEN="xapp-test",  # Socket Mode: the receiver is k8sbot's only HTTP listener besides probes
        KUBEWHY_HEALTH_PORT=str(free_port()),
        KUBEWHY_ALERTMANAGER_PORT=str(receiver_port),
        KUBEWHY_ALERTMANAGER_TOKEN=TOKEN,
        KUBEWHY_ALERTMANAGER_URL=am.url,
    )
    log = tmp_path / "k8sbot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "k8sbot"), env=env, stdout=out, stderr=out
        )
    p = Proc(proc, log)
    try:
        await p.wait_for_line("Alertmanager receiver on", timeout=40)
        pages = Pages(slack)
        await pages.wait(lambda: len(pages.posts()) == 1, what="the watchers' page", timeout=40)
        await am.push(alert("KubePodCrashLooping", {"namespace": "shop", "pod": "cart-5c8d7f9b6d-abcde"}))
        await pages.wait(
            lambda: any("KubePodCrashLooping" in text_of(u) for u in pages.updates()), what="the alert attached"
        )
        await am.push(alert("KubeNodeNotReady", {"node": "node-2", "severity": "critical"}, summary="node-2 down"))
        await pages.wait(lambda: len(pages.posts()) == 2, what="the new incident's page")
        assert set(await open_incidents(env["KUBEWHY_DATABASE_URL"])) == {"deploy/shop/cart", "node/node-2"}
        assert len(pages.posts()) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0, p.text()
    assert "Traceback" not in p.text()
