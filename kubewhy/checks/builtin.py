"""The built-in checks. Each gathers one fact through the ports and returns plain JSON-like data.

Object parameters (``of``, ``pod``) take an object already gathered (``{{ target }}``, ``{{ owner.top }}``);
kinds and names are strings. Every check is documented in docs/playbooks.md.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from .. import kinds, selectors
from ..errors import CheckSkipped
from ..redact import clean_log_lines
from .registry import CheckContext, CheckRegistry, Param, check

Obj = dict[str, Any]
BUILTIN = CheckRegistry()  # copied by kubewhy.checks.default_registry(); never handed out itself

_OBJ_REQUIRED = Param("object", required=True, doc="an object already gathered")
_EVENT: dict[str, Any] = {
    "reason": "string",
    "type": "string",
    "count": "int",
    "message": "string",
    "lastTimestamp": "string",
    "firstTimestamp": "string",
    "source": "string",
    "fieldPath": "string",
}


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _selector_string(selector: Any) -> str | None:
    """A LabelSelector (matchLabels/matchExpressions), a plain label map, or a string → selector text."""
    return selectors.to_text(selector)


@check(
    "object",
    registry=BUILTIN,
    params={
        "kind": Param("kind", required=True, doc="the object's kind, e.g. ConfigMap"),
        "name": Param("string", required=True, doc="its name (an empty name gives null)"),
        "namespace": Param("string", doc="its namespace (omit for cluster-scoped kinds)"),
    },
)
async def get_object(ctx: CheckContext, kind: str, name: str, namespace: str | None = None) -> Obj | None:
    """Read one object (null when it does not exist). Secret values are never returned."""
    if not name:
        return None
    return await ctx.kube.get(kind, namespace, name)


@check(
    "owner",
    registry=BUILTIN,
    params={"of": _OBJ_REQUIRED},
    result={"chain": ["object"], "top": "object", "kind": "string", "name": "string", "found": "bool"},
)
async def owner_chain(ctx: CheckContext, of: Obj) -> Obj:
    """Follow controller ownerReferences up (Pod → ReplicaSet → Deployment; Job → CronJob)."""
    chain: list[Obj] = []
    current = of
    for _ in range(4):
        ref = next((r for r in _meta(current).get("ownerReferences") or [] if r.get("controller")), None)
        if ref is None:
            break
        owner = (
            await ctx.kube.get(ref.get("kind", ""), _meta(current).get("namespace"), ref.get("name", ""))
            if ref.get("kind") in kinds.CONTROLLERS
            else None
        )
        if owner is None:
            break
        chain.append(owner)
        current = owner
    top = chain[-1] if chain else of
    return {
        "chain": chain,
        "top": top,
        "kind": top.get("kind", ""),
        "name": _meta(top).get("name", ""),
        "found": bool(chain),
    }


@check("node", registry=BUILTIN, params={"of": Param("object", required=True, doc="a pod")}, result="object:Node")
async def node_of(ctx: CheckContext, of: Obj) -> Obj | None:
    """The Node a pod is scheduled on (null when unscheduled or gone)."""
    name = ((of or {}).get("spec") or {}).get("nodeName")
    return await ctx.kube.get("Node", None, name) if name else None


@check(
    "events",
    registry=BUILTIN,
    params={
        "of": _OBJ_REQUIRED,
        "reason": Param("regex", doc="keep events whose reason matches this regular expression"),
        "type": Param("string", doc="keep events of this type (Normal or Warning)"),
    },
    result=[_EVENT],
)
async def events_for(ctx: CheckContext, of: Obj, reason: str | None = None, type: str | None = None) -> list[Obj]:
    """Events about an object, newest first; ``reason`` is a regular expression, ``type`` Normal/Warning."""
    meta = _meta(of)
    kind = (of or {}).get("kind", "")
    if not meta.get("name"):
        return []
    fs = f"involvedObject.kind={kind},involvedObject.name={meta['name']}"
    events = await ctx.kube.list("Event", meta.get("namespace"), field_selector=fs)
    if meta.get("uid"):
        events = [e for e in events if (e.get("involvedObject") or {}).get("uid") in (None, "", meta["uid"])]
    if reason:
        rx = re.compile(reason)
        events = [e for e in events if rx.search(e.get("reason", ""))]
    if type:
        events = [e for e in events if e.get("type") == type]

    def last(e: Obj) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp") or "")

    out = []
    for e in sorted(events, key=last, reverse=True):
        out.append(
            {
                "reason": e.get("reason", ""),
                "type": e.get("type", ""),
                "count": e.get("count") or 1,
                "message": _clean_message(str(e.get("message", ""))),
                "lastTimestamp": last(e),
                "firstTimestamp": str(e.get("firstTimestamp") or last(e)),
                "source": ((e.get("source") or {}).get("component") or e.get("reportingComponent") or ""),
                "fieldPath": (e.get("involvedObject") or {}).get("fieldPath", ""),
            }
        )
    return out


@functools.lru_cache(maxsize=4096)
def _clean_message(message: str) -> str:
    """An event's message, redacted and on one line. Cached: a crash-looping pod has dozens of events with the
    same message, and a diagnosis reads a target's events twice (its playbooks, the reason vocabulary)."""
    return " ".join(clean_log_lines(message))


