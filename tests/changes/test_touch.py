"""The policies that touch a workload (kubewhy/changes/touch.py): which PDBs, NetworkPolicies and RoleBindings
select its pods or bind its service account, and that ``kubewhy changes`` and the diagnoses' evidence find them on
the simulator (``catalogue/node-maintenance`` has the PDB of ``frontend``)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.changes.evidence import held_policies
from kubewhy.changes.timeline import timeline
from kubewhy.changes.touch import pod_labels, service_account, touching

NS = "shop"
POD = "frontend-kpfl56jgpr-p7d2x"
RBAC = "rbac.authorization.k8s.io/v1"


def _deploy(app: str, account: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": app, "image": f"{app}:1"}]}
    if account:
        spec["serviceAccountName"] = account
    return {
        "kind": "Deployment",
        "metadata": {"name": app, "namespace": NS, "labels": {"team": "x"}},
        "spec": {"template": {"metadata": {"labels": {"app": app}}, "spec": spec}},
    }


def _policy(kind: str, name: str, ns: str = NS, **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _binding(name: str, account: str, ns: str | None = None) -> dict[str, Any]:
    subject = {"kind": "ServiceAccount", "name": account, **({"namespace": ns} if ns else {})}
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": NS}, "subjects": [subject]}


def _names(found: list[dict[str, Any]]) -> set[str]:
    return {f"{o['kind']}/{o['metadata']['name']}" for o in found}


def test_a_workloads_pods_are_those_of_its_template_and_run_as_its_account_or_default() -> None:
    api = _deploy("api", "api-sa")
    assert pod_labels(api) == {"app": "api"}  # the template's labels, not the Deployment's own
    assert service_account(api) == "api-sa" and service_account(_deploy("web")) == "default"
    pod = {"kind": "Pod", "metadata": {"labels": {"app": "api"}}, "spec": {"serviceAccountName": "api-sa"}}
    assert pod_labels(pod) == {"app": "api"} and service_account(pod) == "api-sa"


def test_the_policies_that_select_its_pods_or_bind_its_account_touch_it_and_no_others() -> None:
    policies = [
        _policy("PodDisruptionBudget", "api", selector={"matchLabels": {"app": "api"}}),
        _policy("PodDisruptionBudget", "web", selector={"matchLabels": {"app": "web"}}),
        _policy("NetworkPolicy", "deny-all", podSelector={}),  # an empty selector: every pod of the namespace
        _policy(
            "NetworkPolicy",
            "api-in",
            podSelector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]},
        ),
        _policy("NetworkPolicy", "elsewhere", "other", podSelector={}),  # another namespace
        _policy("NetworkPolicy", "no-selector"),  # none: nothing
        _binding("api-reads", "api-sa"),
        _binding("api-sa-of-other-ns", "api-sa", "other"),  # the same name, another namespace's account
        _binding("web-reads", "default"),
    ]
    found = touching([_deploy("api", "api-sa")], policies)
    assert _names(found) == {
        "PodDisruptionBudget/api",
        "NetworkPolicy/deny-all",
        "NetworkPolicy/api-in",
        "RoleBinding/api-reads",
    }
    assert "RoleBinding/web-reads" in _names(touching([_deploy("web")], policies))


def test_the_timeline_and_the_evidence_find_the_pdb_of_a_pod_on_the_simulator(start_sim: Any) -> None:
    sim = start_sim("catalogue/node-maintenance", timeline_mode="manual")
    live = LiveKube(build_api_client(str(sim.kubeconfig)))

    async def read() -> tuple[list[str], list[str], list[str]]:
        kube = CachedKube(live)
        found = await kube.get("Pod", NS, POD)
        assert found is not None
        pod = {**found, "kind": "Pod"}
        now = datetime.now(UTC)
        tl = await timeline(kube, pod, now - timedelta(hours=2), now)
        fresh = CachedKube(live)
        before = _names(held_policies(fresh, [pod]))  # nothing listed yet: nothing held, no request made
        await fresh.list("PodDisruptionBudget", None)  # as the node-maintenance playbook lists them
        return tl.subjects, sorted(before), sorted(_names(held_policies(fresh, [pod])))

    subjects, before, held = asyncio.run(read())
    assert "poddisruptionbudget/shop/frontend" in subjects
    assert before == [] and held == ["PodDisruptionBudget/frontend"]


def test_without_the_watchers_the_policies_writes_come_from_their_managed_fields(tmp_path: Path, capsys: Any) -> None:
    """``kubewhy changes`` on a snapshot (``kubectl get -o yaml --show-managed-fields``): who last wrote the
    NetworkPolicy that selects web's pods and the RoleBinding of its account, and when; not another app's."""
    from kubewhy.cli import main

    from .objects import NS as APP
    from .objects import cluster, managed

    def written(obj: dict[str, Any], manager: str, fields: dict[str, Any]) -> dict[str, Any]:
        meta = {
            **obj["metadata"],
            "namespace": APP,
            "managedFields": [managed(manager, "2024-06-14T09:30:00Z", fields)],
        }
        return {
            **obj,
            "apiVersion": "networking.k8s.io/v1" if obj["kind"] == "NetworkPolicy" else RBAC,
            "metadata": meta,
        }

    ingress: dict[str, Any] = {"f:spec": {"f:ingress": {}}}
    policies = [
        written(
            _policy("NetworkPolicy", "web-in", APP, podSelector={"matchLabels": {"app": "web"}}),
            "kubectl-edit",
            ingress,
        ),
        written(
            _policy("NetworkPolicy", "db-in", APP, podSelector={"matchLabels": {"app": "db"}}), "kubectl-edit", ingress
        ),
        written(
            {**_binding("web-reads", "default"), "roleRef": {"kind": "Role", "name": "r"}}, "helm", {"f:subjects": {}}
        ),
    ]
    path = tmp_path / "snapshot.yaml"
    path.write_text(yaml.safe_dump_all([*cluster("image"), *policies]), encoding="utf-8")
    args = ["changes", "deploy/web", "-n", APP, "--snapshot", str(path), "-o", "json", "--since", "1d"]
    assert main(args) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    by_subject = {c["subject"]: c for c in changes if c["source"] == "managedFields"}
    assert (
        by_subject["netpol/app/web-in"]["who"] == "kubectl-edit"
        and "spec.ingress" in by_subject["netpol/app/web-in"]["details"]
    )
    assert by_subject["rolebinding/app/web-reads"]["who"] == "helm"
    assert "netpol/app/db-in" not in {c["subject"] for c in changes}
