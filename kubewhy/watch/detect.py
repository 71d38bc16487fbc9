"""From a cached object to the conditions the rules page on. Pure functions over small projections: the
informers keep only these fields, so 10,000 pods cost a few megabytes, and a change whose projection is equal
is not a transition.

A :class:`Signal` says: this rule's condition holds for this item (a node, a pod) and belongs to this subject
(the incident it counts towards: the node, or a pod's owner workload); ``occurrence`` names the one event that
made it (an eviction, one OOM kill, one restart), so counts are of distinct events, whatever was re-listed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.ports import Obj
from ..quantity import parse_quantity
from .rules import Rule, RuleSet

NODE_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")
# The DisruptionTarget condition's reason on a pod evicted through the Eviction API (kubectl drain, the cluster
# autoscaler, a descheduler): planned. The kubelet's evictions carry TerminationByKubelet and status reason Evicted.
PLANNED = "EvictionByEvictionAPI"
_EVICTED_RESOURCE = re.compile(r"low on resource: ([\w-]+)")
_SCHEDULED_JOB = re.compile(r"^(.+)-\d{8,10}$")  # the CronJob controller names its Jobs NAME-<scheduled minute>


@dataclass(frozen=True)
class Signal:
    rule: Rule
    subject: str  # the incident's subject: node/NAME, deploy/NS/NAME, node/NAME:memory ...
    target_kind: str  # what a page diagnoses
    target_namespace: str | None
    target_name: str
    item: str  # the object that shows it (pod/NS/NAME, node/NAME)
    occurrence: str  # the event that made it, for distinct counts
    since: datetime | None  # when the condition began (grace counts from here)
    namespace: str | None  # for routing
    labels: Mapping[str, str]
    node: str | None  # pods: their node (a NotReady node's incident absorbs its pods')
    summary: str


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# ---- projections: what the informers keep -------------------------------------------------------------------


def project_node(obj: Obj) -> Obj:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    conditions = {
        c.get("type"): (
            c.get("status"),
            c.get("reason") or "",
            (c.get("message") or "")[:300],
            c.get("lastTransitionTime") or "",
        )
        for c in status.get("conditions") or []
        if c.get("type") in ("Ready", *NODE_PRESSURE)
    }
    return {"name": meta.get("name", ""), "labels": meta.get("labels") or {}, "conditions": conditions}


def owner_of(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """A pod's workload as a short kind and name, its top controller: a ReplicaSet named after its Deployment
    plus the pod-template-hash label becomes that Deployment, a Job named as the CronJob controller names them
    becomes that CronJob (no extra API call). A bare or static pod has none: it is its own subject."""
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("controller")] or meta.get("ownerReferences") or []
    if not refs:
        return None
    kind, name = refs[0].get("kind", ""), refs[0].get("name", "")
    if kind == "Node":  # a static pod's mirror: the kubelet runs it, no controller; it is its own subject
        return None
    if kind == "ReplicaSet":
        template_hash = (meta.get("labels") or {}).get("pod-template-hash")
        if template_hash and name.endswith("-" + template_hash):
            return "deploy", name[: -len(template_hash) - 1]
        return "rs", name
    if kind == "Job":
        scheduled = _SCHEDULED_JOB.match(name)
        if scheduled:  # a CronJob's Job (NAME-<minutes since the epoch>): the CronJob is the subject
            return "cronjob", scheduled.group(1)
    short = {"StatefulSet": "sts", "DaemonSet": "ds", "Job": "job", "ReplicationController": "rc"}.get(kind)
    return (short, name) if short else (kind.lower(), name)


class _Shared:
    """Equal parts of projections stored once: most pods of a workload have the same labels, the same owner and,
    while healthy, equal container summaries, and JSON decoding makes a new copy of each for every pod. At
    150,000 pods that sharing (with interned names) halves the pod cache. The parts are never mutated: they are
    a cache's values. Bounded: past ``limit`` distinct parts the table starts again (sharing is an economy, not
    a promise)."""

    def __init__(self, limit: int = 1 << 16):
        self.limit = limit
        self._parts: dict[Any, Any] = {}

    def __call__(self, key: Any, make: Callable[[], Any]) -> Any:
        part = self._parts.get(key)
        if part is None:
            if len(self._parts) >= self.limit:
                self._parts.clear()
            part = self._parts[key] = make()
        return part


_shared = _Shared()


def _text(value: Any) -> Any:
    """An interned copy of a short repeated string (names of namespaces, nodes, phases, reasons, times)."""
    return sys.intern(value) if type(value) is str else value


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    if not labels:
        return {}
    items = tuple(labels.items())
    return _shared(("labels", items), lambda: {_text(k): _text(v) for k, v in items})  # type: ignore[no-any-return]


def _container(cs: Obj, limits: Mapping[str, Any]) -> dict[str, Any]:
    state, last = cs.get("state") or {}, cs.get("lastState") or {}
    term = state.get("terminated") or last.get("terminated") or {}
    name = cs.get("name", "")
    values = (
        name,
        int(cs.get("restartCount") or 0),
        bool(cs.get("ready")),
        (state.get("waiting") or {}).get("reason"),
        term.get("reason"),
        term.get("finishedAt"),
        term.get("exitCode"),
        (limits.get(name) or {}).get("memory"),
        (limits.get(name) or {}).get("cpu"),  # the kubelet sampler reads only these
    )
    return _shared(("container", values), lambda: dict(zip(_CONTAINER_FIELDS, map(_text, values), strict=True)))  # type: ignore[no-any-return]


_CONTAINER_FIELDS = (
    "name",
    "restarts",
    "ready",
    "waiting",
    "term_reason",
    "term_finished",
    "term_exit",
    "memory_limit",
    "cpu_limit",
)


def project_pod(obj: Obj) -> Obj:
    meta, status, spec = obj.get("metadata") or {}, obj.get("status") or {}, obj.get("spec") or {}
    limits = {c.get("name"): (c.get("resources") or {}).get("limits") or {} for c in spec.get("containers") or []}
    containers = [_container(cs, limits) for cs in status.get("containerStatuses") or []]
    owner = owner_of(meta)
    conditions = status.get("conditions") or []
    return {
        "namespace": _text(meta.get("namespace", "")),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "labels": _labels(meta.get("labels")),
        "owner": _shared(("owner", owner), lambda: list(map(_text, owner))) if owner else None,
        "node": _text(spec.get("nodeName")),
        "phase": _text(status.get("phase")),
        "reason": _text(status.get("reason")),
        "message": (status.get("message") or "")[:300],
        "containers": containers,
        "changed": _text(max((c.get("lastTransitionTime") or "" for c in conditions), default="")),
        "deleting": bool(meta.get("deletionTimestamp")),
        "created": _text(meta.get("creationTimestamp")),
        "claims": [
            (v.get("persistentVolumeClaim") or {}).get("claimName", "")
            for v in spec.get("volumes") or []
            if v.get("persistentVolumeClaim")
        ],
        "disruption": next((c.get("reason") for c in conditions if c.get("type") == "DisruptionTarget"), None),
    }


# ---- detectors ------------------------------------------------------------------------------------------------


def eviction_resource(message: str) -> str:
    """The resource an eviction names ("The node was low on resource: ephemeral-storage."), the same from the
    Evicted event and from the pod's status: both key one incident."""
    found = _EVICTED_RESOURCE.search(message or "")
    return found.group(1) if found else "evicted"


