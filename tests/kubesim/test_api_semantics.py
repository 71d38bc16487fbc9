"""The simulator answers as an API server does where kubectl and kubewhy notice: who may write, what a create
fills in, field selectors, server-side apply, protobuf, logs by time, the built-in objects of a namespace."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.errors import KubeApiError
from tests.conftest import DATA, run_kubectl

pytestmark = pytest.mark.kubectl

VIEWER = """\
apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: read-only}
users:
  viewer-token: {name: jane, groups: [sre-viewers], readOnly: true}
"""


def raw(
    sim: RunningSim,
    method: str,
    path: str,
    body: bytes | None = None,
    ctype: str = "application/json",
    token: str = "kubesim",
) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        sim.url + path, data=body, method=method, headers={"Content-Type": ctype, "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def viewer(start_sim: Callable[..., RunningSim], tmp_path: Path) -> tuple[RunningSim, Path]:
    scenario = tmp_path / "read-only"
    scenario.mkdir()
    shutil.copy(DATA / "mini.yaml", scenario / "mini.yaml")
    (scenario / "users.yaml").write_text(VIEWER)
    sim = start_sim(scenario, timeline_mode="manual")
    config = yaml.safe_load(Path(str(sim.kubeconfig)).read_text())
    # kubectl sends no bearer token to a plain-http server, but it does impersonate (kubeconfig `as:`)
    config["users"][0]["user"]["as"] = "jane"
    kubeconfig = tmp_path / "viewer.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    return sim, kubeconfig


def test_a_read_only_identity_reads_and_gets_403_on_every_write(viewer: tuple[RunningSim, Path]) -> None:
    sim, kubeconfig = viewer
    as_jane = sim.__class__(**{**sim.__dict__, "kubeconfig": kubeconfig})
    assert "web-1" in run_kubectl(as_jane, "get", "pods").stdout
    label = run_kubectl(as_jane, "label", "pod", "web-2", "x=y", "--dry-run=server", check=False)
    assert label.returncode != 0
    assert (
        'pods "web-2" is forbidden: User "jane" cannot patch resource "pods" in API group "" in the namespace '
        '"default"' in label.stderr
    )
    denied = run_kubectl(as_jane, "auth", "can-i", "patch", "pods", check=False)
    assert denied.returncode == 1 and denied.stdout == "no\n"
    assert run_kubectl(as_jane, "auth", "can-i", "list", "pods").stdout == "yes\n"
    assert re.search(r"Username\s+jane", run_kubectl(as_jane, "auth", "whoami").stdout)
    # kubewhy's writer (the bot's fix path), with jane's token, sees the same 403, in its own words.
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"token": "viewer-token"}
    kubeconfig.write_text(yaml.safe_dump(config))
    kube = LiveKube(build_api_client(str(kubeconfig)))
    with pytest.raises(KubeApiError) as refused:
        asyncio.run(
            kube.patch(
                "Pod", "default", "web-2", {"metadata": {"labels": {"x": "y"}}}, patch_type="merge", dry_run=True
            )
        )
    assert refused.value.status == 403 and "not allowed to patch pods/web-2" in str(refused.value)
    # The admin (the kubeconfig the simulator wrote) may.
    assert run_kubectl(sim, "auth", "can-i", "patch", "pods").stdout == "yes\n"


def test_creates_stamp_the_object_and_server_side_apply_creates(mini: RunningSim) -> None:
    status, made = raw(
        mini,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        json.dumps({"metadata": {"name": "c1", "creationTimestamp": None}}).encode(),
    )
    assert status == 201
    meta = made["metadata"]
    assert isinstance(meta, dict) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    applied = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\ndata:\n  a: b\n"
    status, made = raw(
        mini,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/c2?fieldManager=me",
        applied,
        "application/apply-patch+yaml",
    )
    assert status == 201 and made["data"] == {"a": "b"}
    assert run_kubectl(mini, "get", "cm", "c2", "-o", "jsonpath={.data.a}").stdout == "b"


def test_unknown_field_selectors_and_fields_are_refused(mini: RunningSim) -> None:
    status, body = raw(mini, "GET", "/api/v1/pods?fieldSelector=spec.nodeNmae%3Dnode-1")
    assert status == 400 and body["message"] == "field label not supported: spec.nodeNmae"
    assert raw(mini, "GET", "/api/v1/pods?fieldSelector=status.phase%3DRunning")[0] == 200
    status, body = raw(
        mini,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        json.dumps({"metadata": {"name": "c3"}, "dta": {"a": "b"}}).encode(),
    )
    assert status == 400 and 'strict decoding error: unknown field "dta"' in str(body["message"])


def test_protobuf_it_cannot_decode_is_a_415_not_a_500(mini: RunningSim) -> None:
    status, body = raw(
        mini,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        b"k8s\x00\x0a\xff\xff",
        "application/vnd.kubernetes.protobuf",
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType" and "protobuf" in str(body["message"])


def _pb(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf record (payloads here are shorter than 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_decodes_every_served_kind_and_refuses_unknown_fields(mini: RunningSim) -> None:
    from kubesim.protobuf import _fields
    from kubesim.resources import BUILTIN

    # CRDs and APIServices live outside k8s.io/api; kubectl only ever sends them as JSON (create -f / apply).
    missing = [
        f"{r.group}/{r.version} {r.kind}"
        for r in BUILTIN
        if r.group not in ("apiextensions.k8s.io", "apiregistration.k8s.io")
        and f"{r.group.split('.')[0] or 'core'}.{r.version}.{r.kind}" not in _fields()
    ]
    assert not missing
    envelope = _pb(1, _pb(1, b"batch/v1") + _pb(2, b"Job"))
    job = _pb(1, _pb(1, b"pb-job"))  # metadata.name
    path = "/apis/batch/v1/namespaces/default/jobs?dryRun=All"
    pb = "application/vnd.kubernetes.protobuf"
    status, body = raw(mini, "POST", path, b"k8s\x00" + envelope + _pb(2, job), pb)
    assert status == 201 and body["metadata"]["name"] == "pb-job", body  # type: ignore[index]
    unknown = job + _pb(15, b"x")
    status, body = raw(mini, "POST", path, b"k8s\x00" + envelope + _pb(2, unknown), pb)
    assert status == 415 and "field 15 of batch.v1.Job" in str(body["message"]), body


def test_logs_are_stamped_per_line_and_filtered_by_time(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop/q01-app-crash", timeline_mode="manual")
    args = ("logs", "-n", "q1", "app-7d4b9c6f5-x2x7k")
    lines = run_kubectl(sim, *args, "--timestamps").stdout.splitlines()
    stamps = [datetime.fromisoformat(ln.split(" ", 1)[0].replace("Z", "+00:00")) for ln in lines]
    assert len(set(stamps)) == len(lines) > 5 and stamps == sorted(stamps), "each line written at its own time"
    assert lines[0].split(" ", 2)[1].startswith(stamps[0].strftime("%Y-%m-%dT%H:%M:%S")), "the app's own time"
    recent = run_kubectl(sim, *args, "--since=45s").stdout.splitlines()
    assert 0 < len(recent) < len(lines) and recent == [ln.split(" ", 1)[1] for ln in lines[-len(recent) :]]
    since = (stamps[-2] - timedelta(milliseconds=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(run_kubectl(sim, *args, f"--since-time={since}").stdout.splitlines()) == 2
    assert run_kubectl(sim, *args, "--limit-bytes=10").stdout == lines[0].split(" ", 1)[1][:10]


def test_what_a_namespace_and_the_control_plane_have(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    out = run_kubectl(sim, "get", "serviceaccounts,configmaps", "-n", "q10").stdout
    assert "serviceaccount/default" in out and "configmap/kube-root-ca.crt" in out
    made = run_kubectl(sim, "create", "namespace", "fresh").stdout
    assert "namespace/fresh created" in made
    assert "default" in run_kubectl(sim, "get", "sa", "-n", "fresh").stdout
    assert "Server Version: v1.28.10" in run_kubectl(sim, "version").stdout  # as new as the newest kubelet
    exec_ = run_kubectl(sim, "exec", "-n", "q10", "server-7b6f4c9d8c-jhk7g", "--", "ls", check=False)
    assert exec_.returncode == 127 and "sh: ls: not found" in exec_.stderr  # the scripted shell (exec_ws.py)
    v3 = json.loads(run_kubectl(sim, "get", "--raw", "/openapi/v3").stdout)
    assert "apis/apps/v1" in v3["paths"]
    doc = json.loads(run_kubectl(sim, "get", "--raw", "/openapi/v3/apis/apps/v1").stdout)
    assert "io.k8s.api.apps.v1.Deployment" in doc["components"]["schemas"]


def test_metrics_tables_have_cpu_and_memory(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("healthy", timeline_mode="manual")
    header, *rows = run_kubectl(sim, "get", "nodes.metrics.k8s.io").stdout.splitlines()
    assert header.split() == ["NAME", "CPU", "MEMORY", "WINDOW"]
    assert rows and all(re.fullmatch(r"node-\d\s+\d+m\s+\d+Mi\s+\S+s", r.strip()) for r in rows), rows


def test_an_exact_list_of_a_compacted_version_is_gone(mini: RunningSim) -> None:
    status, listed = raw(mini, "GET", "/api/v1/pods")
    current = listed["metadata"]["resourceVersion"]  # type: ignore[index]
    assert raw(mini, "GET", f"/api/v1/pods?resourceVersionMatch=Exact&resourceVersion={current}")[0] == 200
    status, body = raw(mini, "GET", "/api/v1/pods?resourceVersionMatch=Exact&resourceVersion=1")
    assert status == 410 and body["reason"] == "Expired" and "too old" in str(body["message"])
    status, body = raw(mini, "GET", f"/api/v1/pods?resourceVersionMatch=Exact&resourceVersion={int(current) + 99}")
    assert status == 504 and body["reason"] == "Timeout" and "Too large resource version" in str(body["message"])


def test_an_exact_list_is_the_list_as_it_was_then(mini: RunningSim) -> None:
    base = "/api/v1/namespaces/default/configmaps"

    def write(method: str, path: str, data: dict[str, str] | None = None, name: str = "") -> str:
        body = json.dumps({"metadata": {"name": name}, "data": data}).encode() if data is not None else None
        code, obj = raw(mini, method, path, body)
        assert code in (200, 201), obj
        return str(obj["metadata"]["resourceVersion"])  # type: ignore[index]

    def names_at(rv: str) -> dict[str, object]:
        code, listed = raw(mini, "GET", f"{base}?resourceVersionMatch=Exact&resourceVersion={rv}")
        assert code == 200 and listed["metadata"]["resourceVersion"] == rv, listed  # type: ignore[index]
        items: list[dict[str, Any]] = listed["items"]  # type: ignore[assignment]
        return {
            i["metadata"]["name"]: (i.get("data") or {}).get("v")
            for i in items
            if i["metadata"]["name"].startswith("x")
        }

    first = write("POST", base, {"v": "1"}, "xa")
    second = write("POST", base, {"v": "1"}, "xb")
    third = write("PUT", f"{base}/xa", {"v": "2"}, "xa")
    fourth = write("DELETE", f"{base}/xb")
    raw(mini, "POST", "/api/v1/namespaces/default/secrets", json.dumps({"metadata": {"name": "other"}}).encode())
    assert names_at(first) == {"xa": "1"}
    assert names_at(second) == {"xa": "1", "xb": "1"}
    assert names_at(third) == {"xa": "2", "xb": "1"}
    assert names_at(fourth) == {"xa": "2"}
    code, listed = raw(mini, "GET", f"{base}?resourceVersionMatch=Exact&resourceVersion={second}&limit=1")
    assert code == 200 and [i["metadata"]["name"] for i in listed["items"]] == ["kube-root-ca.crt"]  # type: ignore


def test_an_exact_list_older_than_the_kept_history_is_gone(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim(DATA / "mini.yaml", timeline_mode="manual", history_size=2)
    base = "/api/v1/namespaces/default/configmaps"
    made = [raw(sim, "POST", base, json.dumps({"metadata": {"name": f"c{i}"}}).encode())[1] for i in range(4)]
    rvs = [str(m["metadata"]["resourceVersion"]) for m in made]  # type: ignore[index]
    code, listed = raw(sim, "GET", f"{base}?resourceVersionMatch=Exact&resourceVersion={rvs[1]}")
    assert code == 200 and {i["metadata"]["name"] for i in listed["items"]} >= {"c0", "c1"}  # type: ignore
    assert "c2" not in {i["metadata"]["name"] for i in listed["items"]}  # type: ignore
    code, body = raw(sim, "GET", f"{base}?resourceVersionMatch=Exact&resourceVersion={rvs[0]}")
    assert code == 410 and body["reason"] == "Expired" and body["code"] == 410


HPA_V2 = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "h"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 5,
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            },
            {
                "type": "Resource",
                "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}},
            },
            {
                "type": "Pods",
                "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
            },
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}},
        ],
    },
}


def test_a_v2_autoscaler_read_and_written_back_as_v1_loses_nothing(mini: RunningSim) -> None:
    v1_path, v2_path = (
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
    )
    assert raw(mini, "POST", v2_path, json.dumps(HPA_V2).encode())[0] == 201
    status = {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 91, "averageValue": "1"}},
            },
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {"averageValue": "12"}}},
        ],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}],
    }
    _, stored = raw(mini, "GET", f"{v2_path}/h")
    code, _ = raw(mini, "PUT", f"{v2_path}/h/status", json.dumps({**stored, "status": status}).encode())
    assert code == 200
    code, v1 = raw(mini, "GET", f"{v1_path}/h")
    annotations = v1["metadata"]["annotations"]  # type: ignore[index]
    assert code == 200 and v1["spec"]["targetCPUUtilizationPercentage"] == 70  # type: ignore[index]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 91  # type: ignore[index]
    assert json.loads(annotations["autoscaling.alpha.kubernetes.io/metrics"]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
        {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}},
        {"type": "External", "external": {"metricName": "queue", "targetValue": "30"}},
    ]
    v1["metadata"]["labels"] = {"touched": "yes"}  # type: ignore[index]
    assert raw(mini, "PUT", f"{v1_path}/h", json.dumps(v1).encode())[0] == 200
    _, back = raw(mini, "GET", f"{v2_path}/h")
    assert back["spec"] == stored["spec"] and back["metadata"]["labels"] == {"touched": "yes"}  # type: ignore[index]
    assert "annotations" not in back["metadata"]  # type: ignore[operator]
    assert back["status"]["conditions"] == status["conditions"]  # type: ignore[index]
    current = back["status"]["currentMetrics"]  # type: ignore[index]
    assert current[0]["resource"]["current"]["averageUtilization"] == 91 and current[1] == status["currentMetrics"][1]


def test_aggregated_discovery_documents(mini: RunningSim) -> None:
    def get(path: str, version: str) -> tuple[str, dict[str, Any]]:
        accept = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList,application/json"
        req = urllib.request.Request(mini.url + path, headers={"Accept": accept})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers["Content-Type"], json.loads(resp.read())

    ctype, apis = get("/apis", "v2")
    assert ctype == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert apis["apiVersion"] == "apidiscovery.k8s.io/v2" and apis["kind"] == "APIGroupDiscoveryList"
    groups = {g["metadata"]["name"]: g["versions"] for g in apis["items"]}
    assert [v["version"] for v in groups["autoscaling"]] == ["v2", "v1"]  # the preferred version first
    deployments = next(r for r in groups["apps"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert (deployments["scope"], deployments["shortNames"], deployments["categories"]) == (
        "Namespaced",
        ["deploy"],
        ["all"],
    )
    assert {
        "subresource": "scale",
        "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
        "verbs": ["get", "patch", "update"],
    } in deployments["subresources"]
    ctype, core = get("/api", "v2beta1")
    assert ctype.endswith("v=v2beta1;as=APIGroupDiscoveryList") and len(core["items"]) == 1
    sa = next(r for r in core["items"][0]["versions"][0]["resources"] if r["resource"] == "serviceaccounts")
    assert sa["subresources"] == [
        {
            "subresource": "token",
            "verbs": ["create"],
            "responseKind": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
        }
    ]
    nodes = next(r for r in core["items"][0]["versions"][0]["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


def test_a_table_embeds_the_object_in_the_version_asked_for(mini: RunningSim) -> None:
    """With includeObject=Object a row holds the object converted to the request's version, as for a plain read:
    an autoscaling/v1 table of a (v2-stored) HPA embeds autoscaling/v1 objects, in lists, reads and watches."""
    v1_path, v2_path = (
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
    )
    assert raw(mini, "POST", v2_path, json.dumps(HPA_V2).encode())[0] == 201

    def rows(path: str) -> list[dict[str, Any]]:
        req = urllib.request.Request(
            mini.url + path,
            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io", "Authorization": "Bearer kubesim"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            lines = resp.read().decode().splitlines()
        tables = [json.loads(ln) for ln in lines if ln.strip()]
        return [r for t in tables for r in (t.get("object") or t)["rows"]]

    for path in (
        f"{v1_path}?includeObject=Object",
        f"{v1_path}/h?includeObject=Object",
        f"{v1_path}?includeObject=Object&watch=true&timeoutSeconds=1",
    ):
        obj = rows(path)[0]["object"]
        assert obj["apiVersion"] == "autoscaling/v1" and obj["spec"]["targetCPUUtilizationPercentage"] == 70, path
        assert "metrics" not in obj["spec"], path
    stored = rows(f"{v2_path}?includeObject=Object")[0]["object"]
    assert stored["apiVersion"] == "autoscaling/v2" and stored["spec"]["metrics"][0]["type"] == "Resource"
    partial = rows(v1_path)[0]["object"]
    assert partial["kind"] == "PartialObjectMetadata" and partial["metadata"]["name"] == "h"
