"""Changes read from what the API still holds, as :class:`~kubewhy.changes.model.Change`: ReplicaSet and
ControllerRevision history (template diffs), managedFields (who last wrote which fields, when), a node's condition
transitions and taints, and the events that record a change (scaling, a node going NotReady, a pod killed).

These functions take objects already read and make no request; :mod:`kubewhy.changes.timeline` reads them.
Kubernetes keeps no more history than this: ReplicaSets and ControllerRevisions up to the revision history limit,
one managedFields entry per manager (its last write only) and about an hour of events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..engine.related import ref_of
from ..redact import clean_log_lines
from .diff import pod_spec, template_diff
from .model import Area, Change

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Events that record a change rather than a symptom.
CHANGE_EVENTS = frozenset(
    {
        "ScalingReplicaSet",
        "SuccessfulRescale",
        "NodeNotReady",
        "NodeReady",
        "NodeSchedulable",
        "NodeNotSchedulable",
        "Rebooted",
        "RegisteredNode",
        "RemovingNode",
        "Killing",
        "Preempted",
        "TaintManagerEviction",
        "DeletingNode",
    }
)
# Objects whose managedFields are their controllers' bookkeeping, not somebody's change.
_NO_MANAGED = frozenset({"Pod", "Event", "ReplicaSet", "ControllerRevision", "Endpoints", "EndpointSlice", "Job"})
_CONTAINER_AREAS: dict[str, Area] = {
    "image": "image",
    "resources": "resources",
    "env": "env",
    "envFrom": "env",
    "command": "command",
    "args": "command",
    "livenessProbe": "probes",
    "readinessProbe": "probes",
    "startupProbe": "probes",
}


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def ts(value: Any) -> datetime | None:
    """An API timestamp as an aware datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _meta(obj: Obj) -> Obj:
    return _d(obj.get("metadata"))


def _revision(obj: Obj) -> int:
    raw = (
        obj.get("revision")
        if obj.get("kind") == "ControllerRevision"
        else _d(_meta(obj).get("annotations")).get(REVISION)
    )
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def owned_by(obj: Obj, owner: Obj) -> bool:
    om = _meta(owner)
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == owner.get("kind") and ref.get("name") == om.get("name"):
            return not (ref.get("uid") and om.get("uid") and ref["uid"] != om["uid"])
    return False


def rollout_changes(workload: Obj, history: list[Obj]) -> list[Change]:
    """One change per revision of a Deployment (its ReplicaSets) or a StatefulSet or DaemonSet (its
    ControllerRevisions): when it was created, what differs from the revision before, the change-cause."""
    subject = ref_of(workload)
    revs = sorted((h for h in history if owned_by(h, workload) and _revision(h) > 0), key=_revision)
    out = []
    for i, cur in enumerate(revs):
        at = ts(_meta(cur).get("creationTimestamp"))
        if at is None:
            continue
        rev = _revision(cur)
        cause = str(_d(_meta(cur).get("annotations")).get(CHANGE_CAUSE) or "")
        lines: list[str] = []
        areas: set[Area] = {"template"}
        lowered: list[str] = []
        if i == 0:
            summary = f"revision {rev} (the oldest kept)"
        else:
            lines, areas, lowered = template_diff(pod_spec(revs[i - 1]), pod_spec(cur))
            what = "; ".join(lines[:3]) + (f"; {len(lines) - 3} more" if len(lines) > 3 else "")
            summary = f"revision {rev}: {what or 'pod template metadata only'}"
        out.append(
            Change(
                at=at,
                subject=subject,
                summary=summary,
                areas=tuple(sorted(areas)) or ("template",),
                details=tuple(lines),
                operation="rollout",
                cause=cause,
                source=str(cur.get("kind", "")),
                lowered=tuple(lowered),
            )
        )
    return out


