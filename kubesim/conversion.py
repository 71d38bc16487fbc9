"""Kinds stored once and served under several versions, converted on the way in and out, as a real API server does.

HorizontalPodAutoscalers are stored as autoscaling/v2 and also served as autoscaling/v1 (kubectl 1.27-1.32
``autoscale`` creates v1). v1 has one target, ``targetCPUUtilizationPercentage``, which is v2's CPU
``Utilization`` resource metric; the other v2 metrics, the current metrics, the conditions and the behavior
travel in the ``autoscaling.alpha.kubernetes.io/*`` annotations in v1's own (v2beta1-shaped) metric form, so a
v2 object read and written back as v1 loses nothing. core/v1 and events.k8s.io/v1 Events are the other such
kind (kubesim/events.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from . import events
from .resources import Resource

Obj = dict[str, Any]
PREFIX = "autoscaling.alpha.kubernetes.io/"
METRICS, CURRENT, CONDITIONS, BEHAVIOR = (PREFIX + s for s in ("metrics", "current-metrics", "conditions", "behavior"))


def to_storage(res: Resource, obj: Obj) -> Obj:
    """A body the client sent in res's version, in the version it is stored in."""
    if res.group == "events.k8s.io":
        return events.to_core(obj)
    if (res.group, res.version) == ("autoscaling", "v1") and obj.get("apiVersion") != "autoscaling/v2":
        return hpa_to_v2(obj)
    return obj


def view(res: Resource) -> Callable[[Obj], Obj] | None:
    """How a stored object reads in res's version, or None where it is stored in that version."""
    if res.group == "events.k8s.io":
        return events.to_events_v1
    if (res.group, res.version) == ("autoscaling", "v1"):
        return hpa_to_v1
    return None


# ---- autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler ------------------------------------------------
def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return (
        metric.get("type") == "Resource"
        and resource.get("name") == "cpu"
        and (resource.get("target") or {}).get("type") == "Utilization"
    )


def _drop_none(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if v is not None}


# Per metric type, each v2 MetricTarget/MetricValueStatus field and its v1 (v2beta1-shaped) name; "{}" is
# "target" in a spec and "current" in a status.
_V1_NAMES = {
    "Resource": {"averageUtilization": "{}AverageUtilization", "averageValue": "{}AverageValue"},
    "ContainerResource": {"averageUtilization": "{}AverageUtilization", "averageValue": "{}AverageValue"},
    "Pods": {"averageValue": "{}AverageValue"},
    "Object": {"value": "{}Value", "averageValue": "averageValue"},
    "External": {"value": "{}Value", "averageValue": "{}AverageValue"},
}


def _source(m: Obj) -> tuple[str, str, Obj]:
    kind = str(m.get("type", ""))
    key = kind[:1].lower() + kind[1:]
    return kind, key, m.get(key) or {}


def _metric_to_v1(m: Obj, values_key: str) -> Obj:
    """A v2 MetricSpec (values_key "target") or MetricStatus ("current") in v1's form."""
    kind, key, src = _source(m)
    metric = src.get("metric") or {}
    if kind in ("Resource", "ContainerResource"):
        body = {"name": src.get("name"), "container": src.get("container")}
    else:
        body = {
            "metricName": metric.get("name"),
            "metricSelector" if kind == "External" else "selector": metric.get("selector"),
        }
    if kind == "Object":
        body["target"] = src.get("describedObject")
    values = src.get(values_key) or {}
    for v2_name, v1_name in _V1_NAMES.get(kind, {}).items():
        body[v1_name.format(values_key)] = values.get(v2_name)
    return {"type": kind, key: _drop_none(body)}


