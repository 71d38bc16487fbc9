"""The live adapter's two transports, against the simulator over HTTP: the direct one (``http.client``, for
kubeconfigs kubewhy reads exactly) and the official ``kubernetes`` client (everything else) send the same
requests and give the same answers; the official one is chosen whenever the kubeconfig needs it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import DirectClient, LiveKube, build_api_client, official_client
from kubewhy.errors import ClusterUnreachable, KubeApiError

POD = ("q1", "app-7d4b9c6f5-x2x7k")


async def reads(kube: LiveKube) -> list[Any]:
    ns, name = POD
    return [
        await kube.get("Pod", ns, name),
        await kube.get("Pod", ns, "nope"),
        await kube.list("Pod", ns, label_selector="app=app"),
        await kube.list("Event", ns, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name}"),
        await kube.list("Node"),
        await kube.list("ServiceMonitor", ns),  # a group the simulator does not serve: 404 → []
        await kube.logs(ns, name, "app", previous=True, tail=5),
        await kube.logs(ns, name, "no-such-container"),
        await kube.patch("Deployment", ns, "app", {"spec": {"replicas": 3}}, patch_type="merge", dry_run=True),
        await kube.patch("Pod", ns, name, [{"op": "add", "path": "/metadata/labels/x", "value": "y"}],
                         patch_type="json", dry_run=True),
    ]


def test_both_transports_send_the_same_requests_and_read_the_same(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop/q01-app-crash")
    direct = build_api_client(str(sim.kubeconfig))
    assert isinstance(direct, DirectClient)
    results, requests = [], []
    for api in (direct, official_client(str(sim.kubeconfig))):
        sim.reset_stats()
        kube = LiveKube(api)
        results.append(asyncio.run(reads(kube)))
        requests.append((kube.requests, sim.stats()))
    assert results[0] == results[1]
    assert results[0][0]["metadata"]["name"] == POD[1] and results[0][1] is None and results[0][5] == []
    assert requests[0] == requests[1]


def test_errors_are_the_same_on_both(start_sim: Callable[..., RunningSim], tmp_path: Path) -> None:
    sim = start_sim("workshop/q01-app-crash")
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(sim.kubeconfig.read_text().replace(sim.url, "http://127.0.0.1:9"))
    for api in (build_api_client(str(dead)), official_client(str(dead))):
        with pytest.raises(ClusterUnreachable, match=r"cannot reach the Kubernetes API at http://127.0.0.1:9"):
            asyncio.run(LiveKube(api).get("Pod", "q1", "x"))
    for api in (build_api_client(str(sim.kubeconfig)), official_client(str(sim.kubeconfig))):
        with pytest.raises(KubeApiError):
            asyncio.run(LiveKube(api).patch("Deployment", "q1", "nope", {"spec": {}}, patch_type="merge"))


def edited(path: Path | None, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    assert path is not None
    data = yaml.safe_load(path.read_text())
    change(data)
    out = tmp_path / f"kc-{len(list(tmp_path.iterdir()))}"
    out.write_text(yaml.safe_dump(data))
    return str(out)


def test_the_official_client_reads_what_the_direct_one_would_not(start_sim: Callable[..., RunningSim],
                                                                 tmp_path: Path) -> None:
    sim = start_sim("workshop/q01-app-crash")

    def user(**fields: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["users"][0].__setitem__("user", fields)

    for kc in (edited(sim.kubeconfig, tmp_path, user(username="u", password="p")),
               edited(sim.kubeconfig, tmp_path, user(exec={"apiVersion": "client.authentication.k8s.io/v1",
                                                          "command": "true"})),
               edited(sim.kubeconfig, tmp_path, lambda d: d["clusters"][0]["cluster"].__setitem__(
                   "proxy-url", "http://127.0.0.1:9")),
               f"{sim.kubeconfig}{os.pathsep}{tmp_path / 'other'}"):
        from kubewhy.adapters.kube_live import direct_client

        assert direct_client(kc) is None, kc
    # and a kubeconfig it does read: a named context, a token, relative paths resolved beside the file
    def another_context(d: dict[str, Any]) -> None:
        d["contexts"].append({"name": "other", "context": {"cluster": d["clusters"][0]["name"]}})
        d["current-context"] = "x"

    api = build_api_client(edited(sim.kubeconfig, tmp_path, another_context), "other")
    assert isinstance(api, DirectClient)
    assert asyncio.run(LiveKube(api).get("Pod", *POD)) is not None


def test_a_prefetched_target_is_counted_and_fails_where_the_diagnosis_would(start_sim: Callable[..., RunningSim],
                                                                            tmp_path: Path) -> None:
    from kubewhy import compose, service
    from kubewhy.errors import TargetNotFound
    from kubewhy.models.target import parse_target
    from kubewhy.settings import Flags, load

    sim = start_sim("workshop/q01-app-crash")
    settings = load({"HOME": str(tmp_path)}, Flags(kubeconfig=str(sim.kubeconfig), no_audit=True))

    async def why(target: str, kubeconfig: Path | None = None) -> Any:
        s = settings if kubeconfig is None else load({"HOME": str(tmp_path)}, Flags(kubeconfig=str(kubeconfig)))
        kube = compose.build_kube(s, prefetch=parse_target(target))
        async with compose.opened(s, kube=kube, audit=False) as deps:
            return await service.diagnose(parse_target(target), deps)

    sim.reset_stats()
    report = asyncio.run(why("pod/q1/app-7d4b9c6f5-x2x7k"))
    assert report.findings and report.api_requests == sum(sim.stats().values())  # the prefetch is counted once
    with pytest.raises(TargetNotFound, match="did you mean: app-7d4b9c6f5-x2x7k"):
        asyncio.run(why("pod/q1/app-7d4b9c6f5-x2x7"))
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(sim.kubeconfig.read_text().replace(sim.url, "http://127.0.0.1:9"))
    with pytest.raises(ClusterUnreachable):
        asyncio.run(why("pod/q1/x", dead))