def _paths(fields: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """The leaf paths a managedFields entry's fieldsV1 names, as ``spec.template.spec.containers[app].image``.
    Names only: a ConfigMap's ``data.KEY`` is a key's name, never its value."""
    if not isinstance(fields, dict) or not fields or depth > 12:
        return [prefix] if prefix else []
    out = []
    for key, sub in fields.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            part = key[2:]
            path = f"{prefix}.{part}" if prefix else part
        elif key.startswith("k:"):
            try:
                import json

                ident = json.loads(key[2:])
                label = ident.get("name") or ident.get("type") or ident.get("key") or ",".join(map(str, ident.values()))
            except (ValueError, AttributeError):
                label = key[2:]
            path = f"{prefix}[{label}]"
        elif key.startswith("v:"):
            path = f"{prefix}[{key[2:]}]"
        else:
            continue
        out += _paths(sub, path, depth + 1)
    return out


def _areas_of(kind: str, paths: list[str]) -> set[Area]:
    areas: set[Area] = set()
    for p in paths:
        last = p.rsplit(".", 1)[-1].split("[", 1)[0]
        if p.startswith("metadata"):
            areas.add("metadata")
        elif p.startswith(("data", "binaryData", "stringData")):
            areas.add("config")
        elif kind == "Node" and p.startswith("spec"):
            areas.add("node")
        elif kind == "HorizontalPodAutoscaler" or p == "spec.replicas":
            areas.add("scale")
        elif ".containers" in p or ".initContainers" in p:
            areas.add(_CONTAINER_AREAS.get(last, "template"))
        elif p.startswith("spec.template"):
            areas.add("template")
        else:
            areas.add("spec")
    return areas


def _short(paths: list[str], n: int = 4) -> str:
    """Paths shortened for one line: the template prefix dropped, the first ``n`` kept."""
    cut = [p.replace("spec.template.spec.", "") for p in paths]
    uniq = list(dict.fromkeys(cut))
    return ", ".join(uniq[:n]) + (f" and {len(uniq) - n} more" if len(uniq) > n else "")


def managed_changes(obj: Obj) -> list[Change]:
    """Who last wrote which fields of ``obj``, and when: one change per managedFields entry (status writes and
    the controllers' own objects left out)."""
    kind = str(obj.get("kind", ""))
    if kind in _NO_MANAGED:
        return []
    subject = ref_of(obj)
    cause = str(_d(_meta(obj).get("annotations")).get(CHANGE_CAUSE) or "")
    out = []
    for entry in _meta(obj).get("managedFields") or []:
        if not isinstance(entry, dict) or entry.get("subresource") == "status":
            continue
        at = ts(entry.get("time"))
        if at is None:
            continue
        paths = _paths(entry.get("fieldsV1"))
        paths = [p for p in paths if not p.startswith(("metadata.annotations.deployment.kubernetes.io", "status"))]
        if not paths:
            continue
        if kind == "Secret":
            paths = [p if p.startswith("metadata") else p.split(".", 1)[0] + " key(s)" for p in paths]
        manager = str(entry.get("manager") or "")
        operation = str(entry.get("operation") or "")
        out.append(
            Change(
                at=at,
                subject=subject,
                summary=f"{manager or 'someone'} ({operation or 'write'}) last wrote {_short(paths)}",
                areas=tuple(sorted(_areas_of(kind, paths))),
                details=tuple(dict.fromkeys(paths)),
                who=manager,
                operation=operation,
                cause=cause if any(p.startswith("spec") for p in paths) else "",
                source="managedFields",
            )
        )
    return out


def node_changes(node: Obj) -> list[Change]:
    """A node's condition transitions (Ready, the pressures) and the taints that carry a time."""
    subject = ref_of({**node, "kind": "Node"})
    out = []
    for c in _d(node.get("status")).get("conditions") or []:
        if not isinstance(c, dict):
            continue
        at = ts(c.get("lastTransitionTime"))
        kind, status = str(c.get("type", "")), str(c.get("status", ""))
        if at is None or kind == "NetworkUnavailable" and status == "False":
            continue
        bad = status != "True" if kind == "Ready" else status == "True"
        if not bad and kind != "Ready":
            continue  # a pressure that has been False since boot is no change worth a line
        out.append(
            Change(
                at=at,
                subject=subject,
                summary=f"condition {kind} became {status}" + (f" ({c['reason']})" if c.get("reason") else ""),
                areas=("node",),
                operation="condition",
                source="status",
            )
        )
    for t in _d(node.get("spec")).get("taints") or []:
        at = ts(_d(t).get("timeAdded"))
        if at is not None:
            out.append(
                Change(
                    at=at,
                    subject=subject,
                    summary=f"taint {t.get('key', '')}:{t.get('effect', '')} added",
                    areas=("node",),
                    operation="taint",
                    source="spec",
                )
            )
    return out


def event_time(e: Obj) -> datetime | None:
    return ts(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp"))


def first_time(e: Obj) -> datetime | None:
    return ts(e.get("firstTimestamp") or e.get("eventTime") or e.get("lastTimestamp"))


def event_changes(events: list[Obj]) -> list[Change]:
    """The events that record a change (scaling, a node NotReady or Ready, a container killed)."""
    out = []
    for e in events:
        reason = str(e.get("reason", ""))
        at = event_time(e)
        if reason not in CHANGE_EVENTS or at is None:
            continue
        inv = _d(e.get("involvedObject"))
        kind = str(inv.get("kind", ""))
        subject = ref_of({"kind": kind, "metadata": {"name": inv.get("name", ""), "namespace": inv.get("namespace")}})
        raw = e.get("count")
        count = raw if isinstance(raw, int) else 1
        areas: tuple[Area, ...] = (
            ("scale",) if "Scal" in reason or "Rescale" in reason else ("node",) if kind == "Node" else ()
        )
        out.append(
            Change(
                at=at,
                subject=subject,
                summary=f"{reason}: {' '.join(clean_log_lines(str(e.get('message', ''))))}"
                + (f" (×{count})" if count > 1 else ""),
                areas=areas,
                who=str(_d(e.get("source")).get("component") or e.get("reportingComponent") or ""),
                operation="event",
                source="Event",
            )
        )
    return out