def node_signals(node: Obj, rules: RuleSet) -> list[Signal]:
    name, labels = node["name"], node["labels"]
    out: list[Signal] = []

    def signal(rule: Rule, subject: str, condition: tuple[str, str, str, str], what: str) -> Signal:
        status, reason, message, since = condition
        return Signal(
            rule,
            subject,
            "Node",
            None,
            name,
            f"node/{name}",
            f"{subject}@{since}",
            parse_time(since),
            None,
            labels,
            name,
            f"node {name}: {what}" + (f" ({reason}: {message})" if reason else ""),
        )

    ready = node["conditions"].get("Ready")
    if ready is not None and ready[0] != "True":
        for rule in rules.by_detector("node-not-ready"):
            out.append(signal(rule, f"node/{name}", ready, "Ready is " + str(ready[0])))
    for ctype in NODE_PRESSURE:
        cond = node["conditions"].get(ctype)
        if cond is not None and cond[0] == "True":
            for rule in rules.by_detector("node-pressure"):
                out.append(signal(rule, f"node/{name}:{ctype}", cond, ctype))
    return out


def pod_subject(pod: Obj) -> str:
    owner = pod.get("owner")
    if owner:
        return f"{owner[0]}/{pod['namespace']}/{owner[1]}"
    return f"pod/{pod['namespace']}/{pod['name']}"


