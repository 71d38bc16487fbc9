"""`--prometheus discover` from outside the cluster: the Prometheus Service found, then queried through the API
server's service proxy with the kubeconfig's credentials (a laptop cannot resolve `NAME.NS.svc`). The simulator
proxies that Service to a real Prometheus over the scenario's history."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from kubesim.prometheus import RunningPrometheus
from kubesim.runner import RunningSim
from kubewhy import compose
from kubewhy.adapters.prom_proxy import PromThroughKube
from kubewhy.errors import PromError
from kubewhy.models.target import parse_target
from kubewhy.service import diagnose
from kubewhy.settings import DISCOVER, KubeSettings, PromSettings, Settings
from tests.prometheus.promcases import THROTTLED


def test_discovered_prometheus_answers_through_the_service_proxy(
    start_sim: Callable[..., RunningSim], prometheus_for: Callable[[str], RunningPrometheus]
) -> None:
    prom = prometheus_for(THROTTLED)
    sim = start_sim(
        THROTTLED,
        timeline_mode="manual",
        service_proxies={
            "monitoring/prometheus-operated": prom.url,
            "monitoring/kube-prometheus-stack-prometheus": prom.url,
        },
    )
    settings = Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)), prometheus=PromSettings(url=DISCOVER))

    async def run() -> tuple[str, tuple[str, ...]]:
        async with compose.opened(settings, audit=False) as deps:
            assert isinstance(deps.prom, PromThroughKube) and deps.kubelet is None
            report = await diagnose(parse_target("pod/q10/server-7b6f4c9d8c-jhk7g"), deps)
            found = {f.id: f for f in report.findings}
            assert "cpu-throttling" in found, [c.to_dict() for c in report.checks if c.status != "ok"]
            return deps.prom.endpoint, found["cpu-throttling"].evidence

    endpoint, evidence = asyncio.run(run())
    assert "/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:9090/proxy" in endpoint
    text = "\n".join(evidence)
    assert re.search(r"throttled periods / periods over 5m for server: 6\d%", text), text  # PromQL, not kubelet
    assert re.search(r"over the last hour: peak 6\d%", text), text  # a range query through the proxy too
    assert sim.server.requests["proxy services"] >= 2


def test_a_service_without_endpoints_is_a_prometheus_error_not_a_crash(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(THROTTLED, timeline_mode="manual")  # no proxy target: the Service has no endpoints
    settings = Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)), prometheus=PromSettings(url=DISCOVER))

    async def run() -> str:
        async with compose.opened(settings, audit=False) as deps:
            assert deps.prom is not None
            try:
                await deps.prom.query("up")
            except PromError as exc:
                return str(exc)
            raise AssertionError("no error")

    message = asyncio.run(run())
    assert "HTTP 503" in message
    assert 'no endpoints available for service "kube-prometheus-stack-prometheus:9090"' in message
