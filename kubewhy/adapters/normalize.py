"""Old API versions in the shape of today's, at the adapter, so playbooks are written once.

* ``autoscaling/v1`` HorizontalPodAutoscaler: its conditions and current metrics live in the
  ``autoscaling.alpha.kubernetes.io/conditions`` / ``…/current-metrics`` annotations and its CPU target in
  ``spec.targetCPUUtilizationPercentage``; they become ``status.conditions``, ``status.currentMetrics`` and
  ``spec.metrics`` as in ``autoscaling/v2`` (``v2beta1`` metric targets too).
* ``extensions/v1beta1``, ``apps/v1beta1``, ``apps/v1beta2`` workloads become ``apps/v1`` (a missing selector
  defaults to the template's labels, as those versions did).
* ``extensions/v1beta1`` and ``networking.k8s.io/v1beta1`` Ingress backends (``serviceName``/``servicePort``)
  become ``networking.k8s.io/v1`` backends.
* ``batch/v1beta1`` CronJob, ``policy/v1beta1`` PodDisruptionBudget: the v1 group versions.
* ``events.k8s.io/v1`` Events get the core fields (``involvedObject``, ``message``, ``count``,
  ``lastTimestamp``) that the checks read.

The input is never changed; a new object is returned when something is normalised.
"""

from __future__ import annotations

import copy
import json
from typing import Any

Obj = dict[str, Any]
_HPA_ANNOTATIONS = "autoscaling.alpha.kubernetes.io/"
_WORKLOADS = ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet")


def _annotation_list(meta: Obj, key: str) -> list[Any] | None:
    raw = (meta.get("annotations") or {}).get(_HPA_ANNOTATIONS + key)
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _v2beta1_metric(metric: Any) -> Any:
    """A ``v2beta1`` metric (``targetAverageUtilization``) in the ``v2`` shape (``target.averageUtilization``)."""
    if not isinstance(metric, dict) or metric.get("type") != "Resource":
        return metric
    resource = metric.get("resource") or {}
    if "target" in resource or not isinstance(resource, dict):
        return metric
    target: Obj = {}
    if "targetAverageUtilization" in resource:
        target = {"type": "Utilization", "averageUtilization": resource["targetAverageUtilization"]}
    elif "targetAverageValue" in resource:
        target = {"type": "AverageValue", "averageValue": resource["targetAverageValue"]}
    return {**metric, "resource": {"name": resource.get("name"), "target": target}}


def _hpa(obj: Obj) -> Obj:
    version = obj.get("apiVersion", "")
    if version not in ("autoscaling/v1", "autoscaling/v2beta1", "autoscaling/v2beta2"):
        return obj
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    meta = out.setdefault("metadata", {})
    spec = out.setdefault("spec", {}) if isinstance(out.get("spec"), dict) else out.setdefault("spec", {})
    status = out["status"] if isinstance(out.get("status"), dict) else {}
    if version == "autoscaling/v1":
        conditions = _annotation_list(meta, "conditions")
        if conditions is not None and not status.get("conditions"):
            status["conditions"] = conditions
        current = _annotation_list(meta, "current-metrics")
        if current is not None and not status.get("currentMetrics"):
            status["currentMetrics"] = current
        metrics = _annotation_list(meta, "metrics") or []
        if "targetCPUUtilizationPercentage" in spec:
            metrics = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": spec.pop("targetCPUUtilizationPercentage"),
                        },
                    },
                },
                *metrics,
            ]
        if metrics and not spec.get("metrics"):
            spec["metrics"] = metrics
        if "currentCPUUtilizationPercentage" in status and not status.get("currentMetrics"):
            status["currentMetrics"] = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]},
                    },
                }
            ]
    spec["metrics"] = [_v2beta1_metric(m) for m in spec.get("metrics") or []]
    if status:
        out["status"] = status
    return out


def _workload(obj: Obj) -> Obj:
    if obj.get("apiVersion") not in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"):
        return obj
    out = copy.deepcopy(obj)
    out["apiVersion"] = "apps/v1"
    spec = out.get("spec")
    if isinstance(spec, dict) and not spec.get("selector"):
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if isinstance(labels, dict) and labels:
            spec["selector"] = {"matchLabels": dict(labels)}
    return out


def _backend(old: Any) -> Any:
    if not isinstance(old, dict) or "serviceName" not in old:
        return old
    port = old.get("servicePort")
    return {
        "service": {
            "name": old["serviceName"],
            "port": {"number": port} if isinstance(port, int) else {"name": str(port)},
        }
    }


