"""A zero value a client sets explicitly reaches the store, whether it came as JSON (kubectl 1.27-1.31) or as
protobuf (1.32+): ``--replicas=0`` is a Deployment scaled to zero, not one defaulted to a single replica."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubesim.runner import RunningSim
from tests.conftest import kubectl_binaries, run_kubectl

pytestmark = pytest.mark.kubectl
KUBECTLS = kubectl_binaries()
ZERO_CREATES = [  # each sets a pointer (or a field without omitempty) to its zero value
    "deployment zero --image=nginx --replicas=0",
    "pdb min0 --selector=a=b --min-available=0",
    "pdb max0 --selector=a=b --max-unavailable=0",
    "quota none --hard=pods=0",
]
CLUSTER_SCOPED = ["priorityclass pc0 --value=0"]  # dry run only: one name for every version


def _normal(text: str) -> dict[str, Any]:
    """An object without what differs between two creates of it: identity, version, time and namespace."""
    obj: dict[str, Any] = json.loads(text)
    for key in ("uid", "resourceVersion", "creationTimestamp", "namespace"):
        obj["metadata"].pop(key, None)
    return obj


@pytest.mark.skipif(len(KUBECTLS) < 2, reason="needs kubectl versions that send JSON and protobuf")
def test_every_kubectl_keeps_explicit_zeros(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    seen: dict[str, dict[str, dict[str, Any]]] = {}
    for binary in KUBECTLS:
        k: Callable[..., str] = lambda *a: run_kubectl(sim, *a, binary=binary).stdout  # noqa: B023, E731
        version = Path(binary).name
        ns = "zero-" + version.replace(".", "-")
        k("create", "namespace", ns)
        for command in ZERO_CREATES + CLUSTER_SCOPED:
            args = ["create", *command.split(), "-n", ns, "-o", "json"]
            seen.setdefault(f"{command} (dry run)", {})[version] = _normal(k(*args, "--dry-run=server"))
            if command in CLUSTER_SCOPED:
                continue
            k(*args)
            kind, name = command.split()[:2]
            seen.setdefault(command, {})[version] = _normal(k("get", kind, name, "-n", ns, "-o", "json"))
    for command, outputs in seen.items():
        first = next(iter(outputs.values()))
        assert all(out == first for out in outputs.values()), (command, outputs)
    deployments = seen["deployment zero --image=nginx --replicas=0"]
    assert all(d["spec"]["replicas"] == 0 for d in deployments.values()), deployments
    assert all(p["spec"]["minAvailable"] == 0 for p in seen["pdb min0 --selector=a=b --min-available=0"].values())
    assert all(p["value"] == 0 for p in seen["priorityclass pc0 --value=0 (dry run)"].values())


def _record(number: int, payload: bytes | int) -> bytes:
    """One protobuf record: a varint for an int, else length-delimited (payloads shorter than 128 bytes)."""
    if isinstance(payload, int):
        return bytes([number << 3, payload])
    return bytes([number << 3 | 2, len(payload)]) + payload


def _post_protobuf(sim: RunningSim, path: str, api_version: bytes, kind: bytes, obj: bytes) -> dict[str, Any]:
    body = b"k8s\x00" + _record(1, _record(1, api_version) + _record(2, kind)) + _record(2, obj)
    req = urllib.request.Request(
        sim.url + path,
        data=body,
        method="POST",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf", "Authorization": "Bearer kubesim"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        created: dict[str, Any] = json.loads(resp.read())
        return created


def test_protobuf_pointer_zeros_are_kept_and_omitempty_zeros_dropped(mini: RunningSim) -> None:
    secret = _post_protobuf(
        mini, "/api/v1/namespaces/default/secrets", b"v1", b"Secret", _record(1, _record(1, b"s0")) + _record(5, 0)
    )
    assert secret["immutable"] is False  # *bool
    ingress = _post_protobuf(
        mini,
        "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
        b"networking.k8s.io/v1",
        b"Ingress",
        _record(1, _record(1, b"i0")) + _record(2, _record(4, b"")),
    )
    assert ingress["spec"] == {"ingressClassName": ""}  # *string
    pc = _post_protobuf(
        mini,
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        b"scheduling.k8s.io/v1",
        b"PriorityClass",
        _record(1, _record(1, b"pc0")) + _record(2, 0) + _record(3, 0) + _record(4, b""),
    )
    assert pc["value"] == 0  # no omitempty
    assert "globalDefault" not in pc and "description" not in pc  # omitempty: false and "" are left out
    deployment = _post_protobuf(
        mini,
        "/apis/apps/v1/namespaces/default/deployments",
        b"apps/v1",
        b"Deployment",
        _record(1, _record(1, b"d0")) + _record(2, _record(1, 0)),
    )
    assert deployment["spec"]["replicas"] == 0 and deployment["status"] == {}  # a struct is never empty in JSON
    assert deployment["spec"]["selector"] is None  # *LabelSelector without omitempty: null when unset
