"""`kubewhy watch` with the kubelet sampler on, stopped (SIGTERM) while a kubelet hangs: the process is gone
within the chart's grace period, the hung read never holds its exit."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from kubesim.runner import RunningSim
from tests.bot.slack_double import SlackDouble
from tests.waiting import until_answer

from .conftest import Cluster, watch_environ
from .test_shutdown_budget import grace_period


async def test_a_hung_kubelet_does_not_hold_the_shutdown(
    start_sim: Callable[..., RunningSim], slack: SlackDouble, tmp_path: Path
) -> None:
    sim = start_sim("workshop", timeline_mode="manual", watch_bookmark_interval=0.5)
    # one rule nothing meets: the sampler reads, nothing pages, so no diagnosis reads the hung kubelet (a diagnosis
    # in flight is bounded by its own timeout, not by this test)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "apiVersion: kubewhy.io/v1\nkind: WatchRules\nrules:\n"
        "  - {id: cpu-throttling, detect: cpu-throttling, threshold: 1.0, for: 1h, every: 1s}\n"
    )
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        # node-1's kubelet answers its counters a minute late, far past the sampler's timeout
        fault = {"delay": 60, "path": "/nodes/node-1/proxy/metrics/cadvisor", "times": None}
        (await http.post("/kubesim/v1/faults", json=fault)).raise_for_status()
        env = watch_environ(
            Cluster(sim, http),
            slack,
            tmp_path,
            KUBEWHY_WATCH_RULES=str(rules),
            KUBEWHY_SAMPLER_INTERVAL="1s",
            KUBEWHY_SAMPLER_TIMEOUT="30s",
        )
        log = tmp_path / "watch.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kubewhy", "watch", "--stdout", "-v"], env=env, stdout=out, stderr=out
            )
        killed = False
        try:

            async def hung() -> int:
                faults = (await http.get("/kubesim/v1/faults")).json()["faults"]
                return sum(int(f["hits"]) for f in faults)

            await until_answer(hung, lambda hits: hits >= 1, timeout=60, what="a read of node-1 in flight")
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, grace_period())
            except subprocess.TimeoutExpired:
                proc.kill()  # the kubelet, at the end of the grace period
                killed = True
                await asyncio.to_thread(proc.wait, 10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log.read_text(errors="replace")
    assert not killed and proc.returncode == 0, output[-3000:]
    assert "kubelet sampler on" in output, output[-3000:]
