"""The official kubernetes client against the simulator: lists, selectors, watches, patches, logs."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from kubesim.runner import RunningSim


def api(sim: RunningSim) -> client.ApiClient:
    api_client: client.ApiClient = config.new_client_from_config(config_file=str(sim.kubeconfig))
    return api_client


def test_list_with_label_and_field_selectors(mini: RunningSim) -> None:
    v1 = client.CoreV1Api(api(mini))
    assert {p.metadata.name for p in v1.list_pod_for_all_namespaces().items} == {"web-1", "web-2", "batch-1"}
    assert [p.metadata.name for p in v1.list_namespaced_pod("default", label_selector="tier=front").items] == ["web-2"]
    assert {
        p.metadata.name for p in v1.list_namespaced_pod("default", label_selector="app in (web,db),tier!=front").items
    } == {"web-1"}
    running = v1.list_pod_for_all_namespaces(field_selector="status.phase=Running,spec.nodeName=node-1").items
    assert {p.metadata.name for p in running} == {"web-1", "web-2"}
    assert [
        p.metadata.name for p in v1.list_pod_for_all_namespaces(field_selector="metadata.namespace=jobs").items
    ] == ["batch-1"]
    events = v1.list_namespaced_event("default", field_selector="involvedObject.name=web-1,involvedObject.kind=Pod")
    assert [e.reason for e in events.items] == ["BackOff"]
    assert events.items[0].involved_object.uid == v1.read_namespaced_pod("web-1", "default").metadata.uid


def test_list_pagination_with_limit_and_continue(mini: RunningSim) -> None:
    v1 = client.CoreV1Api(api(mini))
    first = v1.list_pod_for_all_namespaces(limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    assert first.metadata.remaining_item_count == 1
    rest = v1.list_pod_for_all_namespaces(limit=2, _continue=first.metadata._continue)
    assert len(rest.items) == 1 and not rest.metadata._continue
    names = [p.metadata.name for p in first.items + rest.items]
    assert names == ["web-1", "web-2", "batch-1"]  # etcd key order: namespace, then name


def test_watch_resumes_from_resource_version(mini: RunningSim) -> None:
    v1 = client.CoreV1Api(api(mini))
    listed = v1.list_namespaced_pod("default")
    rv = listed.metadata.resource_version
    v1.patch_namespaced_pod("web-2", "default", {"metadata": {"labels": {"seen": "1"}}})
    v1.delete_namespaced_pod("web-1", "default")
    w = watch.Watch()
    events = []
    for ev in w.stream(v1.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=2):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 2:
            w.stop()
    assert events == [("MODIFIED", "web-2"), ("DELETED", "web-1")]


def test_watch_with_too_old_resource_version_gets_410(start_sim) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DATA

    sim = start_sim(DATA / "mini.yaml", history_size=3)
    v1 = client.CoreV1Api(api(sim))
    old_rv = v1.list_namespaced_pod("default").metadata.resource_version
    for i in range(6):
        v1.patch_namespaced_pod("web-2", "default", {"metadata": {"labels": {"n": str(i)}}})
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(v1.list_namespaced_pod, "default", resource_version=old_rv, timeout_seconds=2):
            pass
    assert err.value.status == 410


def test_watch_sends_bookmarks_and_live_changes(start_sim) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DATA

    sim = start_sim(DATA / "mini.yaml", watch_bookmark_interval=0.2)
    v1 = client.CoreV1Api(api(sim))
    rv = v1.list_namespaced_pod("default").metadata.resource_version
    url = (
        f"{sim.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}&allowWatchBookmarks=true"
        f"&timeoutSeconds=2&labelSelector=app%3Dweb"
    )
    seen: list[dict[str, Any]] = []

    def reader() -> None:
        with urllib.request.urlopen(url, timeout=10) as resp:
            for raw in resp:
                seen.append(json.loads(raw))

    t = threading.Thread(target=reader)
    t.start()
    threading.Event().wait(0.5)
    v1.patch_namespaced_pod("web-2", "default", {"metadata": {"labels": {"app": "other"}}})  # leaves the selector
    t.join(timeout=10)
    types = [e["type"] for e in seen]
    assert "BOOKMARK" in types
    assert ("DELETED", "web-2") in [(e["type"], e["object"]["metadata"].get("name")) for e in seen]


def test_patch_kinds_and_server_side_dry_run(mini: RunningSim) -> None:
    apps = client.AppsV1Api(api(mini))
    v1 = client.CoreV1Api(api(mini))
    before = v1.read_namespaced_pod("web-2", "default")
    dry = v1.patch_namespaced_pod("web-2", "default", {"metadata": {"labels": {"dry": "yes"}}}, dry_run="All")
    assert dry.metadata.labels["dry"] == "yes"
    after = v1.read_namespaced_pod("web-2", "default")
    assert "dry" not in after.metadata.labels
    assert after.metadata.resource_version == before.metadata.resource_version
    # strategic merge: containers merge by name, so the image stays and the limit changes
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "db", "resources": {"limits": {"memory": "2Gi"}}}]}},
            "replicas": 2,
        }
    }
    sts = apps.patch_namespaced_stateful_set("db", "default", patch)
    container = sts.spec.template.spec.containers[0]
    assert container.image == "postgres:16" and container.resources.limits["memory"] == "2Gi"
    assert sts.spec.replicas == 2 and sts.metadata.generation == 2
    # JSON patch (the client sends a list body as application/json-patch+json)
    v1.patch_namespaced_pod("web-2", "default", [{"op": "add", "path": "/metadata/labels/jp", "value": "1"}])
    assert v1.read_namespaced_pod("web-2", "default").metadata.labels["jp"] == "1"


def test_invalid_updates_are_refused_like_the_api_server(mini: RunningSim) -> None:
    apps = client.AppsV1Api(api(mini))
    v1 = client.CoreV1Api(api(mini))
    grow = {
        "spec": {
            "volumeClaimTemplates": [
                {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "5Gi"}}}}
            ]
        }
    }
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_stateful_set("db", "default", grow, dry_run="All")
    assert err.value.status == 422 and "Forbidden" in err.value.body
    # A PVC can grow (its StorageClass allows expansion) but never shrink.
    pvc = v1.patch_namespaced_persistent_volume_claim(
        "data-db-0", "default", {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    )
    assert pvc.spec.resources.requests["storage"] == "5Gi"
    assert v1.read_namespaced_persistent_volume_claim("data-db-0", "default").status.capacity["storage"] == "5Gi"
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_persistent_volume_claim(
            "data-db-0", "default", {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
        )
    assert err.value.status == 422


def test_delete_with_orphan_keeps_dependents(mini: RunningSim) -> None:
    apps = client.AppsV1Api(api(mini))
    v1 = client.CoreV1Api(api(mini))
    sts = apps.read_namespaced_stateful_set("db", "default")
    body = {
        "metadata": {
            "name": "db-0",
            "labels": {"app": "db"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": "db",
                    "uid": sts.metadata.uid,
                    "controller": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
    }
    v1.create_namespaced_pod("default", body)  # type: ignore[arg-type]  # the client takes plain dicts too
    apps.delete_namespaced_stateful_set("db", "default", propagation_policy="Orphan")
    pod = v1.read_namespaced_pod("db-0", "default")
    assert not pod.metadata.owner_references


def test_logs_current_previous_and_tail(mini: RunningSim) -> None:
    v1 = client.CoreV1Api(api(mini))
    assert v1.read_namespaced_pod_log("web-1", "default") == "line1\nline2\nline3\n"
    assert v1.read_namespaced_pod_log("web-1", "default", previous=True) == "boom 1\nboom 2\nKilled\n"
    assert v1.read_namespaced_pod_log("web-1", "default", previous=True, tail_lines=1) == "Killed\n"
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod_log("web-2", "default", previous=True)
    assert err.value.status == 400 and "previous terminated container" in err.value.body


def test_events_served_under_both_groups(mini: RunningSim) -> None:
    ev = client.EventsV1Api(api(mini)).list_namespaced_event("default", field_selector="regarding.name=web-1")
    assert [e.reason for e in ev.items] == ["BackOff"]
    assert ev.items[0].note.startswith("Back-off restarting failed container")
    assert ev.items[0].deprecated_count == 12


def test_custom_resources_from_crd(mini: RunningSim) -> None:
    objs = client.CustomObjectsApi(api(mini)).list_namespaced_custom_object(
        "monitoring.coreos.com", "v1", "default", "servicemonitors"
    )
    assert [o["metadata"]["name"] for o in objs["items"]] == ["web"]


def test_metrics_api_absent_without_apiservice(mini: RunningSim) -> None:
    with pytest.raises(ApiException) as err:
        client.CustomObjectsApi(api(mini)).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")
    assert err.value.status == 404


@pytest.mark.parametrize(
    "path,method,code",
    [
        ("/api/v1/namespaces/default/widgets", "GET", 404),
        ("/apis/nope.example.com/v1/things", "GET", 404),
        ("/api/v1/namespaces/default/pods/nope", "GET", 404),
        ("/apis/metrics.k8s.io/v1beta1/pods", "GET", 404),
        ("/api/v1/nodes/node-1/log", "GET", 404),
        ("/api/v1/namespaces/default/pods/web-1", "POST", 405),
    ],
)
def test_unsupported_paths_answer_kubernetes_status(mini: RunningSim, path: str, method: str, code: int) -> None:
    req = urllib.request.Request(mini.url + path, method=method, data=b"{}" if method == "POST" else None)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    body = json.loads(err.value.read())
    assert err.value.code == code
    assert body["kind"] == "Status" and body["code"] == code and body["status"] == "Failure"


def test_request_counts_by_verb_and_resource(mini: RunningSim) -> None:
    mini.reset_stats()
    v1 = client.CoreV1Api(api(mini))
    v1.list_namespaced_pod("default")
    v1.read_namespaced_pod("web-1", "default")
    v1.read_namespaced_pod_log("web-1", "default")
    stats = mini.stats()
    assert stats["list pods"] == 1 and stats["get pods"] == 1 and stats["get pods/log"] == 1


def test_pods_by_node_follow_creates_and_deletes(mini: RunningSim) -> None:
    """``spec.nodeName=`` is answered from an index (as the API server's watch cache does); it must stay exact."""
    v1 = client.CoreV1Api(api(mini))
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "late", "namespace": "jobs"},
        "spec": {"nodeName": "node-2", "containers": [{"name": "c", "image": "busybox"}]},
    }
    v1.create_namespaced_pod("jobs", body)  # type: ignore[arg-type]
    assert [p.metadata.name for p in v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-2").items] == [
        "late"
    ]
    assert v1.list_namespaced_pod("default", field_selector="spec.nodeName=node-2").items == []
    assert {
        p.metadata.name for p in v1.list_namespaced_pod("default", field_selector="spec.nodeName=node-1").items
    } == {"web-1", "web-2"}
    v1.delete_namespaced_pod("late", "jobs")
    assert v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-2").items == []
    assert {p.metadata.name for p in v1.list_pod_for_all_namespaces(field_selector="spec.nodeName!=node-2").items} == {
        "web-1",
        "web-2",
        "batch-1",
    }