def _crashing_container(pod: Obj) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if statuses:
        return str(max(statuses, key=lambda c: c.get("restartCount") or 0).get("name", ""))
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("name", ""))


@check(
    "logs",
    registry=BUILTIN,
    params={
        "pod": Param("object", required=True, doc="the pod"),
        "container": Param("string", doc="the container (default: the one restarted most)"),
        "previous": Param("bool", doc="the previous (crashed) container's logs"),
        "tail": Param("int", doc="how many lines (default: the configured log tail)"),
        "pattern": Param("regex", doc="lines matching this regular expression go to `matches`"),
    },
    result={
        "available": "bool",
        "container": "string",
        "previous": "bool",
        "lines": ["string"],
        "last": ["string"],
        "matches": ["string"],
    },
)
async def logs(
    ctx: CheckContext,
    pod: Obj,
    container: str | None = None,
    previous: bool = False,
    tail: int | None = None,
    pattern: str | None = None,
) -> Obj:
    """Log lines of a container (current or previous), redacted and truncated; ``pattern`` picks matches."""
    meta = _meta(pod)
    container = container or _crashing_container(pod or {})
    text = await ctx.kube.logs(
        meta.get("namespace", ""),
        meta.get("name", ""),
        container,
        previous=bool(previous),
        tail=int(tail or ctx.log_tail),
    )
    lines = clean_log_lines(text or "")
    matches = [ln for ln in lines if re.search(pattern, ln)] if pattern else []
    return {
        "available": text is not None,
        "container": container,
        "previous": bool(previous),
        "lines": lines,
        "last": lines[-5:],
        "matches": matches,
    }


@check(
    "list",
    registry=BUILTIN,
    params={
        "kind": Param("kind", required=True, doc="the kind to list"),
        "namespace": Param("string", doc="one namespace (default: all)"),
        "selector": Param("selector", doc="a label selector: a map, a LabelSelector or selector text"),
        "field_selector": Param("string", doc="a field selector, e.g. spec.nodeName=node-1"),
    },
    result=["object"],
)
async def list_objects(
    ctx: CheckContext, kind: str, namespace: str | None = None, selector: Any = None, field_selector: str | None = None
) -> list[Obj]:
    """List objects of a kind, optionally by label selector (map or string) and field selector."""
    if isinstance(selector, dict) and not selector:
        return []  # an empty selector map selects nothing here (a Service without selector)
    items = await ctx.kube.list(
        kind, namespace, label_selector=_selector_string(selector), field_selector=field_selector
    )
    return items


