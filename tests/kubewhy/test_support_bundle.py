"""Troubleshoot support bundles as snapshot input, laid out as the collector writes them.

The objects are real ones from the corpus (tests/realworld/cases); the bundle layout is the collector's:
``cluster-resources/<plural>/<ns>.json`` lists whose items have no kind, ``nodes.json``, pod logs under
``cluster-resources/pods/logs/<ns>/<pod>/<container>[-previous].log``, and its ``*-errors.json`` files.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.errors import UsageError
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

CASES = Path(__file__).resolve().parents[1] / "realworld" / "cases"


def _objects(case: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((CASES / f"{case}.yaml").read_text(encoding="utf-8")) if d]
    return [d for d in docs if d.get("kind") != "Scenario"]


def _as_client_go_list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A typed list as client-go serialises it: the items carry no kind or apiVersion."""
    bare = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]
    return {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": bare}


def _write_bundle(root: Path, case: str = "kube-eventer-285-oomkilled") -> Path:
    objs = _objects(case)
    res = root / "support-bundle-2024-01-04T09_53_10" / "cluster-resources"
    by_ns: dict[tuple[str, str], list[dict[str, Any]]] = {}
    nodes = []
    for o in objs:
        if o["kind"] == "Node":
            nodes.append(o)
        else:
            by_ns.setdefault((o["kind"], o["metadata"].get("namespace", "default")), []).append(o)
    for (kind, ns), items in by_ns.items():
        folder = res / {"Pod": "pods", "Event": "events"}[kind]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{ns}.json").write_text(json.dumps(_as_client_go_list(kind, items)), encoding="utf-8")
    (res / "nodes.json").write_text(json.dumps(_as_client_go_list("Node", nodes)), encoding="utf-8")
    (res / "pods").mkdir(exist_ok=True)
    (res / "pods" / "kube-system-errors.json").write_text('["pods is forbidden"]', encoding="utf-8")
    (res / "auth-cani-list").mkdir()
    (res / "auth-cani-list" / "default.json").write_text('{"rules": []}', encoding="utf-8")
    logs = res / "pods" / "logs" / "limit-test" / "adsf-78687dd59f-8w42g"
    logs.mkdir(parents=True)
    (logs / "adsf-previous.log").write_text("allocating 512MiB\n", encoding="utf-8")
    (logs / "adsf.log").write_text("starting\n", encoding="utf-8")
    return root / "support-bundle-2024-01-04T09_53_10"


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_dirs([])


def _diagnose(paths: list[Path], target: str, catalog: Any) -> list[str]:
    kube = SnapshotKube(paths)
    report = asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=catalog, clock=kube.clock)))
    return [f.id for f in report.findings]


