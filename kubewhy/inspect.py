"""Read-only views a front-end shows next to a diagnosis: events, logs, a describe-like summary, cluster status.

These are reads, not diagnoses: the Slack bot's "Show logs" button and `/k8s status`, and the TUI's panes,
call them so no front-end talks to the cluster on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .adapters.ports import KubeReader
from .models.target import Target
from .redact import clean_log_lines


async def events_lines(kube: KubeReader, target: Target, limit: int = 15) -> list[str]:
    fs = f"involvedObject.kind={target.kind},involvedObject.name={target.name}"
    events = await kube.list("Event", target.namespace, field_selector=fs)
    events.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""), reverse=True)
    out = []
    for e in events[:limit]:
        count = e.get("count") or 1
        out.append(
            f"{e.get('lastTimestamp') or e.get('eventTime') or ''}  {e.get('type', ''):7} "
            f"{e.get('reason', '')}{f' (x{count})' if count > 1 else ''}: "
            f"{' '.join(clean_log_lines(str(e.get('message', ''))))}"
        )
    return out


async def logs_lines(kube: KubeReader, target: Target, tail: int = 30) -> tuple[str, list[str]]:
    """(description, lines): the previous container's logs when it restarted, else the current ones."""
    pod = await kube.get("Pod", target.namespace, target.name)
    if pod is None:
        return f"pod {target.name} not found", []
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    container = (
        max(statuses, key=lambda c: c.get("restartCount") or 0)
        if statuses
        else {"name": ((pod.get("spec") or {}).get("containers") or [{}])[0].get("name", "")}
    )
    previous = bool((container.get("lastState") or {}).get("terminated"))
    text = await kube.logs(target.namespace or "", target.name, container["name"], previous=previous, tail=tail)
    if text is None and previous:
        previous = False
        text = await kube.logs(target.namespace or "", target.name, container["name"], tail=tail)
    which = "previous" if previous else "current"
    return f"{which} logs of container {container['name']}", clean_log_lines(text or "")


def _conditions(obj: dict[str, Any]) -> list[str]:
    return [
        f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')})" if c.get("reason") else "")
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


async def describe_lines(kube: KubeReader, target: Target) -> list[str]:
    obj = await kube.get(target.kind, target.namespace, target.name)
    if obj is None:
        return [f"{target.kind.lower()} {target.name} not found"]
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = [f"Name: {meta.get('name')}"]
    if meta.get("namespace"):
        lines.append(f"Namespace: {meta['namespace']}")
    if meta.get("labels"):
        lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in meta["labels"].items()))
    if target.kind == "Pod":
        lines.append(
            f"Node: {spec.get('nodeName', '<none>')}   Phase: {status.get('phase', '')}   "
            f"IP: {status.get('podIP', '<none>')}   QoS: {status.get('qosClass', '')}"
        )
        statuses = {c.get("name"): c for c in status.get("containerStatuses") or []}
        for c in spec.get("containers") or []:
            cs = statuses.get(c["name"], {})
            state = next(iter((cs.get("state") or {"unknown": {}}).items()))
            last = (cs.get("lastState") or {}).get("terminated") or {}
            res = c.get("resources") or {}
            lines.append(
                f"Container {c['name']}: image {c.get('image')}, state {state[0]}"
                f"{' (' + state[1].get('reason', '') + ')' if state[1].get('reason') else ''}, "
                f"restarts {cs.get('restartCount', 0)}"
                + (f", last terminated {last.get('reason')} exit {last.get('exitCode')}" if last else "")
            )
            if res:
                lines.append(f"  requests {res.get('requests', {})} limits {res.get('limits', {})}")
    elif target.kind == "Node":
        info = status.get("nodeInfo") or {}
        lines.append(f"Kubelet: {info.get('kubeletVersion', '')}   Runtime: {info.get('containerRuntimeVersion', '')}")
        lines.append(
            "Taints: " + (", ".join(f"{t.get('key')}:{t.get('effect')}" for t in spec.get("taints") or []) or "<none>")
        )
        lines.append(f"Allocatable: {status.get('allocatable', {})}")
    elif "replicas" in spec or "replicas" in status:
        lines.append(f"Replicas: {status.get('readyReplicas', 0)}/{spec.get('replicas', '?')} ready")
    if _conditions(obj):
        lines.append("Conditions: " + ", ".join(_conditions(obj)))
    return lines


