"""Objects for the change tests: a Deployment with its ReplicaSet history, managedFields, a failing pod, its
events, a ConfigMap and a Secret. Times are fixed (the snapshot's clock is its newest event)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

Obj = dict[str, Any]
NS = "app"
UID = "d-uid-1"
SECRET_PLAIN = "hunter2-plaintext-value"
ENV_OLD = "tok-old-plaintext"
ENV_NEW = "tok-new-plaintext"


def managed(manager: str, time: str, fields: Obj, operation: str = "Update", subresource: str = "") -> Obj:
    entry = {"manager": manager, "operation": operation, "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def container(image: str, memory: str, token: str) -> Obj:
    return {
        "name": "web",
        "image": image,
        "env": [
            {"name": "API_TOKEN", "value": token},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-creds", "key": "password"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "web-config"}}],
        "resources": {"limits": {"memory": memory}, "requests": {"memory": "128Mi"}},
    }


def template(image: str, memory: str, token: str, hash_: str) -> Obj:
    return {
        "metadata": {"labels": {"app": "web", "pod-template-hash": hash_}},
        "spec": {"containers": [container(image, memory, token)]},
    }


def replicaset(name: str, rev: int, created: str, tmpl: Obj, cause: str = "") -> Obj:
    annotations = {"deployment.kubernetes.io/revision": str(rev)}
    if cause:
        annotations["kubernetes.io/change-cause"] = cause
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"rs-{name}",
            "creationTimestamp": created,
            "labels": tmpl["metadata"]["labels"],
            "annotations": annotations,
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": UID, "controller": True}
            ],
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": tmpl["metadata"]["labels"]}, "template": tmpl},
        "status": {"replicas": 1},
    }


def event(name: str, kind: str, obj: str, reason: str, message: str, first: str, type_: str = "Warning") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": NS},
        "involvedObject": {"kind": kind, "name": obj, "namespace": NS},
        "reason": reason,
        "message": message,
        "type": type_,
        "firstTimestamp": first,
        "lastTimestamp": first,
        "count": 1,
        "source": {"component": "kubelet"},
    }


def cluster(case: str) -> list[Obj]:
    """``image``: an image typo rolled out, then ImagePullBackOff; ``memory``: the memory limit lowered, then OOM
    kills; ``config``: a ConfigMap key removed, then CreateContainerConfigError. Each has a decoy: a label edit on
    the Deployment closer to the onset than the real cause, and a literal env value changed in the same rollout."""
    old_image, new_image = "registry.example/web:1.4.0", "registry.example/web:1.4.0"
    old_mem, new_mem = "512Mi", "512Mi"
    if case == "image":
        new_image = "registry.example/web:1.5.0x"
    if case == "memory":
        new_mem = "256Mi"
    old_t = template(old_image, old_mem, ENV_OLD, "aaa111")
    new_t = template(new_image, new_mem, ENV_NEW, "bbb222")
    rollout, decoy, onset = "2024-06-14T09:40:00Z", "2024-06-14T09:41:00Z", "2024-06-14T09:41:30Z"
    field = {"image": "f:image", "memory": "f:resources"}.get(case, "f:env")
    image_path: Obj = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {field: {}}}}}}}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": NS,
            "uid": UID,
            "creationTimestamp": "2024-06-01T08:00:00Z",
            "generation": 3,
            "labels": {"app": "web", "team": "blue"},
            "annotations": {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "deploy 1.5"},
            "managedFields": [
                managed("kubectl-client-side-apply", "2024-06-01T08:00:00Z", {"f:spec": {"f:replicas": {}}}),
                managed("kubectl-set", rollout, image_path),
                managed("kubectl-label", decoy, {"f:metadata": {"f:labels": {"f:team": {}}}}),
                managed("kube-controller-manager", onset, {"f:status": {"f:replicas": {}}}, subresource="status"),
            ],
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": copy.deepcopy(new_t)},
        "status": {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 0, "unavailableReplicas": 1},
    }
    old_rs = replicaset("web-aaa111", 2, "2024-06-01T08:00:00Z", old_t)
    new_rs = replicaset("web-bbb222", 3, rollout, new_t, cause="deploy 1.5")
    waiting = {"image": ("ImagePullBackOff", "Back-off pulling image"), "memory": ("CrashLoopBackOff", "back-off")}
    reason, msg = waiting.get(
        case, ("CreateContainerConfigError", "couldn't find key FEATURE_X in ConfigMap app/web-config")
    )
    status: Obj = {
        "name": "web",
        "ready": False,
        "restartCount": 3 if case == "memory" else 0,
        "image": new_image,
        "state": {"waiting": {"reason": reason, "message": msg}},
    }
    if case == "memory":
        status["lastState"] = {
            "terminated": {
                "reason": "OOMKilled",
                "exitCode": 137,
                "startedAt": "2024-06-14T09:41:20Z",
                "finishedAt": onset,
            }
        }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-bbb222-x1",
            "namespace": NS,
            "uid": "pod-1",
            "creationTimestamp": "2024-06-14T09:40:01Z",
            "labels": {"app": "web", "pod-template-hash": "bbb222"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-bbb222",
                    "uid": "rs-web-bbb222",
                    "controller": True,
                }
            ],
        },
        "spec": {"nodeName": "node-1", "containers": [container(new_image, new_mem, ENV_NEW)]},
        "status": {
            "phase": "Pending" if case != "memory" else "Running",
            "conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": onset, "reason": "ContainersNotReady"}
            ],
            "containerStatuses": [status],
        },
    }
    config_time = "2024-06-14T09:39:00Z" if case == "config" else "2024-06-14T08:30:00Z"
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "web-config",
            "namespace": NS,
            "creationTimestamp": "2024-06-01T08:00:00Z",
            "managedFields": [managed("kubectl-edit", config_time, {"f:data": {"f:LOG_LEVEL": {}}})],
        },
        "data": {"LOG_LEVEL": "info"},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "web-creds",
            "namespace": NS,
            "creationTimestamp": "2024-06-01T08:00:00Z",
            "managedFields": [managed("kubectl-edit", "2024-06-14T09:20:00Z", {"f:data": {"f:password": {}}})],
        },
        "type": "Opaque",
        "data": {"password": base64.b64encode(SECRET_PLAIN.encode()).decode()},
    }
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "uid": "node-1", "creationTimestamp": "2024-06-01T08:00:00Z"},
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": "2024-06-01T08:00:00Z",
                    "reason": "KubeletReady",
                }
            ]
        },
    }
    events = [
        event("e1", "Pod", "web-bbb222-x1", "BackOff" if case != "config" else "Failed", msg, onset),
        event(
            "e2", "Deployment", "web", "ScalingReplicaSet", "Scaled up replica set web-bbb222 to 1", rollout, "Normal"
        ),
        event("e3", "Pod", "web-bbb222-x1", "Pulling", "Pulling image", "2024-06-14T09:50:00Z", "Normal"),
    ]
    return [deploy, old_rs, new_rs, pod, configmap, secret, node, *events]


def as_json(objects: list[Obj]) -> str:
    return json.dumps(objects)