def _ingress(obj: Obj) -> Obj:
    if obj.get("apiVersion") not in ("extensions/v1beta1", "networking.k8s.io/v1beta1"):
        return obj
    out = copy.deepcopy(obj)
    out["apiVersion"] = "networking.k8s.io/v1"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    if "backend" in spec:
        spec["defaultBackend"] = _backend(spec.pop("backend"))
    for rule in spec.get("rules") or []:
        for path in ((rule or {}).get("http") or {}).get("paths") or []:
            if isinstance(path, dict) and "backend" in path:
                path["backend"] = _backend(path["backend"])
                path.setdefault("pathType", "ImplementationSpecific")
    return out


def _event(obj: Obj) -> Obj:
    if obj.get("apiVersion") != "events.k8s.io/v1" and not ("regarding" in obj and "involvedObject" not in obj):
        return obj
    out = dict(obj)
    out.setdefault("involvedObject", obj.get("regarding") or {})
    out.setdefault("message", obj.get("note", ""))
    raw_series = obj.get("series")
    series: Obj = raw_series if isinstance(raw_series, dict) else {}
    out.setdefault("count", series.get("count") or obj.get("deprecatedCount") or 1)
    last = series.get("lastObservedTime") or obj.get("deprecatedLastTimestamp") or obj.get("eventTime")
    if last:
        out.setdefault("lastTimestamp", last)
    first = obj.get("deprecatedFirstTimestamp") or obj.get("eventTime")
    if first:
        out.setdefault("firstTimestamp", first)
    return out


_GROUP_RENAMES = {
    ("CronJob", "batch/v1beta1"): "batch/v1",
    ("CronJob", "batch/v2alpha1"): "batch/v1",
    ("PodDisruptionBudget", "policy/v1beta1"): "policy/v1",
}


# Where the API puts a map ("{}") or a list of maps ("[]"); "*" is every item of a list. A part of another type
# (an object typed by hand, a damaged snapshot, a pasted fragment) is dropped here, so no check meets it.
_SHAPE: dict[str, Any] = {
    "metadata": {"labels": "{}", "annotations": "{}", "ownerReferences": "[]"},
    "spec": {"containers": "[]", "initContainers": "[]", "volumes": "[]", "template": "{}", "selector": "{}"},
    "status": {
        "conditions": "[]",
        "containerStatuses": {
            "*": {
                "state": {"waiting": "{}", "terminated": "{}", "running": "{}"},
                "lastState": {"waiting": "{}", "terminated": "{}", "running": "{}"},
            }
        },
        "initContainerStatuses": {"*": {"state": "{}", "lastState": "{}"}},
    },
}


def _shaped(value: Any, shape: Any) -> tuple[Any, bool]:
    """``value`` with every part of the wrong type dropped, and whether anything was."""
    if shape == "{}":
        return (value, False) if isinstance(value, dict) else ({}, True)
    if shape == "[]":
        if not isinstance(value, list):
            return [], True
        kept = [v for v in value if isinstance(v, dict)]
        return kept, len(kept) != len(value)
    if "*" in shape:
        if not isinstance(value, list):
            return [], True
        items = [_shaped(v, shape["*"]) for v in value if isinstance(v, dict)]
        return [v for v, _ in items], len(items) != len(value) or any(c for _, c in items)
    if not isinstance(value, dict):
        return {}, True
    out, changed = dict(value), False
    for key, sub in shape.items():
        if key in out:
            out[key], c = _shaped(out[key], sub)
            changed = changed or c
    return out, changed


def well_typed(obj: Obj) -> Obj:
    """``obj`` with the parts checks read as maps and lists guaranteed to be maps and lists of maps."""
    shaped, changed = _shaped(obj, _SHAPE)
    return shaped if changed else obj


def normalize(obj: Obj) -> Obj:
    """The object in today's API shape (see the module docstring); the same object when nothing is old."""
    obj = well_typed(obj)
    kind = obj.get("kind")
    if kind == "HorizontalPodAutoscaler":
        return _hpa(obj)
    if kind in _WORKLOADS:
        return _workload(obj)
    if kind == "Ingress":
        return _ingress(obj)
    if kind == "Event":
        return _event(obj)
    renamed = _GROUP_RENAMES.get((str(kind), str(obj.get("apiVersion", ""))))
    if renamed:
        return {**obj, "apiVersion": renamed}
    return obj
