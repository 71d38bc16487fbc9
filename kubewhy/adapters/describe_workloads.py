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
        if "desiredNumberScheduled" in status and "numberAvailable" in status:
            # not printed: the DaemonSet controller stores desired - available (pkg/controller/daemon)
            status["numberUnavailable"] = max(0, status["desiredNumberScheduled"] - status["numberAvailable"])
    elif kind == "Job":
        for key, field in (
            ("Parallelism", "parallelism"),
            ("Completions", "completions"),
            ("Backoff Limit", "backoffLimit"),
            ("Active Deadline Seconds", "activeDeadlineSeconds"),
        ):
            n = _int(r"^(\d+)", _value(top, key))
            if n is not None:
                spec[field] = n
        if _value(top, "Suspend") in ("true", "True"):
            spec["suspend"] = True
        for key, field in (("Start Time", "startTime"), ("Completed At", "completionTime")):
            t = h.time(_value(top, key))
            if t:
                status[field] = h.iso(t)
        # "1 Active (0 Ready) / 0 Succeeded / 3 Failed"; before kubectl 1.23 the active count read "1 Running"
        counts = _value(top, "Pods Statuses")
        for word, field in (("(?:Active|Running)", "active"), ("Succeeded", "succeeded"), ("Failed", "failed")):
            n = _int(rf"(\d+) {word}", counts)
            if n:
                status[field] = n
        ready = _int(r"\((\d+) Ready\)", counts)
        if ready is not None:
            status["ready"] = ready
    elif kind == "CronJob":
        spec["schedule"] = _value(top, "Schedule")
        spec["suspend"] = _value(top, "Suspend") == "True"
        if _value(top, "Concurrency Policy"):
            spec["concurrencyPolicy"] = _value(top, "Concurrency Policy")
        last = h.time(_value(top, "Last Schedule Time"))
        if last:
            status["lastScheduleTime"] = h.iso(last)
        active = [j.strip() for j in _value(top, "Active Jobs").split(",") if j.strip() and j.strip() != "<none>"]
        if active:
            status["active"] = [
                {"kind": "Job", "name": j, "namespace": meta.get("namespace", "default")} for j in active
            ]
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
        default = _backend(_value(top, "Default backend"))
        # kubectl before 1.24 prints kube-system's "default-http-backend:80" for an Ingress without one
        if default and default["service"]["name"] != "default-http-backend":
            spec["defaultBackend"] = default
        rules = _rules(top.get("Rules", ("", []))[1])
        if rules:
            spec["rules"] = rules


def _backend(text: str) -> Obj | None:
    """``web:80 (10.0.0.5:8080)``, ``web:http (<error: endpoints "web" not found>)`` or kubectl 1.19's
    ``web:80   10.0.0.5:8080)`` as an Ingress backend; ``<default>`` and resource backends are none."""
    m = re.match(r"([a-z0-9][a-z0-9.-]*):([\w-]+)(?:\s|$)", text.strip())
    if not m:
        return None
    port: Obj = {"number": int(m.group(2))} if m.group(2).isdigit() else {"name": m.group(2)}
    return {"service": {"name": m.group(1), "port": port}}


def _rules(lines: list[Any]) -> list[Obj]:
    """The ``Rules`` table (``Host  Path  Backends``): a host line, then one line per path and its backend."""
    rules: list[Obj] = []
    for ln in lines:
        words = ln.text.split()
        if not words or words[0] in ("Host", "----") or set(ln.text) <= set("- "):
            continue
        if len(words) == 1 and not words[0].startswith("/"):
            rules.append({"host": words[0]} if words[0] != "*" else {})
            continue
        path, rest = (words[0], ln.text.split(None, 1)[1]) if words[0].startswith("/") else ("/", ln.text)
        backend = _backend(rest)
        if backend is None:
            continue
        if not rules:
            rules.append({})
        paths = rules[-1].setdefault("http", {}).setdefault("paths", [])
        paths.append({"path": path, "pathType": "ImplementationSpecific", "backend": backend})
    return [r for r in rules if r.get("http")]


