"""The kinds ``kubectl describe`` prints beyond a pod, node, PVC and Service, read back into the fields the
playbooks read: a workload's desired and current replicas, selector, pod template and conditions; a Job's and
CronJob's schedule and pod counts; an HPA's reference, min/max replicas, metrics and conditions; a PV's phase,
class and claim; an Ingress's class."""

from __future__ import annotations

import re
from typing import Any

Obj = dict[str, Any]


def _value(top: dict[str, Any], key: str) -> str:
    return str(top.get(key, ("", []))[0])


def _int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def _template(top: dict[str, Any], h: Any) -> Obj | None:
    if "Pod Template" not in top:
        return None
    body = top["Pod Template"][1]
    f = h.fields(body, h.child_indent(body))
    spec: Obj = {}
    if "Containers" in f:
        spec["containers"], _ = h.containers(f["Containers"][1])
    if "Init Containers" in f:
        spec["initContainers"], _ = h.containers(f["Init Containers"][1])
    if "Volumes" in f:
        spec["volumes"] = h.volumes(f["Volumes"][1])
    labels = h.labels(*f["Labels"]) if "Labels" in f else {}
    return {"metadata": {"labels": labels} if labels else {}, "spec": spec}


def _pods_status(text: str, status: Obj) -> None:
    """``1 Running / 0 Waiting / 0 Succeeded / 0 Failed`` (a ReplicaSet, StatefulSet, DaemonSet)."""
    running = _int(r"(\d+) Running", text)
    if running is not None:
        status["readyReplicas"] = running


def fill(kind: str, top: dict[str, Any], meta: Obj, spec: Obj, status: Obj, h: Any) -> None:
    selector_text = _value(top, "Selector")
    selector = h.labels(selector_text, []) if selector_text not in ("", "<none>") else {}
    owner = _value(top, "Controlled By")
    if "/" in owner:
        okind, oname = owner.split("/", 1)
        api = "batch/v1" if okind == "CronJob" else "apps/v1"
        meta["ownerReferences"] = [{"apiVersion": api, "kind": okind, "name": oname, "controller": True}]
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        if selector:
            spec["selector"] = {"matchLabels": selector}
        template = _template(top, h)
        if template is not None:
            spec["template"] = template
    if "Conditions" in top and kind != "HorizontalPodAutoscaler":
        status["conditions"] = h.conditions(top["Conditions"][1])
    replicas = _value(top, "Replicas")
    if kind == "Deployment":
        # "1 desired | 1 updated | 1 total | 0 available | 1 unavailable"
        for word, field in (
            ("desired", None),
            ("updated", "updatedReplicas"),
            ("total", "replicas"),
            ("available", "availableReplicas"),
            ("unavailable", "unavailableReplicas"),
        ):
            n = _int(rf"(\d+) {word}\b", replicas)
            if n is None:
                continue
            if field is None:
                spec["replicas"] = n
            else:
                status[field] = n
        if "availableReplicas" in status:
            status["readyReplicas"] = status["availableReplicas"]
        strategy = _value(top, "StrategyType")
        if strategy:
            spec["strategy"] = {"type": strategy}
    elif kind in ("ReplicaSet", "StatefulSet"):
        # A ReplicaSet's "1 current / 1 desired", a StatefulSet's "1 desired | 1 total"
        desired, current = _int(r"(\d+) desired", replicas), _int(r"(\d+) (?:current|total)", replicas)
        if desired is not None:
            spec["replicas"] = desired
        if current is not None:
            status["replicas"] = current
        _pods_status(_value(top, "Pods Status"), status)
    elif kind == "DaemonSet":
        for key, field in (
            ("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
            ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
            ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
            ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
            ("Number of Nodes Misscheduled", "numberMisscheduled"),
        ):
            n = _int(r"(\d+)", _value(top, key))
            if n is not None:
                status[field] = n
        ready = _int(r"(\d+) Running", _value(top, "Pods Status"))
        if ready is not None:
            status["numberReady"] = ready
    elif kind == "Job":
        for key, field in (("Parallelism", "parallelism"), ("Completions", "completions")):
            n = _int(r"^(\d+)", _value(top, key))
            if n is not None:
                spec[field] = n
        counts = _value(top, "Pods Statuses")
        for word, field in (("Active", "active"), ("Succeeded", "succeeded"), ("Failed", "failed")):
            n = _int(rf"(\d+) {word}", counts)
            if n:
                status[field] = n
    elif kind == "CronJob":
        spec["schedule"] = _value(top, "Schedule")
        spec["suspend"] = _value(top, "Suspend") == "True"
        if _value(top, "Concurrency Policy"):
            spec["concurrencyPolicy"] = _value(top, "Concurrency Policy")
    elif kind == "HorizontalPodAutoscaler":
        _hpa(top, spec, status, h)
    elif kind == "PersistentVolume":
        for key, field in (("StorageClass", "storageClassName"), ("Reclaim Policy", "persistentVolumeReclaimPolicy")):
            if _value(top, key):
                spec[field] = _value(top, key)
        claim = _value(top, "Claim")
        if "/" in claim:
            ns, name = claim.split("/", 1)
            spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name}
        capacity = _value(top, "Capacity")
        if capacity:
            spec["capacity"] = {"storage": capacity}
        if _value(top, "Status"):
            status["phase"] = _value(top, "Status")
    elif kind == "Ingress":
        cls = _value(top, "Ingress Class")
        if cls and cls != "<none>":
            spec["ingressClassName"] = cls
        address = _value(top, "Address")
        if address:
            status["loadBalancer"] = {"ingress": [{"ip": a.strip()} for a in address.split(",") if a.strip()]}


def _hpa(top: dict[str, Any], spec: Obj, status: Obj, h: Any) -> None:
    ref = _value(top, "Reference")
    if "/" in ref:
        kind, name = ref.split("/", 1)
        spec["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": kind, "name": name}
    for key, field in (("Min replicas", "minReplicas"), ("Max replicas", "maxReplicas")):
        n = _int(r"(\d+)", _value(top, key))
        if n is not None:
            spec[field] = n
    for key, (text, _) in top.items():
        if key.endswith(" pods"):  # "Deployment pods:  1 current / 0 desired"
            have, want = _int(r"(\d+) current", text), _int(r"(\d+) desired", text)
            if have is not None:
                status["currentReplicas"] = have
            if want is not None:
                status["desiredReplicas"] = want
    metrics: list[Obj] = []
    current: list[Obj] = []
    for ln in top.get("Metrics", ("", []))[1]:
        # "resource cpu on pods  (as a percentage of request):  <unknown> / 50%"
        m = re.match(r"resource (\S+) on pods\s*(\(as a percentage of request\))?:\s*(\S+)\s*/\s*(\S+)", ln.text)
        if not m:
            continue
        name, pct, now, target = m.groups()
        if pct:
            spec_target: Obj = {"type": "Utilization", "averageUtilization": int(target.rstrip("%") or 0)}
        else:
            spec_target = {"type": "AverageValue", "averageValue": target}
        metrics.append({"type": "Resource", "resource": {"name": name, "target": spec_target}})
        if now != "<unknown>":
            amount = now.split("(")[0].strip().rstrip("%")
            cur: Obj = {"averageUtilization": int(amount)} if pct and amount.isdigit() else {"averageValue": amount}
            current.append({"type": "Resource", "resource": {"name": name, "current": cur}})
    if metrics:
        spec["metrics"] = metrics
    if current:
        status["currentMetrics"] = current
    if "Conditions" in top:
        status["conditions"] = h.conditions(top["Conditions"][1])
