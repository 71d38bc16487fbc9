"""RBAC in the simulator: a scenario's Roles, ClusterRoles and bindings decide what a caller may do, as the API
server's RBAC authorizer does, seen through the real kubectl (`--as`, `--as-group`, `auth can-i`) and kubewhy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubesim.runner import RunningSim
from tests.conftest import DATA, kubectl_binaries

pytestmark = pytest.mark.kubectl

RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: default}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
- {apiGroups: [apps], resources: [statefulsets], resourceNames: [db], verbs: [get, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-pods, namespace: default}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-view}
subjects: [{kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-edits, namespace: jobs}
subjects: [{kind: ServiceAccount, name: deployer, namespace: jobs}]
roleRef: {kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {example.com/aggregate-to-monitoring: "true"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-metrics, labels: {example.com/aggregate-to-monitoring: "true"}}
rules:
- {apiGroups: [""], resources: [nodes, nodes/proxy], verbs: [get, list]}
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: scraper-monitoring}
subjects: [{kind: User, name: scraper, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: monitoring, apiGroup: rbac.authorization.k8s.io}
"""


USERS = """\
apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: tokens}
users:
  t-ops: {name: carol, groups: [ops]}
  t-alice: {name: alice}
  t-none: {name: dave}
"""


@pytest.fixture(scope="module")
def rbac_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    from kubesim import load_paths
    from kubesim.runner import run_in_thread
    from kubesim.server import SimOptions

    folder = tmp_path_factory.mktemp("rbac")
    shutil.copy(DATA / "mini.yaml", folder / "mini.yaml")
    (folder / "rbac.yaml").write_text(RBAC)
    (folder / "users.yaml").write_text(USERS)
    sim = run_in_thread(
        load_paths([folder]), SimOptions(timeline_mode="manual"), kubeconfig_out=folder / "sim.kubeconfig"
    )
    yield sim
    sim.stop()


