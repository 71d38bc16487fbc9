"""Label and field selectors, once for the whole core: the text grammar the API server accepts, the structured
LabelSelector (matchLabels + matchExpressions) of workloads, PDBs and ServiceMonitors, and matching.

The live reader sends selector text to the API server; the snapshot reader evaluates the same text here, so
a selector means the same thing offline. Workloads' selectors go through :func:`to_text`, which keeps
``matchExpressions`` (In, NotIn, Exists, DoesNotExist) instead of silently dropping them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


class SelectorError(ValueError):
    """A selector that cannot be parsed or evaluated; the message quotes the offending part."""


# ---- label selectors ------------------------------------------------------------------------------------------

_KEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")
_EQ = re.compile(rf"^({_KEY})\s*(==|!=|=)\s*(\S*)$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")
_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


@dataclass(frozen=True)
class Requirement:
    """One part of a label selector: ``key=v``, ``key!=v``, ``key in (a,b)``, ``key notin (a)``, ``key``,
    ``!key``."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present

    def __str__(self) -> str:
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{self.values[0]}"
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({','.join(self.values)})"
        return self.key if self.op == "exists" else f"!{self.key}"


def _split_top(text: str) -> list[str]:
    """Split on the commas that are not inside parentheses."""
    parts: list[str] = []
    depth, current = 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in selector {text!r}")
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if depth:
        raise SelectorError(f"unclosed '(' in selector {text!r}")
    parts.append(current.strip())
    if len(parts) > 1 and not all(parts):
        raise SelectorError(f"empty requirement in selector {text!r}")
    return [p for p in parts if p]


def _check_value(value: str, part: str) -> str:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(
            f"invalid label value {value!r} in {part!r}: at most 63 letters, digits, '-', '_' "
            f"or '.', starting and ending with a letter or digit"
        )
    return value


def parse(text: str | None) -> tuple[Requirement, ...]:
    """Parse label-selector text (``app=web,tier in (a,b),!canary``); an empty text selects everything."""
    out: list[Requirement] = []
    for part in _split_top(text or ""):
        if m := _SET.match(part):
            values = tuple(_check_value(v.strip(), part) for v in m.group(3).split(","))
            if values == ("",):
                raise SelectorError(f"{m.group(2)} needs at least one value in {part!r}")
            out.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ.match(part):
            out.append(Requirement(m.group(1), "!=" if m.group(2) == "!=" else "=", (_check_value(m.group(3), part),)))
        elif m := _EXISTS.match(part):
            out.append(Requirement(m.group(2), "!" if m.group(1) else "exists"))
        else:
            raise SelectorError(
                f"cannot parse label selector requirement {part!r}: expected key=value, key!=value, "
                f"key in (a,b), key notin (a,b), key or !key"
            )
    return tuple(out)


def matches(text: str | None, labels: Mapping[str, str] | None) -> bool:
    """Whether labels satisfy selector text (every requirement)."""
    return all(r.matches(labels or {}) for r in parse(text))


def _requirements(selector: Mapping[str, Any]) -> list[Requirement]:
    """The requirements of a LabelSelector (``matchLabels`` and ``matchExpressions``) or of a plain label map."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return [Requirement(str(k), "=", (str(v),)) for k, v in selector.items()]
    reqs = [Requirement(str(k), "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        if not isinstance(expr, Mapping) or not expr.get("key"):
            raise SelectorError(f"matchExpressions[{i}] needs a key and an operator")
        op = _OPERATORS.get(str(expr.get("operator")))
        if op is None:
            raise SelectorError(
                f"matchExpressions[{i}] has unknown operator {expr.get('operator')!r}; known: {', '.join(_OPERATORS)}"
            )
        values = tuple(str(v) for v in expr.get("values") or ())
        if op in ("in", "notin") and not values:
            raise SelectorError(f"matchExpressions[{i}] ({expr['key']} {expr['operator']}) needs values")
        reqs.append(Requirement(str(expr["key"]), op, values))
    return reqs


def to_text(selector: Mapping[str, Any] | str | None) -> str | None:
    """A LabelSelector, a plain label map (a Service's spec.selector) or selector text → selector text.

    None when the selector has no requirement at all (callers decide whether that means "none" or "all").
    Text is validated, so a bad selector fails here with a clear message rather than at the API server.
    """
    if selector is None or selector == "":
        return None
    if isinstance(selector, str):
        parse(selector)
        return selector
    if not isinstance(selector, Mapping):
        raise SelectorError(f"a selector must be a map or text, got {type(selector).__name__}")
    reqs = _requirements(selector)
    return ",".join(str(r) for r in reqs) or None


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether labels satisfy a LabelSelector or a plain map, as the API defines it: a null selector matches
    nothing, an empty one everything."""
    if selector is None:
        return False
    return all(r.matches(labels or {}) for r in _requirements(selector))


def label_predicate(text: str | None) -> Predicate | None:
    """A test on objects' metadata.labels, or None when the text selects everything."""
    reqs = parse(text)
    if not reqs:
        return None

    def pred(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return pred


# ---- field selectors --------------------------------------------------------------------------------------------

# The field labels the API server supports per kind (besides metadata.name and metadata.namespace, which every
# kind supports), with the object path each reads. A field the API server would refuse is refused here too.
_COMMON = {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}
FIELDS: dict[str, dict[str, str]] = {
    "Pod": {
        f: f
        for f in (
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        )
    },
    "Event": {
        **{
            f"involvedObject.{f}": f"involvedObject.{f}"
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        "reason": "reason",
        "reportingComponent": "reportingComponent",
        "type": "type",
        "source": "source.component",
    },
    "Node": {"spec.unschedulable": "spec.unschedulable"},
    "Namespace": {"status.phase": "status.phase"},
    "Secret": {"type": "type"},
    "ReplicaSet": {"status.replicas": "status.replicas"},
    "Job": {"status.successful": "status.successful"},
    "Service": {"spec.clusterIP": "spec.clusterIP", "spec.type": "spec.type"},
    "PersistentVolumeClaim": {"spec.volumeName": "spec.volumeName"},
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    path: str  # where the value is read in the object
    equal: bool
    value: str


def _value_at(obj: Obj, path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_fields(text: str | None, kind: str) -> tuple[FieldRequirement, ...]:
    """Parse field-selector text (``spec.nodeName=n1,status.phase!=Running``) for objects of ``kind``."""
    supported = {**_COMMON, **FIELDS.get(kind, {})}
    out: list[FieldRequirement] = []
    for part in _split_top(text or ""):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise SelectorError(
                f"cannot parse field selector requirement {part!r}: expected field=value or field!=value"
            )
        field, op, value = m.group(1), m.group(2), m.group(3).strip()
        if field not in supported:
            raise SelectorError(
                f"field label {field!r} is not supported for {kind}; supported: {', '.join(sorted(supported))}"
            )
        out.append(FieldRequirement(field, supported[field], op != "!=", value))
    return tuple(out)


def field_predicate(text: str | None, kind: str) -> Predicate | None:
    """A test on objects of ``kind`` for field-selector text, or None when the text selects everything."""
    reqs = parse_fields(text, kind)
    if not reqs:
        return None

    def pred(obj: Obj) -> bool:
        return all((_value_at(obj, r.path) == r.value) == r.equal for r in reqs)

    return pred
