"""What each list shows: a projection per kind that keeps one small row per object in the watch cache.

The informer calls ``project`` on every object it receives, so the cache holds these rows (a few hundred bytes)
rather than whole objects. Cells hold raw values (numbers sort as numbers, ages as timestamps); the table formats
only the rows on screen. Pod and node trouble is classified by the core (:mod:`kubewhy.inspect`), not here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubewhy import inspect, overview

Obj = dict[str, Any]


def timestamp(value: Any) -> float:
    """Seconds since the epoch of a Kubernetes time (``2024-05-01T10:00:00Z``, with or without fractions); 0.0
    when absent or unreadable."""
    if not value:
        return 0.0
    return _parse_time(str(value))


@functools.lru_cache(maxsize=65536)
def _parse_time(text: str) -> float:
    """Parsed once per distinct stamp: an event carries the same time in up to five fields, and 50,000 events
    are projected on one ``:events``."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


FUTURE_SLACK = 2.0  # seconds a stamp may lie ahead of our clock and still count as now


def age(ts: Any, now: float | None = None) -> str:
    """``kubectl``'s age: 42s, 7m, 3h, 12d; ``<invalid>`` for a time in the future (a skewed clock), as kubectl."""
    if not isinstance(ts, (int, float)) or ts <= 0:
        return "<unknown>"
    delta = (time.time() if now is None else now) - ts
    if delta < -FUTURE_SLACK:
        return "<invalid>"
    seconds = max(0, int(delta))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Column:
    title: str
    age: bool = False  # the raw value is a timestamp, shown as an age


@dataclass(frozen=True)
class KindView:
    kind: str
    command: str  # the ``:`` command that opens it
    columns: tuple[Column, ...]
    project: Callable[[Obj], Obj]


def _base(obj: Obj, cells: tuple[Any, ...], style: str = "", **extra: Any) -> Obj:
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    text = " ".join(str(c) for c in cells if not isinstance(c, float)).lower()
    return {
        "ns": ns,
        "name": name,
        "labels": dict(meta.get("labels") or {}),
        "cells": cells,
        "text": text,
        "style": style,
        **extra,
    }


def _created(obj: Obj) -> float:
    return timestamp((obj.get("metadata") or {}).get("creationTimestamp"))