@check(
    "pods_for",
    registry=BUILTIN,
    params={"of": Param("object", required=True, doc="a workload, Service or PVC")},
    result=["object:Pod"],
)
async def pods_for(ctx: CheckContext, of: Obj) -> list[Obj]:
    """The pods behind a workload, a Service (its selector) or a PVC (pods mounting it)."""
    kind = (of or {}).get("kind")
    meta = _meta(of)
    ns = meta.get("namespace")
    if kind == "Service":
        selector = ((of.get("spec") or {}).get("selector")) or {}
        if not selector:
            return []
        return await ctx.kube.list("Pod", ns, label_selector=_selector_string(selector))
    if kind == "PersistentVolumeClaim":
        pods = await ctx.kube.list("Pod", ns)
        return [
            p
            for p in pods
            if any(
                ((v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name"))
                for v in (p.get("spec") or {}).get("volumes") or []
            )
        ]
    selector = ((of or {}).get("spec") or {}).get("selector")
    if not selector:
        return []
    return await ctx.kube.list("Pod", ns, label_selector=_selector_string(selector))


@check(
    "in_input",
    registry=BUILTIN,
    params={
        "kind": Param("kind", required=True, doc="the kind whose absence is to be read"),
        "namespace": Param("string", doc="one namespace (default: any)"),
    },
    result="bool",
)
async def in_input(ctx: CheckContext, kind: str, namespace: str | None = None) -> bool:
    """Whether the absence of ``kind`` means anything: always on a live cluster; on a snapshot or a paste only
    when the input holds objects of that kind (a pasted Service without its Endpoints proves no "no endpoints")."""
    inventory = ctx.kube.capabilities.inventory
    return inventory is None or inventory.holds(kind, namespace)


@check(
    "api_available",
    registry=BUILTIN,
    params={
        "group_version": Param("string", required=True, doc="e.g. metrics.k8s.io/v1beta1"),
    },
    result={"registered": "bool", "available": "bool", "reason": "string", "message": "string"},
)
async def api_available(ctx: CheckContext, group_version: str) -> Obj:
    """Whether an aggregated API (e.g. metrics.k8s.io/v1beta1) is registered and Available."""
    group, _, version = group_version.partition("/")
    svc = await ctx.kube.get("APIService", None, f"{version}.{group}")
    if svc is None:
        return {"registered": False, "available": False, "reason": "APIService not found", "message": ""}
    cond: Obj = next((c for c in (svc.get("status") or {}).get("conditions") or [] if c.get("type") == "Available"), {})
    return {
        "registered": True,
        "available": cond.get("status") == "True",
        "reason": cond.get("reason", ""),
        "message": cond.get("message", ""),
    }


@check(
    "prometheus",
    registry=BUILTIN,
    params={
        "query": Param("string", required=True, doc="PromQL; quote label values with q()"),
        "range": Param("bool", doc="query over the configured window instead of an instant"),
        "step": Param("number", doc="seconds between range points (default: window / 240, at least 15)"),
        "unit": Param("string", doc="bytes, ratio, cores or seconds: how a chart labels the series"),
        "lines": Param("number-map", doc="label → value of reference lines on a chart (e.g. the memory limit)"),
    },
    timeout=10.0,
    result={
        "result": ["object"],
        "series": ["object"],
        "empty": "bool",
        "max": "number",
        "min": "number",
        "value": "number",
        "last": "number",
        "query": "string",
        "unit": "string",
        "lines": {},
    },
)
async def prometheus(
    ctx: CheckContext,
    query: str,
    range: bool = False,
    step: float | None = None,
    unit: str | None = None,
    lines: dict[str, Any] | None = None,
) -> Obj:
    """A PromQL query (instant, or over the configured window with ``range: true``); skipped when it has no data.

    ``unit`` (bytes, ratio, cores, seconds) and ``lines`` (label → value, e.g. the memory limit) describe the
    series for a chart (kubewhy/charts.py) and are returned as they are.
    """
    if ctx.prom is None:
        raise CheckSkipped("no Prometheus configured", reason="no-prometheus")
    hints = {"unit": unit or "", "lines": {str(k): float(v) for k, v in (lines or {}).items()}}
    if range:
        seconds = ctx.prom_range_seconds
        series = await ctx.prom.query_range(query, seconds=seconds, step=float(step or max(seconds / 240, 15)))
        values = [v for s in series for _, v in s.get("values", []) if not math.isnan(v)]
        if not values:
            raise CheckSkipped(
                f"no data: Prometheus at {ctx.prom.endpoint} has no series for {query}", reason="no-data"
            )
        return {
            "series": series,
            "empty": False,
            "max": max(values),
            "min": min(values),
            "last": max((s["values"][-1][1] for s in series if s.get("values")), default=0.0),
            "query": query,
            **hints,
        }
    result = [r for r in await ctx.prom.query(query) if not math.isnan(r["value"])]
    if not result:
        raise CheckSkipped(f"no data: Prometheus at {ctx.prom.endpoint} has no series for {query}", reason="no-data")
    values = [r["value"] for r in result]
    return {
        "result": result,
        "empty": False,
        "max": max(values),
        "min": min(values),
        "value": values[0],
        "query": query,
        **hints,
    }


@check(
    "node_health",
    registry=BUILTIN,
    params={
        "pods": Param("objects", doc="pods whose nodes are checked for readiness"),
    },
    result={
        "total": "int",
        "ready": "int",
        "ready_schedulable": "int",
        "not_ready": ["string"],
        "pods_on_not_ready": ["string"],
    },
)
async def node_health(ctx: CheckContext, pods: list[Obj] | None = None) -> Obj:
    """Cluster-wide node counts, and which of the given pods' nodes are not Ready (counted here, not in CEL:
    a large cluster has hundreds of nodes)."""
    nodes = await ctx.kube.list("Node")
    ready, schedulable, not_ready = 0, 0, []
    for n in nodes:
        cond: Obj = next((c for c in (n.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
        if cond.get("status") == "True":
            ready += 1
            if not (n.get("spec") or {}).get("unschedulable"):
                schedulable += 1
        else:
            not_ready.append(_meta(n).get("name", ""))
    used = {((p or {}).get("spec") or {}).get("nodeName") for p in pods or []} - {None, ""}
    return {
        "total": len(nodes),
        "ready": ready,
        "ready_schedulable": schedulable,
        "not_ready": sorted(not_ready),
        "pods_on_not_ready": sorted(used & set(not_ready)),
    }