def kubectl(
    sim: RunningSim, *args: str, user: str | None = None, groups: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    exe = kubectl_binaries()[-1]
    who = ([f"--as={user}"] if user else []) + [f"--as-group={g}" for g in groups]
    return subprocess.run(
        [exe, "--kubeconfig", str(sim.kubeconfig), *who, *args], capture_output=True, text=True, timeout=60
    )


def can_i(sim: RunningSim, user: str, *args: str, groups: tuple[str, ...] = ()) -> bool:
    proc = kubectl(sim, "auth", "can-i", *args, user=user, groups=groups)
    assert proc.stdout.strip() in ("yes", "no"), proc.stderr
    return proc.stdout.strip() == "yes"


def test_a_role_binding_grants_its_rules_in_its_namespace_only(rbac_sim: RunningSim) -> None:
    assert "web-1" in kubectl(rbac_sim, "get", "pods", "-n", "default", user="alice").stdout
    other = kubectl(rbac_sim, "get", "pods", "-n", "jobs", user="alice")
    assert other.returncode == 1
    assert (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "jobs"'
        in other.stderr
    )
    everywhere = kubectl(rbac_sim, "get", "pods", "-A", user="alice")
    assert 'cannot list resource "pods" in API group "" at the cluster scope' in everywhere.stderr
    assert kubectl(rbac_sim, "logs", "web-2", "-n", "default", user="alice").returncode == 0
    assert not can_i(rbac_sim, "alice", "delete", "pods", "-n", "default")
    assert not can_i(rbac_sim, "alice", "get", "secrets", "-n", "default")


def test_resource_names_limit_a_rule_to_the_objects_it_names(rbac_sim: RunningSim) -> None:
    ok = kubectl(rbac_sim, "label", "statefulset", "db", "x=y", "-n", "default", "--dry-run=server", user="alice")
    assert ok.returncode == 0, ok.stderr
    assert can_i(rbac_sim, "alice", "patch", "statefulset/db", "-n", "default")
    assert not can_i(rbac_sim, "alice", "patch", "statefulset/other", "-n", "default")
    assert not can_i(rbac_sim, "alice", "list", "statefulsets", "-n", "default")


def test_a_group_bound_to_the_default_view_role_reads_but_not_secrets_nor_writes(rbac_sim: RunningSim) -> None:
    listed = kubectl(rbac_sim, "get", "pods", "-A", user="bob", groups=("ops",))
    assert listed.returncode == 0 and "batch-1" in listed.stdout and "web-2" in listed.stdout
    assert not can_i(rbac_sim, "bob", "get", "secrets", "-A", groups=("ops",))
    assert not can_i(rbac_sim, "bob", "get", "pods", "-A")  # without the group, nothing
    denied = kubectl(
        rbac_sim, "delete", "pod", "web-2", "-n", "default", "--dry-run=server", user="bob", groups=("ops",)
    )
    assert 'User "bob" cannot delete resource "pods"' in denied.stderr


def test_a_service_account_subject_and_a_subresource(rbac_sim: RunningSim) -> None:
    sa = "system:serviceaccount:jobs:deployer"
    assert can_i(rbac_sim, sa, "create", "pods/exec", "-n", "jobs")
    assert can_i(rbac_sim, sa, "patch", "deployments.apps/scale", "-n", "jobs")
    assert not can_i(rbac_sim, sa, "create", "pods", "-n", "default")
    assert not can_i(rbac_sim, sa, "create", "roles.rbac.authorization.k8s.io", "-n", "jobs")  # edit has no RBAC


def test_an_aggregated_cluster_role_has_the_rules_of_the_roles_it_selects(rbac_sim: RunningSim) -> None:
    assert can_i(rbac_sim, "scraper", "get", "nodes/proxy")
    assert can_i(rbac_sim, "scraper", "get", "/metrics")
    assert not can_i(rbac_sim, "scraper", "get", "/logs")
    listed = kubectl(rbac_sim, "auth", "can-i", "--list", user="scraper").stdout
    assert "nodes/proxy" in listed and "/metrics" in listed and "selfsubjectaccessreviews" in listed


def test_the_node_proxy_needs_nodes_proxy_rights(rbac_sim: RunningSim) -> None:
    def get(user: str) -> int:
        req = urllib.request.Request(
            rbac_sim.url + "/api/v1/nodes/node-1/proxy/stats/summary", headers={"Impersonate-User": user}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                json.loads(resp.read())
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
            assert 'cannot get resource "nodes/proxy"' in body["message"]
            return exc.code

    assert get("scraper") == 200
    assert get("alice") == 403


def _as(sim: RunningSim, token: str, folder: Path) -> Path:
    """A kubeconfig for the simulator with a scenario user's bearer token (kubewhy's client sends it)."""
    config = yaml.safe_load(Path(str(sim.kubeconfig)).read_text())
    config["users"][0]["user"] = {"token": token}
    path = folder / f"{hashlib.sha256(token.encode()).hexdigest()[:12]}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_bearer_token_the_scenario_lists_is_its_user_and_groups(rbac_sim: RunningSim) -> None:
    def status(token: str, path: str) -> int:
        req = urllib.request.Request(rbac_sim.url + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status("t-ops", "/api/v1/pods") == 200
    assert status("t-none", "/api/v1/pods") == 403
    assert status("t-none", "/api") == 200  # discovery is for every authenticated caller
    assert status("anything-else", "/api/v1/secrets") == 200  # an unlisted token is the cluster admin


def test_kubewhy_without_node_proxy_rights_says_which_right_is_missing(rbac_sim: RunningSim, tmp_path: Path) -> None:
    """alice may read pods in default but not the kubelets: the metric checks fail and say why, the diagnosis
    is marked incomplete, never "No problems found"."""
    exe = Path(shutil.which("kubewhy") or Path(__file__).parents[2] / ".venv" / "bin" / "kubewhy")
    proc = subprocess.run(
        [str(exe), "why", "pod/web-2", "-n", "default", "--kubeconfig", str(_as(rbac_sim, "t-alice", tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "nodes/proxy" in out and "No problems found" not in out, out
    as_ops = subprocess.run(
        [str(exe), "why", "pod/web-2", "-n", "default", "--kubeconfig", str(_as(rbac_sim, "t-ops", tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "nodes/proxy" in as_ops.stdout  # view has no nodes/proxy either


def test_a_namespace_scoped_user_still_gets_the_cause(rbac_sim: RunningSim, tmp_path: Path) -> None:
    """alice may not read events, nodes or the kubelets: the OOM kill is still named from the pod's own status,
    its lines that needed events are left out quietly, and the missing rights are listed."""
    exe = Path(shutil.which("kubewhy") or Path(__file__).parents[2] / ".venv" / "bin" / "kubewhy")
    proc = subprocess.run(
        [
            str(exe),
            "why",
            "pod/web-1",
            "-n",
            "default",
            "-o",
            "json",
            "--kubeconfig",
            str(_as(rbac_sim, "t-alice", tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(proc.stdout)
    assert report["findings"][0]["id"] == "oom-killed"
    assert not report["complete"]
    errors = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "error"}
    assert "oom-killed.render" not in errors
    assert 'cannot list resource "events"' in errors["oom-killed.events"]
    assert 'cannot get resource "nodes"' in errors["related.node"]


def test_a_service_account_token_is_that_service_account(rbac_sim: RunningSim, tmp_path: Path) -> None:
    """`kubectl create token` gives a token the simulator authenticates as the service account, whose bindings
    then decide; a tampered token is 401 as on a real API server; only the admin may impersonate."""
    kubectl(rbac_sim, "create", "serviceaccount", "deployer", "-n", "jobs")
    token = kubectl(rbac_sim, "create", "token", "deployer", "-n", "jobs").stdout.strip()

    def call(path: str, bearer: str, **headers: str) -> tuple[int, dict[str, object]]:
        req = urllib.request.Request(rbac_sim.url + path, headers={"Authorization": f"Bearer {bearer}", **headers})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status), json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert call("/api/v1/namespaces/jobs/pods", token)[0] == 200  # the RoleBinding deployer-edits (edit in jobs)
    status, body = call("/api/v1/namespaces/default/pods", token)
    assert status == 403 and 'User "system:serviceaccount:jobs:deployer" cannot list resource "pods"' in str(
        body["message"]
    )
    status, body = call("/api/v1/namespaces/jobs/pods", token[:-4] + "AAAA")
    assert status == 401 and body["reason"] == "Unauthorized"
    status, body = call("/api/v1/pods", "t-alice", **{"Impersonate-User": "carol"})
    assert status == 403 and 'cannot impersonate resource "users"' in str(body["message"])
    # kubewhy's client sends it too: the pod in jobs is diagnosed, the one in default is refused in plain words.
    kubeconfig = str(_as(rbac_sim, token, tmp_path))
    exe = Path(shutil.which("kubewhy") or Path(__file__).parents[2] / ".venv" / "bin" / "kubewhy")
    ok = subprocess.run(
        [str(exe), "why", "pod/batch-1", "-n", "jobs", "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "pod/jobs/batch-1" in ok.stdout, ok.stderr
    refused = subprocess.run(
        [str(exe), "why", "pod/web-2", "-n", "default", "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert 'User "system:serviceaccount:jobs:deployer" cannot get resource "pods"' in refused.stderr
