"""EndpointSlices are served as a real API server serves them: every port has a name and a protocol, so
``kubectl describe svc`` (kubectl 1.31+ reads the Service's EndpointSlices) works on the workshop's Services."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kubesim import defaults
from kubesim.runner import RunningSim
from tests.conftest import kubectl_binaries, run_kubectl

NEW_KUBECTLS = [b for b in kubectl_binaries() if re.search(r"kubectl\.1\.(3[1-9])$", b)]


def test_endpoint_ports_get_name_and_protocol() -> None:
    sliced = {"ports": [{"port": 80}, {"name": "metrics", "port": 9100, "protocol": "UDP"}, {"port": 53, "name": None}]}
    out = defaults.apply(("discovery.k8s.io", "endpointslices"), sliced)
    assert out["ports"] == [
        {"port": 80, "name": "", "protocol": "TCP"},
        {"name": "metrics", "port": 9100, "protocol": "UDP"},
        {"port": 53, "name": "", "protocol": "TCP"},
    ]
    assert sliced["ports"][0] == {"port": 80}  # a copy: the caller's object is left alone


def test_scenario_slices_are_served_defaulted(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    url = f"{sim.url}/apis/discovery.k8s.io/v1/namespaces/q7/endpointslices"
    items = httpx.get(url, headers={"Authorization": "Bearer kubesim"}).json()["items"]
    ports = [p for s in items for p in s.get("ports") or []]
    assert ports and all(p.get("name") == "" and p.get("protocol") == "TCP" for p in ports), ports


@pytest.mark.kubectl
@pytest.mark.skipif(not NEW_KUBECTLS, reason="kubectl 1.31+ is not installed")
@pytest.mark.parametrize("binary", NEW_KUBECTLS, ids=[Path(b).name for b in NEW_KUBECTLS])
def test_describe_service_with_an_unnamed_port(start_sim: Callable[..., RunningSim], binary: str) -> None:
    """kubectl 1.31-1.33 crashed (nil pointer in formatEndpointSlices) on svc q7/php-apache."""
    sim = start_sim("workshop", timeline_mode="manual")
    out = run_kubectl(sim, "describe", "svc", "php-apache", "-n", "q7", binary=binary).stdout
    assert re.search(r"Port:\s+<unset>\s+80/TCP\nTargetPort:\s+80/TCP\nEndpoints:\s+192\.168\.84\.136:80\n", out), out
