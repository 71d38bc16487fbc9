"""What an object's own status says about its health, as quotable lines: the net under the playbooks.

When a target is unhealthy by its own account and no playbook explains why, the report carries an
``unexplained`` finding that quotes these lines (and the object's warning events), so a broken object is never
reported as "no problems found". Unhealthy means: a pod Pending, Failed or Unknown; Ready=False past a short
grace; a pod Terminating long past its deletion time (finalizers, unreachable node); a container waiting with a
reason or terminated with a non-zero code; a node condition that is bad, or a taint the node lifecycle controller
or the kubelet set (``node.kubernetes.io/not-ready``, ``disk-pressure``, …: often all a pasted node shows); an
HPA that cannot scale (``ScalingActive=False``); a PVC not Bound; a Service without ready endpoints; a workload
or Job reporting failure, or a StatefulSet/DaemonSet with fewer ready pods than it wants.

A missing or unreadable timestamp means "age unknown", never "stale": the signal counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models.findings import Finding, Fix

READY_GRACE_SECONDS = 120.0  # a pod may be unready this long after its last transition (start-up)
UNEXPLAINED = "unexplained"
INCONCLUSIVE = "inconclusive: "  # a signal that may be trouble but cannot be told apart from health (a partial object)
# Node conditions whose True is trouble (Ready's False is).
_NODE_BAD_WHEN_TRUE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
_BENIGN_WAITING = ("ContainerCreating", "PodInitializing")
# Taints the node lifecycle controller and the kubelet set for a bad state. The cordon taint
# (node.kubernetes.io/unschedulable) is planned work, not trouble: node-maintenance explains it (info).
_NODE_TAINTS = tuple(
    f"node.kubernetes.io/{t}"
    for t in (
        "not-ready",
        "unreachable",
        "memory-pressure",
        "disk-pressure",
        "pid-pressure",
        "network-unavailable",
        "out-of-service",
    )
)
TERMINATING_GRACE_SECONDS = 60.0  # past its deletionTimestamp (which includes the grace period), a pod is stuck


def _ts(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _condition(conditions: list[Any], kind: str) -> dict[str, Any]:
    return next((c for c in conditions if isinstance(c, dict) and c.get("type") == kind), {})


def _quote(c: dict[str, Any]) -> str:
    text = f"condition {c.get('type')}={c.get('status')}"
    if c.get("reason"):
        text += f" reason={c['reason']}"
    if c.get("message"):
        text += f": {c['message']}"
    return text


def _pod_signals(obj: dict[str, Any], status: dict[str, Any], now_ts: float) -> list[str]:
    out: list[str] = []
    phase = status.get("phase")
    conditions = status.get("conditions") or []
    if phase in ("Pending", "Failed", "Unknown"):
        reason = f" reason={status['reason']}" if status.get("reason") else ""
        message = f": {status['message']}" if status.get("message") else ""
        out.append(f"phase={phase}{reason}{message}")
    for section in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(section) or []:
            if not isinstance(cs, dict):
                continue
            state = cs.get("state") or {}
            waiting = state.get("waiting") if isinstance(state.get("waiting"), dict) else None
            terminated = state.get("terminated") if isinstance(state.get("terminated"), dict) else None
            name = cs.get("name", "?")
            if waiting and waiting.get("reason") and (waiting["reason"] not in _BENIGN_WAITING or phase == "Pending"):
                out.append(
                    f"container {name}: waiting reason={waiting['reason']}"
                    + (f": {waiting['message']}" if waiting.get("message") else "")
                )
            if terminated and terminated.get("exitCode", 0) not in (0, None):
                out.append(
                    f"container {name}: terminated exitCode={terminated.get('exitCode')} "
                    f"reason={terminated.get('reason', '')}"
                    + (f": {terminated['message']}" if terminated.get("message") else "")
                )
    if phase == "Running":
        ready = _condition(conditions, "Ready")
        changed = _ts(ready.get("lastTransitionTime")) if ready else None
        if ready and ready.get("status") != "True" and (changed is None or now_ts - changed > READY_GRACE_SECONDS):
            out.append(_quote(ready))
    scheduled = _condition(conditions, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        out.append(_quote(scheduled))
    raw_meta = obj.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    if meta.get("deletionTimestamp"):
        deleted = _ts(meta["deletionTimestamp"])  # unknown age: still a signal
        if deleted is None or now_ts - deleted > TERMINATING_GRACE_SECONDS:
            finalizers = [str(f) for f in meta.get("finalizers") or []]
            out.append(
                f"metadata.deletionTimestamp={meta['deletionTimestamp']}: Terminating"
                + (f", finalizers: {', '.join(finalizers)}" if finalizers else "")
            )
    if status.get("reason") and phase not in ("Pending", "Failed", "Unknown"):
        out.append(f"status.reason={status['reason']}: {status.get('message', '')}".rstrip(": "))
    return out


def status_signals(obj: dict[str, Any], now_ts: float) -> list[str]:
    """The lines of an object's status that say it is unhealthy (none: healthy, or the status cannot tell)."""
    kind = obj.get("kind")
    raw = obj.get("status")
    status: dict[str, Any] = raw if isinstance(raw, dict) else {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    if kind == "Pod":
        return _pod_signals(obj, status, now_ts)
    if kind == "Node":
        out = [
            _quote(c)
            for c in conditions
            if (c.get("type") == "Ready" and c.get("status") != "True")
            or (c.get("type") in _NODE_BAD_WHEN_TRUE and c.get("status") == "True")
        ]
        return out + _taint_signals(obj)
    if kind == "HorizontalPodAutoscaler":
        return [
            _quote(c)
            for c in conditions
            if c.get("type") in ("ScalingActive", "AbleToScale") and c.get("status") == "False"
        ]
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase")
        return [f"phase={phase}"] if phase in ("Pending", "Lost") else []
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
        return [
            _quote(c)
            for c in conditions
            if (c.get("type") in ("Available", "Progressing") and c.get("status") == "False")
            or (c.get("type") == "ReplicaFailure" and c.get("status") == "True")
        ] + _replica_signals(obj, status)
    if (
        kind == "Service"
        and not isinstance(obj.get("spec"), dict)
        and isinstance(status.get("loadBalancer"), dict)
        and not status["loadBalancer"].get("ingress")
    ):
        return [INCONCLUSIVE + "status.loadBalancer has no ingress, and without its spec the Service's type is unknown"]
    if kind == "Job":
        return [_quote(c) for c in conditions if c.get("type") == "Failed" and c.get("status") == "True"]
    return []


def _taint_signals(node: dict[str, Any]) -> list[str]:
    raw = node.get("spec")
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return [
        f"taint {t.get('key')}:{t.get('effect', '')}" + (f" since {t['timeAdded']}" if t.get("timeAdded") else "")
        for t in spec.get("taints") or []
        if isinstance(t, dict) and t.get("key") in _NODE_TAINTS and t.get("effect") in ("NoSchedule", "NoExecute")
    ]


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _replica_signals(obj: dict[str, Any], status: dict[str, Any]) -> list[str]:
    """A StatefulSet with fewer ready replicas than its spec asks, a DaemonSet with unavailable pods (only from
    numbers the object carries: a status without them says nothing)."""
    kind = obj.get("kind")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if kind == "StatefulSet" and spec is not None and status:
        wanted = _count(spec.get("replicas", 1))
        ready = _count(status.get("readyReplicas", 0))
        if wanted is not None and ready is not None and ready < wanted:
            return [f"status.readyReplicas={ready} of spec.replicas={wanted}"]
    if kind == "DaemonSet":
        unavailable = _count(status.get("numberUnavailable", 0))
        if unavailable:
            return [
                f"status.numberUnavailable={unavailable} (numberReady={status.get('numberReady', 0)} of "
                f"desiredNumberScheduled={status.get('desiredNumberScheduled', '?')})"
            ]
    return []


def endpoints_signals(service: dict[str, Any], endpoints: dict[str, Any] | None) -> list[str]:
    """A Service with a selector (or, pasted without its spec, with an Endpoints object) whose Endpoints list no
    ready address."""
    spec = service.get("spec") if isinstance(service.get("spec"), dict) else None
    if endpoints is None or (spec is not None and (not spec.get("selector") or spec.get("type") == "ExternalName")):
        return []
    subsets = endpoints.get("subsets") or []
    if any((s or {}).get("addresses") for s in subsets if isinstance(s, dict)):
        return []
    not_ready = sum(len((s or {}).get("notReadyAddresses") or []) for s in subsets if isinstance(s, dict))
    return [
        f"Endpoints {endpoints.get('metadata', {}).get('name', '')}: no ready address"
        + (f" ({not_ready} not ready)" if not_ready else "")
    ]


def unexplained(
    subject: str, kind: str, namespace: str | None, name: str, signals: list[str], warnings: list[dict[str, Any]]
) -> Finding:
    """The finding for an unhealthy object no playbook explains: the raw signals, then its warning events."""
    evidence = [*signals]
    evidence += [f"event {e.get('reason', '')} (x{e.get('count') or 1}): {e.get('message', '')}" for e in warnings[:5]]
    first = (
        signals[0]
        if signals
        else (f"warning event {warnings[0].get('reason', '')}: {warnings[0].get('message', '')}" if warnings else "")
    )
    ns = f" -n {namespace}" if namespace else ""
    what = kind.lower()
    fixes = [
        Fix(
            title="Read the object's status and events yourself",
            risk="low",
            command=f"kubectl{ns} describe {what} {name}",
            why="No bundled playbook recognises this state; the raw status and events are where to start.",
        )
    ]
    if kind == "Pod":
        fixes.append(
            Fix(
                title="Read the container logs, current and previous",
                risk="low",
                command=f"kubectl{ns} logs {name} --all-containers --previous --tail=50",
            )
        )
    said = (
        f"The {what}'s own status says it is unhealthy" if signals else f"The {what} has no status, and its events warn"
    )
    doubtful = bool(signals) and all(x.startswith(INCONCLUSIVE) for x in signals) and not warnings
    return Finding(
        id=UNEXPLAINED,
        title="Unhealthy, cause not identified",
        severity="info" if doubtful else "warning",
        summary=f"{said} ({first}); no playbook explains why.",
        subject=subject,
        stage="pod" if kind == "Pod" else "owner",
        evidence=tuple(evidence),
        fixes=tuple(fixes),
    )
