"""The change between two versions of one object, as the watchers will record it in the audit database's change
log (issue 29): what a watch event's old and new object differ in, for the kinds whose changes explain incidents.

ConfigMap values are never kept: a key's value is reduced to an HMAC-SHA256 under a key held outside the
database (:func:`digest`), so equal values can be told apart from changed ones without the value, and a
low-entropy value cannot be found again by hashing guesses (a plain sha256 could). A Secret's data reaches the
core redacted (kubewhy/redact.py), so only its keys added and removed are seen.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from ..engine.related import ref_of
from .diff import pod_spec, template_diff
from .model import Area, Change
from .read import CHANGE_CAUSE, ts

Obj = dict[str, Any]
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "CronJob"})
# Objects whose data is configuration: keys compared by digest.
CONFIG_KINDS = frozenset({"ConfigMap", "Secret"})
HELM_RELEASE = "helm.sh/release.v1"
SA_TOKEN = "kubernetes.io/service-account-token"


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def digest(secret_key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``secret_key``, hex, shortened to 16 bytes: enough to tell values apart."""
    return hmac.new(secret_key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def recorded(obj: Obj) -> bool:
    """Whether changes of ``obj`` are recorded: never a Helm release Secret or a service-account token."""
    return not (obj.get("kind") == "Secret" and str(obj.get("type", "")) in (HELM_RELEASE, SA_TOKEN))


def _writer(obj: Obj) -> tuple[str, str, datetime | None]:
    """(manager, operation, time) of the latest managedFields write that is not a status write."""
    entries = [
        e
        for e in _d(obj.get("metadata")).get("managedFields") or []
        if isinstance(e, dict) and e.get("subresource") != "status" and ts(e.get("time")) is not None
    ]
    if not entries:
        return "", "", None
    last = max(entries, key=lambda e: str(e.get("time")))
    return str(last.get("manager") or ""), str(last.get("operation") or ""), ts(last.get("time"))


def _config(old: Obj, new: Obj, secret_key: bytes) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    lines: list[str] = []
    digests: list[tuple[str, str]] = []
    for section in ("data", "binaryData"):
        a, b = _d(old.get(section)), _d(new.get(section))
        added, removed = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        if added:
            lines.append(f"{section} keys added: {', '.join(added)}")
        if removed:
            lines.append(f"{section} keys removed: {', '.join(removed)}")
        if new.get("kind") == "Secret":
            continue  # redacted before the core sees it: only keys are known
        changed = []
        for k in sorted(set(a) & set(b)):
            da, db = digest(secret_key, str(a[k])), digest(secret_key, str(b[k]))
            if da != db:
                changed.append(k)
                digests.append((k, db))
        digests += [(k, digest(secret_key, str(b[k]))) for k in added]
        if changed:
            lines.append(f"{section} keys changed: {', '.join(changed)}")
    return lines, tuple(digests)


def _fields(old: Obj, new: Obj, paths: tuple[tuple[str, ...], ...]) -> list[str]:
    out = []
    for path in paths:
        a: Any = old
        b: Any = new
        for part in path:
            a, b = _d(a).get(part), _d(b).get(part)
        if a != b:
            name = ".".join(path)
            simple = all(isinstance(v, (int, str, bool)) or v is None for v in (a, b))
            out.append(f"{name}: {_plain(a)} → {_plain(b)}" if simple else f"{name} changed")
    return out


def _plain(value: Any) -> str:
    """A field's value as a manifest writes it: ``true``, ``unset`` for a field that is not there."""
    if value is None:
        return "unset"
    return str(value).lower() if isinstance(value, bool) else str(value)


WATCHED: dict[str, tuple[tuple[str, ...], ...]] = {
    "Service": (("spec", "selector"), ("spec", "ports"), ("spec", "type")),
    "Ingress": (("spec", "rules"), ("spec", "defaultBackend"), ("spec", "ingressClassName"), ("spec", "tls")),
    "HorizontalPodAutoscaler": (("spec", "minReplicas"), ("spec", "maxReplicas"), ("spec", "metrics")),
    "PersistentVolumeClaim": (("spec", "resources", "requests", "storage"),),
    "PodDisruptionBudget": (("spec", "minAvailable"), ("spec", "maxUnavailable"), ("spec", "selector")),
    "NetworkPolicy": (("spec", "podSelector"), ("spec", "policyTypes"), ("spec", "ingress"), ("spec", "egress")),
    "RoleBinding": (("subjects",), ("roleRef",)),
    "Node": (
        ("spec", "unschedulable"),
        ("spec", "taints"),
        ("metadata", "labels"),
        ("status", "nodeInfo", "kubeletVersion"),
    ),
}
_AREA: dict[str, Area] = {"HorizontalPodAutoscaler": "scale", "Node": "node"}


def version_change(old: Obj | None, new: Obj, secret_key: bytes, at: datetime) -> Change | None:
    """The change from ``old`` to ``new`` (the same object; ``old`` None: created), or None when nothing the
    change log keeps differs. ``at``: when the watcher saw it (managedFields' time when it says later)."""
    kind = str(new.get("kind", ""))
    if not recorded(new):
        return None
    before = old or {}
    lines: list[str] = []
    areas: set[Area] = set()
    lowered: list[str] = []
    digests: tuple[tuple[str, str], ...] = ()
    if kind in WORKLOADS:
        lines, areas, lowered = template_diff(pod_spec(before), pod_spec(new)) if old else ([], set(), [])
        for line in _fields(before, new, (("spec", "replicas"),)) if old else []:
            lines.append(line)
            areas.add("scale")
    elif kind in CONFIG_KINDS:
        lines, digests = _config(before, new, secret_key)
        areas.add("config")
    elif kind in WATCHED and old:
        lines = _fields(before, new, WATCHED[kind])
        if kind == "Node":
            changed = {line.split(":")[0].split(" ")[0] for line in lines}
            areas.add("metadata" if changed <= {"metadata.labels"} else "node")
        else:
            areas.add(_AREA.get(kind, "spec"))
    if old is None:
        lines.insert(0, "created")
    if not lines:
        return None
    manager, operation, written = _writer(new)
    when = written if written is not None and written > at else at
    annotations = _d(_d(new.get("metadata")).get("annotations"))
    return Change(
        at=when,
        subject=ref_of(new),
        summary="; ".join(lines[:3]) + (f"; {len(lines) - 3} more" if len(lines) > 3 else ""),
        areas=tuple(sorted(areas)),
        details=tuple(lines),
        who=manager,
        operation=operation or "watch",
        cause=str(annotations.get(CHANGE_CAUSE) or ""),
        source="watch",
        lowered=tuple(lowered),
        digests=digests,
    )
