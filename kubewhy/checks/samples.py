"""Typed sample values, so a playbook's templates can be type-checked when it loads, before any cluster exists.

A template such as ``of: "{{ target.metadata.name }}"`` is evaluated on a skeleton of each kind the playbook
applies to (string names, maps for labels, empty lists) and on samples of the facts earlier checks declare
(:attr:`CheckDef.result`). If it yields a value of the wrong shape for the parameter, the playbook is refused
with its file and line; if the skeleton lacks a field the template reads, nothing can be concluded and the
value is checked again when the check runs.
"""

from __future__ import annotations

from typing import Any

from .registry import Shape

_CONTAINERS: dict[str, Any] = {"containers": [], "initContainers": [], "volumes": []}
_WORKLOAD: dict[str, Any] = {
    "replicas": 0,
    "selector": {"matchLabels": {}},
    "template": {"metadata": {"labels": {}, "annotations": {}}, "spec": dict(_CONTAINERS)},
}
_SPECS: dict[str, dict[str, Any]] = {
    "Pod": {"nodeName": "", "serviceAccountName": "", **_CONTAINERS},
    "Deployment": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "Service": {"type": "", "clusterIP": "", "selector": {}, "ports": []},
    "PersistentVolumeClaim": {"accessModes": [], "storageClassName": "", "volumeName": ""},
    "Node": {"taints": []},
}
_STATUSES: dict[str, dict[str, Any]] = {
    "Pod": {"phase": "", "reason": "", "conditions": [], "containerStatuses": [], "initContainerStatuses": []},
    "PersistentVolumeClaim": {"phase": ""},
    "Node": {"conditions": [], "capacity": {}, "allocatable": {}},
}


def skeleton(kind: str = "") -> dict[str, Any]:
    """An object of a kind with every commonly read field present and typed, and nothing else."""
    return {
        "apiVersion": "",
        "kind": kind,
        "metadata": {
            "name": "",
            "namespace": "",
            "uid": "",
            "labels": {},
            "annotations": {},
            "ownerReferences": [],
            "creationTimestamp": "",
            "resourceVersion": "",
        },
        "spec": dict(_SPECS.get(kind, {})),
        "status": dict(_STATUSES.get(kind, {"conditions": []})),
    }


def sample(shape: Shape) -> Any:
    """A value of a declared result shape (a list holds one sample element)."""
    if isinstance(shape, list):
        return [sample(s) for s in shape]
    if isinstance(shape, dict):
        return {k: sample(v) for k, v in shape.items()}
    if shape == "object" or shape.startswith("object:"):
        return skeleton(shape.partition(":")[2])
    return {"string": "", "int": 0, "number": 0.0, "bool": False}[shape]
