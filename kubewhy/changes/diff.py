"""Differences between two pod templates, in words a person checks: image, env names, resources, probes, command,
ConfigMap and Secret references. Values of env variables and of Secrets are never written: a changed literal env
value reads ``env X changed``, a command ``command changed``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..quantity import parse_quantity
from .model import Area

Obj = dict[str, Any]
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def pod_spec(obj: Obj) -> Obj:
    """The pod template's spec of a workload (a ControllerRevision's ``data`` holds ``spec.template`` too)."""
    if obj.get("kind") == "ControllerRevision":
        obj = _d(obj.get("data"))
    spec = _d(obj.get("spec"))
    if obj.get("kind") == "CronJob":
        spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    return _d(_d(spec.get("template")).get("spec"))


def _by_name(spec: Obj) -> dict[str, Obj]:
    return {
        str(c.get("name", "")): c
        for group in ("initContainers", "containers")
        for c in _l(spec.get(group))
        if isinstance(c, dict)
    }


def _env(container: Obj) -> dict[str, str]:
    """env name → a comparable description of where its value comes from (a literal's value stays out of it)."""
    out = {}
    for e in _l(container.get("env")):
        if not isinstance(e, dict):
            continue
        src = _d(e.get("valueFrom"))
        if src:
            kind, ref = next(iter(src.items()))
            out[str(e.get("name", ""))] = f"{kind}:{_d(ref).get('name', '')}/{_d(ref).get('key', '')}"
        else:
            out[str(e.get("name", ""))] = "literal:" + str(hash(str(e.get("value", ""))))
    return out


def _refs(spec: Obj) -> set[str]:
    """ConfigMaps and Secrets the template mounts or reads env from, as ``ConfigMap/name``."""
    out = set()
    for v in _l(spec.get("volumes")):
        v = _d(v)
        if name := _d(v.get("configMap")).get("name"):
            out.add(f"ConfigMap/{name}")
        if name := _d(v.get("secret")).get("secretName"):
            out.add(f"Secret/{name}")
        for src in _l(_d(v.get("projected")).get("sources")):
            if name := _d(_d(src).get("configMap")).get("name"):
                out.add(f"ConfigMap/{name}")
            if name := _d(_d(src).get("secret")).get("name"):
                out.add(f"Secret/{name}")
    for c in _by_name(spec).values():
        for e in _l(c.get("envFrom")):
            if name := _d(_d(e).get("configMapRef")).get("name"):
                out.add(f"ConfigMap/{name}")
            if name := _d(_d(e).get("secretRef")).get("name"):
                out.add(f"Secret/{name}")
        for e in _l(c.get("env")):
            src = _d(_d(e).get("valueFrom"))
            if name := _d(src.get("configMapKeyRef")).get("name"):
                out.add(f"ConfigMap/{name}")
            if name := _d(src.get("secretKeyRef")).get("name"):
                out.add(f"Secret/{name}")
    return out


def references(obj: Obj) -> set[str]:
    """The ConfigMaps and Secrets a pod or a workload's template references (``ConfigMap/name``)."""
    return _refs(_d(obj.get("spec")) if obj.get("kind") == "Pod" else pod_spec(obj))


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_quantity(str(value))
    except ValueError:
        return None


def _went_down(section: str, old: Any, new: Any) -> bool:
    """A resource lowered: a smaller amount, or a limit set where there was none."""
    x, y = _amount(old), _amount(new)
    return (x is not None and y is not None and y < x) or (section == "limits" and x is None and y is not None)


def _resources(name: str, old: Obj, new: Obj) -> tuple[list[str], list[str]]:
    lines, lowered = [], []
    for section in ("limits", "requests"):
        a, b = _d(_d(old.get("resources")).get(section)), _d(_d(new.get("resources")).get(section))
        for res in sorted(set(a) | set(b)):
            if a.get(res) == b.get(res):
                continue
            lines.append(f"{name}: {res} {section[:-1]} {a.get(res, 'none')} → {b.get(res, 'none')}")
            if _went_down(section, a.get(res), b.get(res)):
                lowered.append(f"{res} {section[:-1]}")
    return lines, lowered


_RESOURCE_LINE = re.compile(r"(?P<name>[^:]+): (?P<res>\S+) (?P<section>limit|request) (?P<old>\S+) → (?P<new>\S+)")


def lowered_in(lines: Iterable[str]) -> list[str]:
    """The resources lowered, read back from :func:`template_diff`'s lines (a change log row keeps its lines):
    ``memory limit of container app``, as :func:`template_diff` says it."""
    out = []
    for line in lines:
        m = _RESOURCE_LINE.fullmatch(line)
        if m is None:
            continue
        old, new = (None if v == "none" else v for v in (m["old"], m["new"]))
        if _went_down(m["section"] + "s", old, new):
            out.append(f"{m['res']} {m['section']} of container {m['name']}")
    return out


def template_diff(old: Obj, new: Obj) -> tuple[list[str], set[Area], list[str]]:
    """(lines, areas touched, resources lowered) from pod spec ``old`` to ``new``."""
    lines: list[str] = []
    areas: set[Area] = set()
    lowered: list[str] = []
    a, b = _by_name(old), _by_name(new)
    for name in sorted(set(a) - set(b)):
        lines.append(f"container {name} removed")
        areas.add("template")
    for name in sorted(set(b) - set(a)):
        lines.append(f"container {name} added (image {b[name].get('image', '')})")
        areas.add("template")
    for name in sorted(set(a) & set(b)):
        o, n = a[name], b[name]
        if o.get("image") != n.get("image"):
            lines.append(f"{name}: image {o.get('image', '')} → {n.get('image', '')}")
            areas.add("image")
        ea, eb = _env(o), _env(n)
        added = sorted(set(eb) - set(ea))
        removed = sorted(set(ea) - set(eb))
        changed = sorted(k for k in set(ea) & set(eb) if ea[k] != eb[k])
        for label, keys in (("added", added), ("removed", removed), ("changed", changed)):
            if keys:
                lines.append(f"{name}: env {label}: {', '.join(keys)}")
                areas.add("env")
        if o.get("envFrom") != n.get("envFrom"):
            lines.append(f"{name}: envFrom changed")
            areas.add("env")
        res_lines, res_lowered = _resources(name, o, n)
        lines += res_lines
        lowered += [f"{r} of container {name}" for r in res_lowered]
        if res_lines:
            areas.add("resources")
        for probe in PROBES:
            if o.get(probe) != n.get(probe):
                verb = "added" if not o.get(probe) else "removed" if not n.get(probe) else "changed"
                lines.append(f"{name}: {probe} {verb}")
                areas.add("probes")
        for key in ("command", "args"):
            if o.get(key) != n.get(key):
                lines.append(f"{name}: {key} changed")
                areas.add("command")
        if o.get("volumeMounts") != n.get("volumeMounts"):
            lines.append(f"{name}: volumeMounts changed")
            areas.add("template")
    ra, rb = _refs(old), _refs(new)
    for ref in sorted(rb - ra):
        lines.append(f"now references {ref}")
        areas.add("config")
    for ref in sorted(ra - rb):
        lines.append(f"no longer references {ref}")
        areas.add("config")
    for key in ("nodeSelector", "tolerations", "affinity", "serviceAccountName"):
        if old.get(key) != new.get(key):
            lines.append(f"{key} changed")
            areas.add("template")
    return lines, areas, lowered
