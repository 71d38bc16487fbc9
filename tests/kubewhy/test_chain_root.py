"""Follow the chain to the root (issue 23): a workload's failure descends to its newest ReplicaSet's pods (and their
node and claims), and a CronJob to its latest Jobs; the pods' cause is the root, the workload's condition the symptom.

Live tests talk HTTP to the simulator; the others read a scenario as a snapshot (SnapshotKube)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubesim.runner import RunningSim
from kubesim.scenario import load
from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.engine import related
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import Catalog, load_dirs
from kubewhy.service import Deps, diagnose


@functools.cache
def _catalog() -> Catalog:
    return load_dirs([])


def _snapshot(scenario: str, target: str, objects: list[dict[str, Any]] | None = None) -> Report:
    kube = (
        SnapshotKube([Path(s) for s in load(scenario).sources])
        if objects is None
        else SnapshotKube([], objects=objects)
    )
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=_catalog(), clock=kube.clock)))


def _ids(report: Report) -> list[str]:
    return list(dict.fromkeys(f.id for f in report.findings))


@pytest.mark.parametrize(
    ("scenario", "target", "root"),
    [
        ("catalogue/command-failed", "deploy/reports/report-api", "command-failed"),
        ("catalogue/init-container-failed", "deploy/orders/orders-api", "init-container-failed"),
        ("catalogue/pending-unschedulable", "deploy/ml/trainer", "pending-unschedulable"),
        ("catalogue/readiness-failing", "deploy/payments/ledger", "readiness-failing"),
        ("workshop/q01-app-crash", "deploy/q1/app", "liveness-throttled"),
    ],
)
def test_a_workload_names_its_pods_cause_as_the_root_and_its_condition_as_the_symptom(
    scenario: str, target: str, root: str
) -> None:
    report = _snapshot(scenario, target)
    ids = _ids(report)
    assert ids[0] == root, ids
    symptom = next(f for f in report.findings if f.id == "rollout-stuck")
    assert root in symptom.caused_by
    assert symptom.subject == target


def test_a_deployment_descends_to_its_newest_replicaset_first() -> None:
    """Two ReplicaSets with unhealthy pods: the newest revision's (sorting last by name) is examined first."""
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "d1",
            "annotations": {"deployment.kubernetes.io/revision": "2"},
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 2, "unavailableReplicas": 1, "conditions": [{"type": "Available", "status": "False"}]},
    }

    def rs(name: str, revision: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": {"app": "web"},
                "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}],
            },
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
        }

    def pod(name: str, owner: str, reason: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": {"app": "web"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}],
            },
            "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            "status": {
                "phase": "Pending",
                "containerStatuses": [
                    {"name": "web", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": reason}}}
                ],
            },
        }

    objects = [
        deploy,
        rs("web-aa", "1"),
        rs("web-zz", "2"),
        *(pod(f"web-aa-{i}", "web-aa", "ContainerCreating") for i in range(3)),
        pod("web-zz-0", "web-zz", "ImagePullBackOff"),
    ]
    kube = CachedKube(SnapshotKube([], objects=objects))
    newest = asyncio.run(related.newest_replicaset(kube, deploy))
    assert newest is not None and newest["metadata"]["name"] == "web-zz"
    subjects = asyncio.run(related.related_subjects(kube, deploy, []))
    pods = [s.ref for s in subjects if s.relation == "pod"]
    assert pods == ["pod/shop/web-zz-0", "pod/shop/web-aa-0", "pod/shop/web-aa-1"]
    assert len(pods) == related.MAX_PODS


def test_a_workload_follows_its_pods_to_their_unbound_claims() -> None:
    ids = _ids(_snapshot("catalogue/pvc-pending", "sts/analytics/clickhouse"))
    assert ids[:2] == ["pvc-pending", "pending-unschedulable"], ids
    assert "statefulset-stuck" in ids


def test_a_workload_without_its_pods_names_the_symptom_and_how_to_read_them() -> None:
    scenario = load("catalogue/image-pull")
    objects = [o for o in scenario.objects if o.get("kind") in ("Deployment", "Event")]
    report = _snapshot("", "deploy/shop/checkout", [o for o in objects if o.get("kind") == "Deployment"])
    top = report.findings[0]
    assert top.id == "rollout-stuck"
    assert "not in the input" in top.summary
    assert "kubectl -n shop describe pods -l app=checkout" in [f.command for f in top.fixes]


@pytest.mark.parametrize("alias", ["cj", "cronjob", "cronjobs"])
def test_a_cronjob_is_a_target(alias: str) -> None:
    target = parse_target(f"{alias}/data/nightly-export")
    assert (target.kind, target.namespace, target.name) == ("CronJob", "data", "nightly-export")
    assert str(target) == "cronjob/nightly-export"


def test_a_cronjob_is_diagnosed_through_its_latest_jobs_and_their_pods(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("catalogue/job-failed", timeline_mode="manual")
    kube = LiveKube(build_api_client(str(sim.kubeconfig)))
    report = asyncio.run(diagnose(parse_target("cj/data/nightly-export"), Deps(kube=kube, catalog=_catalog())))
    ids = _ids(report)
    assert ids[:2] == ["app-crash", "job-failed"], ids
    job = next(f for f in report.findings if f.id == "job-failed")
    assert job.subject == "job/data/nightly-export"
    assert job.caused_by == ("app-crash",)
    assert report.api_requests <= 20, report.api_requests


@pytest.mark.parametrize(
    ("scenario", "target", "root", "subject"),
    [
        ("catalogue/node-pleg", "pod/shop/frontend-kpfl56jgpr-p7d2x", "node-pleg", "node/node-2"),
        ("catalogue/pvc-pending", "pod/analytics/clickhouse-0", "pvc-pending", "pvc/analytics/data-clickhouse-0"),
        ("workshop/q04-service-misconfig", "pod/q4/client-5b8f7c6d94-bnfzt", "service-no-endpoints", "svc/q4/web"),
    ],
)
def test_a_pods_cause_follows_to_its_node_claim_and_service(
    scenario: str, target: str, root: str, subject: str
) -> None:
    report = _snapshot(scenario, target)
    top = report.findings[0]
    assert (top.id, top.subject) == (root, subject), [(f.id, f.subject) for f in report.findings]