def pod_status(obj: Obj) -> str:
    """The STATUS ``kubectl get pods`` shows: Terminating, the pod's reason, a container's waiting or terminated
    reason, else the phase."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    if status.get("reason"):
        return str(status["reason"])
    for c in status.get("initContainerStatuses") or []:
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            return f"Init:{state['waiting']['reason']}"
    for c in status.get("containerStatuses") or []:
        state = c.get("state") or {}
        reason = (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason")
        if reason:
            return str(reason)
    return str(status.get("phase") or "Unknown")


def project_pod(obj: Obj) -> Obj:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    statuses = status.get("containerStatuses") or []
    ready = f"{sum(1 for c in statuses if c.get('ready'))}/{len(spec.get('containers') or statuses)}"
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    trouble, detail = inspect.pod_trouble(obj)
    shown = pod_status(obj)
    style = "red" if trouble in ("crashing", "evicted") else "yellow" if trouble == "pending" else ""
    meta = obj.get("metadata") or {}
    containers = [str(c.get("name")) for c in spec.get("containers") or []]
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            ready,
            shown,
            restarts,
            _created(obj),
            spec.get("nodeName") or "",
        ),
        style,
        trouble=trouble,
        detail=detail,
        health=overview.pod_health(obj),
        node=spec.get("nodeName") or "",
        containers=containers,
        owner=workload_of(meta),
        suspect=suspicion(status, shown, restarts, trouble),
    )


HIGH_RESTARTS = 5  # restarts from which a running pod is a suspect on home
SUSPECT_STATUSES = frozenset({"OOMKilled", "Error", "Failed", "Evicted", "ContainerCannotRun", "DeadlineExceeded"})


def workload_of(meta: Obj) -> tuple[str, str]:
    """(kind, name) of what runs the pod: a ReplicaSet's Deployment (the pod-template-hash label is the suffix
    the Deployment adds), a StatefulSet, DaemonSet or Job; ("Pod", its name) for a bare pod."""
    owners = meta.get("ownerReferences") or []
    ref = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if ref is None:
        return "Pod", str(meta.get("name") or "")
    kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    if kind == "ReplicaSet":
        hash_ = str((meta.get("labels") or {}).get("pod-template-hash") or "")
        if hash_ and name.endswith("-" + hash_):
            return "Deployment", name[: -len(hash_) - 1]
    return kind, name


def suspicion(status: Obj, shown: str, restarts: int, trouble: str) -> str:
    """What the pod's own status says is wrong ("" when nothing): the core's trouble (crashing, pending,
    evicted), a failed phase or reason, a container not ready in a running pod, many restarts. Home lists these
    at once, marked "checking", until a diagnosis says the cause."""
    if trouble or shown in SUSPECT_STATUSES or status.get("phase") == "Failed":
        return shown
    if status.get("phase") == "Running" and any(not c.get("ready") for c in status.get("containerStatuses") or []):
        return f"{shown}, not ready"
    if restarts >= HIGH_RESTARTS:
        return f"{restarts} restarts"
    return ""


def project_node(obj: Obj) -> Obj:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    problem = inspect.node_problem(obj)
    pressure = inspect.node_pressure(obj)
    roles = (
        ",".join(
            sorted(k.split("/", 1)[1] for k in meta.get("labels") or {} if k.startswith("node-role.kubernetes.io/"))
        )
        or "<none>"
    )
    shown = problem or "Ready"
    version = (status.get("nodeInfo") or {}).get("kubeletVersion") or ""
    return _base(
        obj,
        (meta.get("name") or "", shown, ",".join(pressure) or "-", roles, version, _created(obj)),
        "red" if problem else "yellow" if pressure else "",
        problem=problem,
        pressure=pressure,
    )


def _replicas(obj: Obj, ready_key: str = "readyReplicas") -> str:
    return f"{(obj.get('status') or {}).get(ready_key) or 0}/{(obj.get('spec') or {}).get('replicas', 1)}"


def project_deployment(obj: Obj) -> Obj:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = _replicas(obj)
    want = (obj.get("spec") or {}).get("replicas", 1)
    style = "yellow" if (status.get("readyReplicas") or 0) < (want or 0) else ""
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            ready,
            status.get("updatedReplicas") or 0,
            status.get("availableReplicas") or 0,
            _created(obj),
        ),
        style,
        problem=overview.workload_problem(obj),
    )


def project_statefulset(obj: Obj) -> Obj:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    want = (obj.get("spec") or {}).get("replicas", 1)
    style = "yellow" if (status.get("readyReplicas") or 0) < (want or 0) else ""
    return _base(
        obj,
        (meta.get("namespace") or "", meta.get("name") or "", _replicas(obj), _created(obj)),
        style,
        problem=overview.workload_problem(obj),
    )


def project_service(obj: Obj) -> Obj:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            spec.get("type") or "ClusterIP",
            spec.get("clusterIP") or "",
            ports,
            selector,
            _created(obj),
        ),
    )


def project_pvc(obj: Obj) -> Obj:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    phase = status.get("phase") or "Pending"
    capacity = (
        (status.get("capacity") or {}).get("storage")
        or ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        or ""
    )
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            phase,
            spec.get("volumeName") or "",
            capacity,
            spec.get("storageClassName") or "",
            _created(obj),
        ),
        "" if phase == "Bound" else "yellow",
    )


def project_hpa(obj: Obj) -> Obj:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            f"{ref.get('kind')}/{ref.get('name')}",
            spec.get("minReplicas") or 1,
            spec.get("maxReplicas") or 0,
            status.get("currentReplicas") or 0,
            _created(obj),
        ),
    )


def project_job(obj: Obj) -> Obj:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("completions", 1)
    failed = int(status.get("failed") or 0)
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    shown = "Failed" if conds.get("Failed") == "True" else "Complete" if conds.get("Complete") == "True" else "Running"
    return _base(
        obj,
        (
            meta.get("namespace") or "",
            meta.get("name") or "",
            shown,
            f"{status.get('succeeded') or 0}/{want}",
            failed,
            _created(obj),
        ),
        "red" if shown == "Failed" else "yellow" if failed else "",
        problem=overview.workload_problem(obj),
    )


def last_seen(obj: Obj) -> float:
    """An event's real last sighting: the newest of lastTimestamp, series.lastObservedTime, eventTime,
    firstTimestamp and creationTimestamp (k9s sorts by the first it finds, which is often empty or stale)."""
    series = obj.get("series") or {}
    return max(
        timestamp(obj.get("lastTimestamp")),
        timestamp(series.get("lastObservedTime")),
        timestamp(obj.get("eventTime")),
        timestamp(obj.get("firstTimestamp")),
        _created(obj),
    )


def project_event(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    count = int(obj.get("count") or (obj.get("series") or {}).get("count") or 1)
    kind = str(involved.get("kind") or "")
    what = f"{kind.lower()}/{involved.get('name', '')}"
    message = " ".join(str(obj.get("message") or obj.get("note") or "").split())
    etype = str(obj.get("type") or "Normal")
    return _base(
        obj,
        (meta.get("namespace") or "", last_seen(obj), etype, str(obj.get("reason") or ""), what, count, message[:300]),
        "yellow" if etype == "Warning" else "",
        warning=etype == "Warning",
        involved=(kind, str(involved.get("namespace") or ""), str(involved.get("name") or "")),
    )


def _cols(*titles: str) -> tuple[Column, ...]:
    return tuple(Column(t, age=t in ("AGE", "LAST SEEN")) for t in titles)


VIEWS: dict[str, KindView] = {
    v.kind: v
    for v in (
        KindView("Pod", "pods", _cols("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"), project_pod),
        KindView("Node", "nodes", _cols("NAME", "STATUS", "PRESSURE", "ROLES", "VERSION", "AGE"), project_node),
        KindView(
            "Deployment",
            "deploy",
            _cols("NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
            project_deployment,
        ),
        KindView("StatefulSet", "sts", _cols("NAMESPACE", "NAME", "READY", "AGE"), project_statefulset),
        KindView(
            "Service",
            "svc",
            _cols("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "AGE"),
            project_service,
        ),
        KindView(
            "PersistentVolumeClaim",
            "pvc",
            _cols("NAMESPACE", "NAME", "STATUS", "VOLUME", "CAPACITY", "STORAGECLASS", "AGE"),
            project_pvc,
        ),
        KindView(
            "HorizontalPodAutoscaler",
            "hpa",
            _cols("NAMESPACE", "NAME", "REFERENCE", "MIN", "MAX", "REPLICAS", "AGE"),
            project_hpa,
        ),
        KindView("Job", "jobs", _cols("NAMESPACE", "NAME", "STATUS", "COMPLETIONS", "FAILED", "AGE"), project_job),
        KindView(
            "Event",
            "events",
            _cols("NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"),
            project_event,
        ),
    )
}

BY_COMMAND: dict[str, str] = {v.command: v.kind for v in VIEWS.values()}
# the other spellings ``:`` accepts
BY_COMMAND.update(
    {
        "pod": "Pod",
        "po": "Pod",
        "node": "Node",
        "no": "Node",
        "deployments": "Deployment",
        "statefulsets": "StatefulSet",
        "services": "Service",
        "pvcs": "PersistentVolumeClaim",
        "hpas": "HorizontalPodAutoscaler",
        "ev": "Event",
        "job": "Job",
        "event": "Event",
    }
)
