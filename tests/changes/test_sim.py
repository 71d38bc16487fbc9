"""What changed, against the simulator: a rollout made with kubectl shows in ``kubewhy changes``, and the
diagnosis' ``what-changed`` evidence costs no API request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from kubewhy import service
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.cli import main
from kubewhy.models.findings import Finding
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from tests.conftest import run_kubectl

NEW_IMAGE = "ghcr.io/acme/pricing:3.0.1"


def _roll_out(sim: Any, tmp_path: Path) -> None:
    """``kubectl set image``, then what the deployment controller does (the simulator runs none): a ReplicaSet of
    revision 9 with the new template, and the Deployment's revision annotation."""
    run_kubectl(sim, "-n", "shop", "set", "image", "deploy/pricing", f"pricing={NEW_IMAGE}")
    deploy = json.loads(run_kubectl(sim, "-n", "shop", "get", "deploy", "pricing", "-o", "json").stdout)
    template = deploy["spec"]["template"]
    template["metadata"].setdefault("labels", {})["pod-template-hash"] = "9f9f9f9f9"
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "pricing-9f9f9f9f9",
            "namespace": "shop",
            "labels": template["metadata"]["labels"],
            "annotations": {
                "deployment.kubernetes.io/revision": "9",
                "kubernetes.io/change-cause": "kubectl set image deploy/pricing",
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "pricing",
                    "uid": deploy["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"replicas": 0, "selector": {"matchLabels": template["metadata"]["labels"]}, "template": template},
    }
    path = tmp_path / "rs.json"
    path.write_text(json.dumps(rs), encoding="utf-8")
    run_kubectl(sim, "create", "-f", str(path))
    run_kubectl(sim, "-n", "shop", "annotate", "deploy/pricing", "deployment.kubernetes.io/revision=9", "--overwrite")


def test_a_kubectl_rollout_shows_in_the_timeline(start_sim: Any, tmp_path: Path, capsys: Any) -> None:
    sim = start_sim("catalogue/recent-change", timeline_mode="manual")
    _roll_out(sim, tmp_path)
    args = ["changes", "deploy/pricing", "-n", "shop", "--kubeconfig", str(sim.kubeconfig), "--since", "2h"]
    assert main([*args, "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    revisions = {c["summary"].split(":", 1)[0]: c for c in data["changes"] if c["operation"] == "rollout"}
    assert f"pricing: image ghcr.io/acme/pricing:3.0.0 → {NEW_IMAGE}" in revisions["revision 9"]["details"]
    assert revisions["revision 9"]["cause"] == "kubectl set image deploy/pricing"
    assert (
        "pricing: image ghcr.io/acme/pricing:2.9.4 → ghcr.io/acme/pricing:3.0.0" in revisions["revision 8"]["details"]
    )
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.index("revision 8:") < text.index("revision 9:")  # oldest first


def _what_changed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.id == "what-changed"]


def test_the_diagnosis_blames_the_rollout_without_a_request_of_its_own(
    start_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = start_sim("catalogue/recent-change", timeline_mode="manual")
    catalog = load_dirs([])

    def run() -> tuple[int, list[Finding]]:
        kube = LiveKube(build_api_client(str(sim.kubeconfig)))
        report = asyncio.run(
            diagnose(parse_target("pod/shop/pricing-tx72lp2c4h-r8w3c"), Deps(kube=kube, catalog=catalog))
        )
        return report.api_requests, report.findings

    with_requests, findings = run()
    (changed,) = _what_changed(findings)
    assert changed.evidence[0].startswith("likely cause, ") and "revision 8" in changed.evidence[0]
    assert changed.fixes[0].command == "kubectl -n shop rollout undo deployment/pricing"

    async def nothing(*_: Any) -> list[Finding]:
        return []

    monkeypatch.setattr(service, "_what_changed", nothing)
    without_requests, findings = run()
    assert not _what_changed(findings)
    assert with_requests == without_requests


def test_the_timeline_of_a_pod_reads_events_once_per_namespace(start_sim: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from kubewhy.adapters.cache import CachedKube
    from kubewhy.changes.timeline import timeline
    from kubewhy.service import resolve_target

    sim = start_sim("catalogue/recent-change", timeline_mode="manual")
    live = LiveKube(build_api_client(str(sim.kubeconfig)))

    async def read() -> Any:
        kube = CachedKube(live)
        target = parse_target("pod/shop/pricing-tx72lp2c4h-r8w3c")
        obj = {**await resolve_target(kube, target), "kind": "Pod"}
        now = datetime.now(UTC)
        return await timeline(kube, obj, now - timedelta(hours=2), now)

    tl = asyncio.run(read())
    assert any(c.summary.startswith("revision 8:") for c in tl.changes)
    assert any(c.summary.startswith("ScalingReplicaSet") for c in tl.changes)
    # pod, ReplicaSet, Deployment, node; Services, HPAs, PDBs, NetworkPolicies, RoleBindings, ReplicaSets; the
    # namespace's events, the node's events
    assert live.requests == 12 + 1  # and kube-root-ca.crt, the ConfigMap its projected volume references