def test_an_extracted_bundle_is_read_with_kinds_from_its_layout(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    bundle = _write_bundle(tmp_path)
    kube = SnapshotKube([bundle])
    pods = asyncio.run(kube.list("Pod", "limit-test"))
    assert [p["kind"] for p in pods] == ["Pod"] and pods[0]["apiVersion"] == "v1"
    assert asyncio.run(kube.logs("limit-test", "adsf-78687dd59f-8w42g", "adsf", previous=True)) == "allocating 512MiB\n"
    assert _diagnose([bundle], "pod/limit-test/adsf-78687dd59f-8w42g", catalog)[0] == "oom-killed"
    _write_bundle(tmp_path / "other", "k3s-838-system-oom-flapping")
    assert _diagnose([tmp_path / "other"], "node/kube-node-9f4e", catalog)[0] == "node-system-oom"  # its parent folder


def test_a_bundle_archive_gives_the_same_diagnosis(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    bundle = _write_bundle(tmp_path / "src")
    archive = tmp_path / "support-bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=bundle.name)
    assert _diagnose([archive], "pod/limit-test/adsf-78687dd59f-8w42g", catalog) == _diagnose(
        [bundle], "pod/limit-test/adsf-78687dd59f-8w42g", catalog
    )


def test_a_broken_bundle_member_is_one_line_with_its_file(tmp_path: Path) -> None:
    bundle = _write_bundle(tmp_path)
    (bundle / "cluster-resources" / "events" / "limit-test.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match=r"events/limit-test\.json:1: not JSON"):
        SnapshotKube([bundle])
    run = subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", "pod/limit-test/x", "--snapshot", str(bundle), "--no-audit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "limit-test.json:1: not JSON" in run.stderr


# The file list of a real bundle, as `tar xvf` printed it in a public workshop
# (https://github.com/dexhorthy/k8s-troubleshoot-workshop, README), with the pod status it quotes:
# the Deployment's only pod is Pending, "0/1 nodes are available: 1 Insufficient cpu.".
WORKSHOP_FILES = [
    "cluster-resources/deployments/default.json",
    "cluster-resources/events/default.json",
    "cluster-resources/groups.json",
    "cluster-resources/ingress/default.json",
    "cluster-resources/jobs/default.json",
    "cluster-resources/limitranges/default.json",
    "cluster-resources/namespaces.json",
    "cluster-resources/network-policy/default.json",
    "cluster-resources/nodes.json",
    "cluster-resources/pod-disruption-budgets/default.json",
    "cluster-resources/pods/default.json",
    "cluster-resources/pods/logs/default/my-app-9595cd9c7-4tpvx/my-app-previous.log",
    "cluster-resources/pods/logs/default/my-app-9595cd9c7-4tpvx/my-app.log",
    "cluster-resources/pvcs/default.json",
    "cluster-resources/pvs.json",
    "cluster-resources/replicasets/default.json",
    "cluster-resources/resources.json",
    "cluster-resources/services/default.json",
    "cluster-resources/statefulsets/default.json",
    "cluster-resources/storage-classes.json",
    "version.yaml",
]


def test_the_layout_of_a_real_bundle_is_read(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "support-bundle-2022-09-20T16_18_35"
    pod = {
        "metadata": {"name": "my-app-9595cd9c7-4tpvx", "namespace": "default", "labels": {"app": "my-app"}},
        "spec": {"containers": [{"name": "my-app", "image": "nginx", "resources": {"requests": {"cpu": "2"}}}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": "2022-09-20T18:27:38Z",
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient cpu.",
                }
            ],
        },
    }
    event = {
        "metadata": {"name": "my-app-9595cd9c7-4tpvx.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "my-app-9595cd9c7-4tpvx", "namespace": "default"},
        "reason": "FailedScheduling",
        "type": "Warning",
        "count": 3,
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
        "firstTimestamp": "2022-09-20T18:27:38Z",
        "lastTimestamp": "2022-09-20T18:40:00Z",
    }
    deployment = {
        "metadata": {"name": "my-app", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "my-app"}},
            "template": {
                "metadata": {"labels": {"app": "my-app"}},
                "spec": {"containers": [{"name": "my-app", "image": "nginx"}]},
            },
        },
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1},
    }
    content: dict[str, Any] = {
        "cluster-resources/pods/default.json": {"kind": "PodList", "items": [pod]},
        "cluster-resources/events/default.json": {"kind": "EventList", "items": [event]},
        "cluster-resources/deployments/default.json": {"items": [deployment]},
        "cluster-resources/groups.json": [{"name": "apps"}],
        "cluster-resources/resources.json": [{"groupVersion": "v1"}],
    }
    for name in WORKSHOP_FILES:
        f = root / name
        f.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".json"):
            f.write_text(json.dumps(content.get(name, {"items": []})), encoding="utf-8")
        else:
            f.write_text("apiVersion: troubleshoot.sh/v1beta2\n" if name == "version.yaml" else "", encoding="utf-8")
    kube = SnapshotKube([root])
    assert [d["kind"] for d in asyncio.run(kube.list("Deployment", "default"))] == ["Deployment"]
    assert _diagnose([root], "pod/default/my-app-9595cd9c7-4tpvx", catalog)[0] == "pending-unschedulable"
    assert "pending-unschedulable" in _diagnose([root], "deploy/default/my-app", catalog)
