"""Label and field selectors, parsed with the same grammar the API server accepts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class SelectorError(ValueError):
    pass


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur or parts:
        parts.append("".join(cur).strip())
    return [p for p in parts if p]


_SET_RE = re.compile(r"^([A-Za-z0-9_./-]+)\s+(in|notin)\s*\(([^)]*)\)$")
_OP_RE = re.compile(r"^([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)$")
_EXISTS_RE = re.compile(r"^(!?)\s*([A-Za-z0-9_./-]+)$")


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    op: str  # =, !=, in, notin, exists, !exists
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def parse_label_selector(text: str | None) -> list[LabelRequirement]:
    reqs = []
    for part in _split_top(text or ""):
        if m := _SET_RE.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(LabelRequirement(m.group(1), m.group(2), values))
        elif m := _OP_RE.match(part):
            reqs.append(LabelRequirement(m.group(1), "!=" if m.group(2) == "!=" else "=", (m.group(3),)))
        elif m := _EXISTS_RE.match(part):
            reqs.append(LabelRequirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {part!r}")
    return reqs


def label_predicate(text: str | None) -> Predicate | None:
    reqs = parse_label_selector(text)
    if not reqs:
        return None

    def pred(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return pred


def field_value(obj: dict[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(text: str | None) -> list[tuple[str, str, str]]:
    out = []
    for part in _split_top(text or ""):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                out.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise SelectorError(f"invalid selector: {part!r}; can't understand {part!r}")
    return out


_COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
# The field labels the API server supports per resource (group, plural), beyond metadata.name/namespace
# (k8s.io/kubernetes pkg/registry/*/strategy.go ...FieldsSet); anything else is a 400.
FIELD_LABELS: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        }
    ),
    ("", "events"): frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    ("", "nodes"): frozenset({"spec.unschedulable"}),
    ("", "namespaces"): frozenset({"status.phase"}),
    ("", "secrets"): frozenset({"type"}),
    ("", "services"): frozenset({"spec.clusterIP", "spec.type"}),
    ("", "replicationcontrollers"): frozenset({"status.replicas"}),
    ("", "persistentvolumes"): frozenset({"name"}),
    ("apps", "replicasets"): frozenset({"status.replicas"}),
    ("batch", "jobs"): frozenset({"status.successful"}),
    ("certificates.k8s.io", "certificatesigningrequests"): frozenset({"spec.signerName"}),
}


def check_field_labels(text: str | None, supported: frozenset[str], aliases: dict[str, str] | None = None) -> None:
    """A :class:`SelectorError` naming the first field the resource does not support."""
    for key, _, _ in parse_field_selector(text):
        if key not in _COMMON_FIELDS and (aliases or {}).get(key, key) not in supported:
            raise SelectorError(f"field label not supported: {key}")


def field_predicate(text: str | None, aliases: dict[str, str] | None = None) -> Predicate | None:
    reqs = parse_field_selector(text)
    if not reqs:
        return None
    aliases = aliases or {}

    def pred(obj: dict[str, Any]) -> bool:
        for key, op, value in reqs:
            actual = field_value(obj, aliases.get(key, key))
            if (actual == value) != (op == "="):
                return False
        return True

    return pred


def match_labels(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Evaluate a structured LabelSelector (matchLabels/matchExpressions); an empty selector matches all."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(expr.get("operator"))
        if op and not LabelRequirement(expr.get("key", ""), op, tuple(expr.get("values") or ())).matches(labels):
            return False
    return True
