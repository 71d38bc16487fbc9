"""Impersonation as the API server does it: a caller that is not the admin needs RBAC's ``impersonate`` verb on
each user and group it names (``resourceNames``); the request, a SelfSubjectAccessReview included, is then
authorized as the impersonated user. Raw HTTP, as any client sends it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kubesim import load as load_scenario
from kubesim.runner import RunningSim, run_in_thread
from kubesim.scenario import Identity
from kubesim.server import SimOptions

BOT = "bot-token"
SERVICE_ACCOUNT = "system:serviceaccount:kubewhy:kubewhy"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[RunningSim]:
    scenario = load_scenario("workshop")
    scenario.users[BOT] = Identity(SERVICE_ACCOUNT)
    running = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "kubeconfig")
    grant(running, users=("alice",), groups=("sre",))
    yield running
    running.stop()


def grant(sim: RunningSim, *, users: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """What the Helm chart grants kubewhy (impersonate the mapped users and groups, by name), and a Role letting
    the group ``sre`` patch Services in q4; created by the admin."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "kubewhy-impersonate"},
            "rules": [
                {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": list(users)},
                {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"], "resourceNames": list(groups)},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubewhy-impersonate"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kubewhy-impersonate"},
            "subjects": [{"kind": "User", "name": SERVICE_ACCOUNT}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "sre-patch", "namespace": "q4"},
            "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "patch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "sre-patch", "namespace": "q4"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sre-patch"},
            "subjects": [{"kind": "Group", "name": "sre"}],
        },
    ]
    for obj in objects:
        plural = str(obj["kind"]).lower() + "s"
        where = "namespaces/q4/" if str(obj["kind"]).startswith("Role") else ""
        status, _ = call(sim, "POST", f"/apis/rbac.authorization.k8s.io/v1/{where}{plural}", obj, token="admin")
        assert status == 201


def call(
    sim: RunningSim,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = BOT,
    headers: tuple[tuple[str, str], ...] = (),
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """One request; ``headers`` may repeat a name (one ``Impersonate-Group`` line per group), as clients send."""
    url = urlsplit(sim.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    data = b"" if body is None else json.dumps(body).encode()
    conn.putrequest(method, path)
    for name, value in (("Authorization", f"Bearer {token}"), ("Content-Type", content_type), *headers):
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    answer = resp.read()
    conn.close()
    return resp.status, json.loads(answer or b"{}")


def can(sim: RunningSim, verb: str, resource: str, namespace: str, headers: tuple[tuple[str, str], ...]) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}},
    }
    status, answer = call(
        sim, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, headers=headers
    )
    assert status == 201, answer
    return bool(answer["status"]["allowed"])


def test_a_mapped_user_and_group_are_impersonated_and_rbac_decides_as_them(sim: RunningSim) -> None:
    as_alice_sre = (("Impersonate-User", "alice"), ("Impersonate-Group", "sre"))
    assert can(sim, "patch", "services", "q4", as_alice_sre)  # the group sre may patch in q4
    assert not can(sim, "patch", "services", "q1", as_alice_sre)  # and nowhere else
    assert not can(sim, "patch", "services", "q4", (("Impersonate-User", "alice"),))  # alice alone may not
    status, who = call(
        sim,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        headers=as_alice_sre,
    )
    assert status == 201 and who["status"]["userInfo"]["username"] == "alice"
    assert "sre" in who["status"]["userInfo"]["groups"]
    patch, merge = {"metadata": {"labels": {"touched": "yes"}}}, "application/merge-patch+json"
    path = "/api/v1/namespaces/q4/services/web"
    status, _ = call(sim, "PATCH", path, patch, headers=(("Impersonate-User", "alice"),), content_type=merge)
    assert status == 403  # alice's own rights: none
    status, patched = call(sim, "PATCH", path, patch, headers=as_alice_sre, content_type=merge)
    assert status == 200 and patched["metadata"]["labels"]["touched"] == "yes"
    assert not can(sim, "patch", "services", "q4", ())  # the bot itself may not


def test_names_outside_resource_names_and_groups_without_a_user_are_refused(sim: RunningSim) -> None:
    status, answer = call(sim, "GET", "/api/v1/namespaces/q4/services", headers=(("Impersonate-User", "bob"),))
    assert status == 403 and 'cannot impersonate resource "users"' in answer["message"]
    status, answer = call(
        sim,
        "GET",
        "/api/v1/namespaces/q4/services",
        headers=(("Impersonate-User", "alice"), ("Impersonate-Group", "system:masters")),
    )
    assert status == 403 and 'groups "system:masters"' in answer["message"]
    status, answer = call(sim, "GET", "/api/v1/namespaces/q4/services", headers=(("Impersonate-Group", "sre"),))
    assert status == 400 and "without a user" in answer["message"]
