"""What kubewhy does with ``nodes/proxy`` (docs/security.md, *nodes/proxy*): the right reaches the whole kubelet
API (pod specs with their environment, logs, and with ``create``, exec), so kubewhy must use it for exactly two
reads. Every broken object of the workshop and every node is diagnosed, as the bot does, and the simulator's
count of node-proxy requests must hold only ``GET /stats/summary`` and ``GET /metrics/cadvisor``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, load

pytestmark = pytest.mark.asyncio
ALLOWED = {"get nodes/proxy/stats/summary", "get nodes/proxy/metrics/cadvisor"}


async def test_the_node_proxy_is_used_for_the_two_metric_reads_only(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "USER": "alice", "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    sim.reset_stats()
    async with Kubewhy(load(env, Flags()), source="slack") as app:
        pods = await app.deps.kube.list("Pod")
        nodes = await app.deps.kube.list("Node")
        targets = [f"pod/{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods]
        targets += [f"node/{n['metadata']['name']}" for n in nodes]
        for target in targets:
            await app.diagnose(parse_target(target))
    proxied = {k: v for k, v in sim.stats().items() if "nodes/proxy" in k}
    assert proxied, "no diagnosis read a kubelet: the test would prove nothing"
    assert set(proxied) <= ALLOWED, proxied