CRASH_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "RunContainerError",
)


def pod_trouble(pod: dict[str, Any]) -> tuple[str, str]:
    """("crashing" | "pending" | "evicted" | "", detail): the trouble a pod's status states, as ``/k8s status``
    and ``k8stui``'s overview count it."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return "evicted", str(status.get("message", ""))[:80]
    waiting = [
        ((c.get("state") or {}).get("waiting") or {}).get("reason", "")
        for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    ]
    bad = [w for w in waiting if w in CRASH_REASONS]
    if bad:
        restarts = sum(c.get("restartCount") or 0 for c in status.get("containerStatuses") or [])
        return "crashing", f"{bad[0]}, {restarts} restarts"
    if status.get("phase") == "Pending":
        reason = next((w for w in waiting if w), "") or next(
            (c.get("reason", "") for c in status.get("conditions") or [] if c.get("status") == "False"), ""
        )
        return "pending", reason or "Pending"
    return "", ""


PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def node_problem(node: dict[str, Any]) -> str:
    """Why a node is unhealthy (NotReady with its reason, no Ready condition, SchedulingDisabled), or ""."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return (
            f"{'NotReady' if ready else 'no Ready condition'}"
            f"{': ' + ready.get('reason', '') if ready and ready.get('reason') else ''}"
        )
    if (node.get("spec") or {}).get("unschedulable"):
        return "SchedulingDisabled"
    return ""


def node_pressure(node: dict[str, Any]) -> list[str]:
    """The pressure conditions that are on (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable)."""
    return [
        str(c.get("type"))
        for c in (node.get("status") or {}).get("conditions") or []
        if c.get("type") in PRESSURE and c.get("status") == "True"
    ]


@dataclass
class ClusterStatus:
    namespace: str | None
    unhealthy_nodes: list[str] = field(default_factory=list)
    crashing_pods: list[str] = field(default_factory=list)
    pending_pods: list[str] = field(default_factory=list)
    evicted_pods: list[str] = field(default_factory=list)
    pods: int = 0
    nodes: int = 0
    namespaces: tuple[str, ...] = ()  # the namespaces looked at when restricted (a Slack bot's), else ()

    @property
    def healthy(self) -> bool:
        return not (self.unhealthy_nodes or self.crashing_pods or self.pending_pods or self.evicted_pods)


async def cluster_status(
    kube: KubeReader, namespace: str | None = None, *, only: Sequence[str] | None = None
) -> ClusterStatus:
    """Nodes and the pods of ``namespace`` (None: all); ``only`` limits "all" to the namespaces a caller may read."""
    if namespace is None and only is not None:
        found = await asyncio.gather(kube.list("Node"), *(kube.list("Pod", ns) for ns in only))
        nodes, pods = found[0], [p for listed in found[1:] for p in listed]
    else:
        nodes, pods = await asyncio.gather(kube.list("Node"), kube.list("Pod", namespace))
    st = ClusterStatus(
        namespace,
        pods=len(pods),
        nodes=len(nodes),
        namespaces=tuple(only) if namespace is None and only is not None else (),
    )
    for n in nodes:
        problem = node_problem(n)
        if problem:
            st.unhealthy_nodes.append(f"{n['metadata']['name']} ({problem})")
    for p in pods:
        meta = p["metadata"]
        ref = f"{meta.get('namespace')}/{meta['name']}"
        state, detail = pod_trouble(p)
        if state == "evicted":
            st.evicted_pods.append(f"{ref}: {detail}")
        elif state == "crashing":
            st.crashing_pods.append(f"{ref} ({detail})")
        elif state == "pending":
            st.pending_pods.append(f"{ref} ({detail})")
    return st