def pod_signals(pod: Obj, rules: RuleSet, now: datetime) -> list[Signal]:
    ns, name, labels, node = pod["namespace"], pod["name"], pod["labels"], pod.get("node")
    item = f"pod/{ns}/{name}"
    out: list[Signal] = []

    def signal(rule: Rule, subject: str, occurrence: str, since: datetime | None, summary: str) -> Signal:
        return Signal(rule, subject, "Pod", ns, name, item, occurrence, since, ns, labels, node, summary)

    if pod.get("disruption") == PLANNED:
        return out  # a drain, a rollout's eviction: planned, through the Eviction API, not an incident
    if pod.get("reason") == "Evicted" and pod.get("phase") == "Failed":
        why = eviction_resource(pod.get("message") or "")
        for rule in rules.by_detector("pod-evicted"):
            out.append(
                signal(
                    rule,
                    f"node/{node or '?'}:evicted-{why}",
                    item,
                    evicted_at(pod),
                    f"pods evicted from node {node or '?'} ({why})",
                )
            )
        return out
    subject = pod_subject(pod)
    for c in pod["containers"]:
        finished = parse_time(c.get("term_finished"))
        if c.get("term_reason") == "OOMKilled":
            for rule in rules.by_detector("oom-killed"):
                if finished is not None and now - finished <= rule.window:
                    out.append(
                        signal(
                            rule,
                            subject,
                            f"{item}/{c['name']}@{c.get('term_finished')}",
                            finished,
                            f"container {c['name']} of {item} OOMKilled",
                        )
                    )
        if c.get("waiting") == "CrashLoopBackOff":
            for rule in rules.by_detector("crash-loop"):
                recent = finished is None or now - finished <= rule.window
                if c["restarts"] >= rule.restarts and recent:
                    out.append(
                        signal(
                            rule,
                            subject,
                            f"{item}/{c['name']}#{c['restarts']}",
                            None,
                            f"container {c['name']} of {item} in CrashLoopBackOff ({c['restarts']} restarts)",
                        )
                    )
    return out


def evicted_at(pod: Obj) -> datetime | None:
    """When the kubelet evicted it: its containers' termination (or its last condition change), so that a
    restart re-listing old evicted pods does not count them as new."""
    times = [parse_time(c.get("term_finished")) for c in pod["containers"]] + [parse_time(pod.get("changed"))]
    found = [t for t in times if t is not None]
    # a pod that carries no such time: when it was created, a time that stays the same across restarts (the
    # time it was first seen would make every restart see it as new, and re-page a resolved eviction)
    return max(found) if found else parse_time(pod.get("created"))


def container_signal(rule: Rule, pod: Obj, container: str, summary: str) -> Signal:
    """A metric rule's signal about one container of a cached pod (Prometheus or the kubelet sampler): counted
    towards the pod's workload, keyed by rule, pod and container."""
    ns, name = pod["namespace"], pod["name"]
    item = f"metric/{rule.id}/{ns}/{name}/{container}"
    return Signal(
        rule, pod_subject(pod), "Pod", ns, name, item, item, None, ns, pod["labels"], pod.get("node"), summary
    )


def volume_signal(rule: Rule, namespace: str, claim: str, summary: str) -> Signal:
    """A metric rule's signal about a PVC: the claim is the subject."""
    item = f"pvc/{namespace}/{claim}"
    return Signal(rule, item, "PersistentVolumeClaim", namespace, claim, item, item, None, namespace, {}, None, summary)


def memory_limit_bytes(value: Any) -> float | None:
    try:
        return float(parse_quantity(str(value))) if value else None
    except (ValueError, TypeError):
        return None


EPISODIC = ("pod-evicted", "oom-killed")  # events, not states: over when none happened for resolve_after


__all__ = [
    "EPISODIC",
    "NODE_PRESSURE",
    "PLANNED",
    "Signal",
    "eviction_resource",
    "memory_limit_bytes",
    "node_signals",
    "owner_of",
    "parse_time",
    "pod_signals",
    "pod_subject",
    "project_node",
    "project_pod",
]
