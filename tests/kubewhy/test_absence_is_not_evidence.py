"""Absence from a snapshot or a paste is not evidence: a Service given without its Endpoints object is not "no
endpoints"; with the Endpoints object (or on a live cluster) the same Service is."""

from __future__ import annotations

import asyncio
from typing import Any

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.models.findings import Report
from kubewhy.models.target import Target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

SERVICE = {
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
}
ENDPOINTS = {"kind": "Endpoints", "metadata": {"name": "web", "namespace": "shop"}, "subsets": []}


def _why(objects: list[dict[str, Any]]) -> Report:
    kube = SnapshotKube([], objects=objects, endpoint="test")
    deps = Deps(kube=kube, catalog=load_dirs([]), clock=kube.clock)
    return asyncio.run(diagnose(Target("Service", "web", "shop"), deps))


def test_a_service_without_its_endpoints_in_the_input_is_not_called_endpointless() -> None:
    report = _why([SERVICE])
    assert "service-no-endpoints" not in [f.id for f in report.findings]
    assert any("was not in the input" in n and "get endpoints web" in n for n in report.notes), report.notes


def test_the_same_service_with_its_empty_endpoints_has_no_endpoints() -> None:
    report = _why([SERVICE, ENDPOINTS])
    assert [f.id for f in report.findings][:1] == ["service-no-endpoints"]
    assert "matches no pod" not in report.findings[0].summary  # no pod was given either
    assert "were not in the input" in report.findings[0].summary


def test_with_pods_in_the_input_their_absence_from_the_selector_is_a_fact() -> None:
    other = {"kind": "Pod", "metadata": {"name": "api-1", "namespace": "shop", "labels": {"app": "api"}}}
    report = _why([SERVICE, ENDPOINTS, other])
    assert "matches no pod in namespace shop" in report.findings[0].summary