def subsets(lines: list[Any]) -> list[Obj]:
    """An Endpoints describe's ``Subsets``: per subset ``Addresses``, ``NotReadyAddresses`` and a ports table
    (``Name  Port  Protocol``); ``<none>`` lists nothing and a subset with no address at all is dropped."""
    out: list[Obj] = []
    for ln in lines:
        m = re.match(r"(Addresses|NotReadyAddresses):\s*(.*)$", ln.text)
        if m:
            if m.group(1) == "Addresses" or not out:
                out.append({})
            ips = [a.strip() for a in m.group(2).split(",") if a.strip() and a.strip() != "<none>"]
            if ips:
                key = "addresses" if m.group(1) == "Addresses" else "notReadyAddresses"
                out[-1][key] = [{"ip": ip} for ip in ips]
            continue
        row = re.match(r"(\S+)\s+(\d+)\s+(TCP|UDP|SCTP)\b", ln.text)
        if row and out:
            port: Obj = {"port": int(row.group(2)), "protocol": row.group(3)}
            if row.group(1) != "<unset>":
                port["name"] = row.group(1)
            out[-1].setdefault("ports", []).append(port)
    return [s for s in out if s.get("addresses") or s.get("notReadyAddresses")]


def _quantity(text: str) -> str:
    return text.split("(")[0].strip().rstrip("%")


def _metric(line: str) -> tuple[Obj, Obj | None] | None:
    """One ``Metrics`` line of an HPA describe as (the spec metric, its current value or None when ``<unknown>``):
    a resource (``resource cpu on pods  (as a percentage of request):  <unknown> / 50%``, or ``… on pods:  1Gi /
    500Mi``), a container resource (kubectl 1.20+), a pods, object or external metric."""
    m = re.match(
        r'resource (\S+)(?: of container "([^"]+)")? on pods\s*(\(as a percentage of request\))?:\s*(.+?)\s*/\s*(\S+)$',
        line,
    )
    if m:
        name, container, pct, now, target = m.groups()
        kind, field = ("ContainerResource", "containerResource") if container else ("Resource", "resource")
        goal: Obj = (
            {"type": "Utilization", "averageUtilization": int(target.rstrip("%"))}
            if pct and target.rstrip("%").isdigit()
            else {"type": "AverageValue", "averageValue": target}
        )
        body: Obj = {"name": name, "target": goal, **({"container": container} if container else {})}
        if now.startswith("<unknown>"):
            return {"type": kind, field: body}, None
        amount = _quantity(now)
        cur: Obj = {"averageUtilization": int(amount)} if pct and amount.isdigit() else {"averageValue": amount}
        return {"type": kind, field: body}, {"type": kind, field: {"name": name, "current": cur}}
    m = re.match(r'"([^"]+)" on pods:\s*(.+?)\s*/\s*(\S+)$', line)
    if m:
        name, now, target = m.groups()
        pods: Obj = {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": target}}
        current = (
            None
            if now.startswith("<unknown>")
            else {"type": "Pods", "pods": {"metric": {"name": name}, "current": {"averageValue": now}}}
        )
        return {"type": "Pods", "pods": pods}, current
    m = re.match(r'"([^"]+)"(?: on (\w+)/(\S+))? \(target (average )?value\):\s*(.+?)\s*/\s*(\S+)$', line)
    if m:
        name, okind, oname, average, now, target = m.groups()
        goal = {"type": "AverageValue", "averageValue": target} if average else {"type": "Value", "value": target}
        value_key = "averageValue" if average else "value"
        if okind:
            kind, field = "Object", "object"
            body = {"metric": {"name": name}, "describedObject": {"kind": okind, "name": oname}, "target": goal}
        else:
            kind, field = "External", "external"
            body = {"metric": {"name": name}, "target": goal}
        current = (
            None
            if now.startswith("<unknown>")
            else {"type": kind, field: {"metric": {"name": name}, "current": {value_key: now}}}
        )
        return {"type": kind, field: body}, current
    return None


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
        parsed = _metric(ln.text)
        if parsed is None:
            continue
        metrics.append(parsed[0])
        if parsed[1] is not None:
            current.append(parsed[1])
    # autoscaling/v1, kubectl's fallback: "Target CPU utilization:  50%" and "Current CPU utilization:  <unknown>%"
    target_cpu = _int(r"(\d+)%", _value(top, "Target CPU utilization"))
    if target_cpu is not None and not metrics:
        goal = {"type": "Utilization", "averageUtilization": target_cpu}
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": goal}})
        now_cpu = _int(r"^(\d+)%", _value(top, "Current CPU utilization"))
        if now_cpu is not None:
            current.append(
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": now_cpu}}}
            )
    if metrics:
        spec["metrics"] = metrics
    if current:
        status["currentMetrics"] = current
    if "Conditions" in top:
        status["conditions"] = h.conditions(top["Conditions"][1])
