"""The cluster's health by namespace (k8stui's ``:overview``, as k9s's ``:pulses``): per namespace, its pods by
health, its workloads that are not ready, the watchers' open incidents about it and its warning events.

The classification is the core's: a pod's trouble is :func:`kubewhy.inspect.pod_trouble` (what ``/k8s status`` and
home count), a workload's is the lines its own status gives (:func:`kubewhy.engine.health.status_signals`, the net
under the playbooks) or fewer ready replicas than it asks for. Callers classify each object once
(:func:`pod_health`, :func:`workload_problem`: a watch cache keeps the answer in its row) and :func:`summarize`
counts the answers; a front-end only lays the result out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .engine.health import status_signals
from .errors import KubewhyError
from .inspect import pod_trouble
from .models.target import parse_target

# A pod's health, worst first: the order the overview's columns take.
POD_HEALTH = ("crashing", "evicted", "failed", "pending", "unready", "ok", "completed")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


def pod_health(pod: dict[str, Any]) -> str:
    """One of :data:`POD_HEALTH`: the trouble :func:`~kubewhy.inspect.pod_trouble` names (crashing, evicted,
    pending), ``failed`` (phase Failed), ``unready`` (running with a container not ready, or terminating), else
    ``completed`` (Succeeded) or ``ok``."""
    trouble, _ = pod_trouble(pod)
    if trouble:
        return trouble
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    phase = status.get("phase")
    if phase == "Failed":
        return "failed"
    if phase == "Succeeded":
        return "completed"
    if meta.get("deletionTimestamp") or phase == "Unknown":
        return "unready"
    containers = status.get("containerStatuses") or []
    if phase == "Running" and (not containers or not all(c.get("ready") for c in containers)):
        return "unready"
    return "ok"


def workload_problem(obj: dict[str, Any]) -> str:
    """Why a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) is not ready, or "" when it is: the
    lines its status gives (:func:`~kubewhy.engine.health.status_signals`: Available or Progressing False, a
    replica failure, a failed Job …), else fewer ready replicas than ``spec.replicas``."""
    signals = [s for s in status_signals(obj, 0.0) if s]
    if signals:
        return signals[0]
    if obj.get("kind") in ("Deployment", "ReplicaSet"):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        want, ready = spec.get("replicas", 1), status.get("readyReplicas") or 0
        if isinstance(want, int) and isinstance(ready, int) and ready < want:
            return f"{ready}/{want} ready"
    return ""


def subject_namespace(subject: str) -> str | None:
    """The namespace of an incident's subject (``pod/q1/app-x``, ``deploy/q1/app: …``); None for a cluster-scoped
    one (``node/node-3``) or one that names no object."""
    try:
        target = parse_target(subject.split(":", 1)[0].strip(), None, "")
    except (KubewhyError, ValueError):
        return None
    return target.namespace or None


@dataclass
class NamespaceHealth:
    namespace: str
    pods: dict[str, int] = field(default_factory=lambda: dict.fromkeys(POD_HEALTH, 0))
    workloads: int = 0
    workloads_not_ready: int = 0
    incidents: int = 0
    warnings: int = 0

    @property
    def pod_count(self) -> int:
        return sum(self.pods.values())

    @property
    def troubled(self) -> int:
        """Pods that are not ok (nor completed), workloads not ready, open incidents: how unwell it is."""
        bad = sum(n for state, n in self.pods.items() if state not in ("ok", "completed"))
        return bad + self.workloads_not_ready + self.incidents


@dataclass
class Overview:
    namespaces: list[NamespaceHealth]  # the most troubled first, then by name
    cluster_incidents: int = 0  # open incidents about cluster-scoped objects (nodes)

    def total(self) -> NamespaceHealth:
        out = NamespaceHealth("(all)")
        for ns in self.namespaces:
            for state, n in ns.pods.items():
                out.pods[state] += n
            out.workloads += ns.workloads
            out.workloads_not_ready += ns.workloads_not_ready
            out.incidents += ns.incidents
            out.warnings += ns.warnings
        out.incidents += self.cluster_incidents
        return out


def summarize(
    pods: Iterable[tuple[str, str]],
    workloads: Iterable[tuple[str, str]] = (),
    warnings: Iterable[str] = (),
    incidents: Iterable[str] = (),
) -> Overview:
    """Count, per namespace: ``pods`` as (namespace, :func:`pod_health`), ``workloads`` as (namespace,
    :func:`workload_problem`), the namespaces of ``warnings`` (warning events) and the subjects of open
    ``incidents``. A state that is not one of :data:`POD_HEALTH` is a :class:`ValueError`."""
    found: dict[str, NamespaceHealth] = {}

    def of(ns: str) -> NamespaceHealth:
        return found.setdefault(ns, NamespaceHealth(ns))

    for ns, state in pods:
        row = of(ns)
        if state not in row.pods:
            raise ValueError(f"unknown pod health {state!r} (one of {', '.join(POD_HEALTH)})")
        row.pods[state] += 1
    for ns, problem in workloads:
        row = of(ns)
        row.workloads += 1
        row.workloads_not_ready += bool(problem)
    for ns in warnings:
        if ns:
            of(ns).warnings += 1
    cluster = 0
    for subject in incidents:
        where = subject_namespace(subject)
        if where is None:
            cluster += 1
        else:
            of(where).incidents += 1
    ordered = sorted(found.values(), key=lambda n: (-n.troubled, -n.warnings, n.namespace))
    return Overview(ordered, cluster)


__all__ = [
    "POD_HEALTH",
    "WORKLOAD_KINDS",
    "NamespaceHealth",
    "Overview",
    "pod_health",
    "subject_namespace",
    "summarize",
    "workload_problem",
]