def _metric_to_v2(m: Obj, values_key: str) -> Obj:
    """A v1 metric spec (values_key "target") or status ("current") in v2's form."""
    kind, key, src = _source(m)
    body: Obj = {}
    if kind in ("Resource", "ContainerResource"):
        body = _drop_none({"name": src.get("name"), "container": src.get("container")})
    else:
        body["metric"] = _drop_none(
            {"name": src.get("metricName"), "selector": src.get("metricSelector" if kind == "External" else "selector")}
        )
    if kind == "Object":
        body["describedObject"] = src.get("target")
    values = _drop_none(
        {v2_name: src.get(v1_name.format(values_key)) for v2_name, v1_name in _V1_NAMES.get(kind, {}).items()}
    )
    if values_key == "target":
        values["type"] = next(
            (t for f, t in (("averageUtilization", "Utilization"), ("averageValue", "AverageValue")) if f in values),
            "Value",
        )
    body[values_key] = values
    return {"type": kind, key: body}


def hpa_to_v1(obj: Obj) -> Obj:
    """A stored autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 reads it."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    meta = copy.deepcopy(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    metrics = spec.get("metrics") or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    others = [_metric_to_v1(m, "target") for m in metrics if m is not cpu]
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    if spec.get("behavior"):
        annotations[BEHAVIOR] = json.dumps(spec["behavior"], separators=(",", ":"))
    out_spec = _drop_none(
        {
            "scaleTargetRef": spec.get("scaleTargetRef"),
            "minReplicas": spec.get("minReplicas"),
            "maxReplicas": spec.get("maxReplicas"),
            "targetCPUUtilizationPercentage": cpu and cpu["resource"]["target"].get("averageUtilization"),
        }
    )
    out: Obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": out_spec}
    if status is not None:
        current = status.get("currentMetrics") or []
        cpu_now = next(
            (
                m
                for m in current
                if (m.get("resource") or {}).get("name") == "cpu"
                and m.get("type") == "Resource"
                and (m["resource"].get("current") or {}).get("averageUtilization") is not None
            ),
            None,
        )
        rest = [_metric_to_v1(m, "current") for m in current if m is not cpu_now]
        if rest:
            annotations[CURRENT] = json.dumps(rest, separators=(",", ":"))
        if status.get("conditions"):
            annotations[CONDITIONS] = json.dumps(status["conditions"], separators=(",", ":"))
        out["status"] = _drop_none(
            {
                "observedGeneration": status.get("observedGeneration"),
                "lastScaleTime": status.get("lastScaleTime"),
                "currentReplicas": status.get("currentReplicas", 0),
                "desiredReplicas": status.get("desiredReplicas", 0),
                "currentCPUUtilizationPercentage": cpu_now and cpu_now["resource"]["current"]["averageUtilization"],
            }
        )
    if annotations:
        meta["annotations"] = annotations
    return out


def hpa_to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler in the autoscaling/v2 form it is stored in."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    meta = copy.deepcopy(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    metrics = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]},
                },
            }
        )
    metrics += [_metric_to_v2(m, "target") for m in _pop_json(annotations, METRICS, list) or []]
    out_spec = _drop_none(
        {
            "scaleTargetRef": spec.get("scaleTargetRef"),
            "minReplicas": spec.get("minReplicas"),
            "maxReplicas": spec.get("maxReplicas"),
            "metrics": metrics or None,
            "behavior": _pop_json(annotations, BEHAVIOR, dict),
        }
    )
    out: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": out_spec}
    current = _pop_json(annotations, CURRENT, list)
    conditions = _pop_json(annotations, CONDITIONS, list)
    if status is not None:
        now = []
        if status.get("currentCPUUtilizationPercentage") is not None:
            now.append(
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]},
                    },
                }
            )
        now += [_metric_to_v2(m, "current") for m in current or []]
        out["status"] = _drop_none(
            {
                "observedGeneration": status.get("observedGeneration"),
                "lastScaleTime": status.get("lastScaleTime"),
                "currentReplicas": status.get("currentReplicas", 0),
                "desiredReplicas": status.get("desiredReplicas", 0),
                "currentMetrics": now or None,
                "conditions": conditions or None,
            }
        )
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out


def _pop_json(annotations: dict[str, str], key: str, shape: type) -> Any:
    """Pop a JSON annotation of the given shape (an unreadable one is dropped, as the API server's conversion
    does); None where there is none."""
    raw = annotations.pop(key, None)
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, shape) else None
