"""Metric checks answered by the kubelets (through the API server's node proxy) when there is no Prometheus.

Each returns its figures in the shape of a ``prometheus`` instant result (``result: [{metric, value}]``, ``max``,
``value``), so a playbook reads whichever of the two answered, plus ``source``: where the figures came from.
With Prometheus configured these checks are skipped: its history is the better evidence.

Each node is read once (kubewhy/adapters/kubelet.py): rates come from a recent stored sample when there is one,
else a throttling ratio is the container's lifetime average and a growth is unknown. Nothing here waits, and a
check whose figures could not matter (no running container, no CPU limit, ``needed: false``) reads nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..adapters.ports import KubeletReader
from ..errors import AdapterError, CheckSkipped
from ..expressions import FUNCTIONS
from .builtin import BUILTIN
from .registry import CheckContext, Param, Shape, check

Obj = dict[str, Any]
_POD = Param("object", required=True, doc="the pod")
_NEEDED = Param("bool", doc="false: the playbook would not use the figures here, so the kubelet is not read")
_SERIES: dict[str, Shape] = {
    "result": ["object"],
    "empty": "bool",
    "max": "number",
    "min": "number",
    "value": "number",
    "source": "string",
    "seconds": "number",
}


def _kubelet(ctx: CheckContext, needed: bool = True) -> KubeletReader:
    if ctx.prom is not None:
        raise CheckSkipped("Prometheus is configured: its figures are used", reason="skipped")
    if ctx.kubelet is None:
        raise CheckSkipped("no kubelet to ask: not a live cluster", reason="skipped")
    if not needed:
        raise CheckSkipped("not needed: the playbook would not use the kubelet's figures here", reason="skipped")
    return ctx.kubelet


def _node_of(pod: Obj) -> str:
    node = str(((pod or {}).get("spec") or {}).get("nodeName") or "")
    if not node:
        raise CheckSkipped("the pod is not scheduled on a node", reason="skipped")
    return node


async def _answering(ctx: CheckContext, node: str) -> str:
    """The node, when its kubelet can answer: a node that is not Ready has none (the proxy would fail, after
    the reader's retries, or hang on the dial), so it is not asked. The node is read once per diagnosis; when it
    cannot be read (no rights to nodes), the kubelet is asked anyway and the proxy answers for itself."""
    try:
        obj = await ctx.kube.get("Node", None, node)
    except AdapterError:
        return node
    if obj is not None and not any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
        if isinstance(c, dict)
    ):
        raise CheckSkipped(f"no data: node {node} is not Ready, so its kubelet does not answer", reason="no-data")
    return node


def _running(pod: Obj) -> dict[str, str]:
    """The pod's running containers and when each started (``state.running.startedAt``)."""
    return {
        str(s.get("name")): str((((s.get("state") or {}).get("running")) or {}).get("startedAt") or "")
        for s in ((pod or {}).get("status") or {}).get("containerStatuses") or []
        if isinstance(s, dict) and ((s.get("state") or {}).get("running") is not None)
    }


def _seconds_since(stamp: str, ctx: CheckContext) -> float:
    try:
        started = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return max((ctx.clock() - started).total_seconds(), 0.0)


def _series(rows: list[Obj], measured: Obj, what: str) -> Obj:
    if not rows:
        raise CheckSkipped(f"no data: {what} ({measured['source']})", reason="no-data")
    values = [float(r["value"]) for r in rows]
    return {
        "result": rows,
        "empty": False,
        "max": max(values),
        "min": min(values),
        "value": values[0],
        "source": measured["source"],
        "seconds": measured["seconds"],
    }


@check(
    "kubelet_throttling",
    registry=BUILTIN,
    params={"pod": _POD, "needed": _NEEDED},
    timeout=20.0,
    result={**_SERIES, "recent": "bool", "since": "string", "window": "string", "caveat": "string"},
)
async def kubelet_throttling(ctx: CheckContext, pod: Obj, needed: bool | None = None) -> Obj:
    """CFS throttled periods / periods of each running container of a pod with a CPU limit, from one cAdvisor
    reading of its node: between a recent stored sample and now when there is one (``recent``), else the
    container's lifetime average since ``since`` (its start), which ``caveat`` calls inconclusive about now.
    Without a running container with a CPU limit (nothing to count) or when not ``needed``, nothing is read."""
    kubelet = _kubelet(ctx, needed is not False)
    meta = pod.get("metadata") or {}
    running = _running(pod)
    limited = {
        str(c.get("name"))
        for c in (pod.get("spec") or {}).get("containers") or []
        if isinstance(c, dict) and ((c.get("resources") or {}).get("limits") or {}).get("cpu")
    }
    if not limited & set(running):
        raise CheckSkipped(
            f"no data: no running container of pod {meta.get('name')} has a CPU limit, so no CFS periods are counted",
            reason="no-data",
        )
    measured = await kubelet.cpu_throttling(await _answering(ctx, _node_of(pod)))
    mine = [
        r
        for r in measured["containers"]
        if r["namespace"] == meta.get("namespace") and r["pod"] == meta.get("name") and r["container"] in running
    ]

    def window(r: Obj) -> str:
        if r["recent"]:
            return f"the last {FUNCTIONS['human'](measured['seconds'])}"
        since = running.get(r["container"], "")
        return f"the container's lifetime (since {since})" if since else "the container's lifetime"

    rows = [{"metric": {"container": r["container"], "window": window(r)}, "value": r["ratio"]} for r in mine]
    result = _series(rows, measured, f"no CFS periods counted for pod {meta.get('name')}")
    worst = max(mine, key=lambda r: r["ratio"])
    since = "" if worst["recent"] else running.get(worst["container"], "")
    result.update(
        recent=bool(worst["recent"]),
        since=since,
        seconds=measured["seconds"] if worst["recent"] else _seconds_since(since, ctx),
        window=window(worst),
        caveat=""
        if worst["recent"]
        else "a lifetime average from one kubelet sample: it does not show whether the container is throttled now",
    )
    return result


@check(
    "kubelet_memory",
    registry=BUILTIN,
    params={"pod": _POD, "needed": _NEEDED},
    timeout=20.0,
    result={**_SERIES, "growth": ["object"], "trend": "bool"},
)
async def kubelet_memory(ctx: CheckContext, pod: Obj, needed: bool | None = None) -> Obj:
    """The working set of each running container of a pod from one Summary API reading (``growth``: bytes per
    second since a recent stored sample, when there is one and the kubelet refreshed its figures; ``trend``
    false when it could not be measured). Without a running container, or when not ``needed``, nothing is read."""
    kubelet = _kubelet(ctx, needed is not False)
    meta = pod.get("metadata") or {}
    running = _running(pod)
    if not running:
        raise CheckSkipped(f"no data: no container of pod {meta.get('name')} is running", reason="no-data")
    measured = await kubelet.stats(await _answering(ctx, _node_of(pod)))
    mine = [
        r
        for r in measured["containers"]
        if r["namespace"] == meta.get("namespace") and r["pod"] == meta.get("name") and r["container"] in running
    ]
    rows = [{"metric": {"container": r["container"]}, "value": r["working_set"]} for r in mine]
    result = _series(rows, measured, f"the kubelet reports no container of pod {meta.get('name')}")
    result["growth"] = [
        {"metric": {"container": r["container"]}, "value": r["growth"]} for r in mine if r["growth"] is not None
    ]
    result["trend"] = bool(result["growth"])
    return result


@check(
    "kubelet_volume",
    registry=BUILTIN,
    params={
        "namespace": Param("string", required=True, doc="the PVC's namespace"),
        "claim": Param("string", required=True, doc="the PVC's name"),
    },
    timeout=20.0,
    result={
        "used": "number",
        "capacity": "number",
        "available": "number",
        "ratio": "number",
        "growth": "number",
        "trend": "bool",
        "source": "string",
        "seconds": "number",
    },
)
async def kubelet_volume(ctx: CheckContext, namespace: str, claim: str) -> Obj:
    """Used and capacity bytes of a PVC from the Summary API of the node of a running pod that mounts it
    (``growth``: used bytes per second since a recent stored sample; ``trend`` false when there was none)."""
    kubelet = _kubelet(ctx)
    pods = [
        p
        for p in await ctx.kube.list("Pod", namespace)
        if (p.get("status") or {}).get("phase") == "Running"
        and any(
            (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
            for v in (p.get("spec") or {}).get("volumes") or []
        )
    ]
    if not pods:
        raise CheckSkipped(f"no data: no running pod mounts PVC {claim}, so no kubelet reports it", reason="no-data")
    for node in sorted({_node_of(p) for p in pods}):
        try:
            measured = await kubelet.stats(await _answering(ctx, node))
        except CheckSkipped:
            continue
        for v in measured["volumes"]:
            if v["namespace"] == namespace and v["claim"] == claim and v["capacity"] > 0:
                return {
                    "used": v["used"],
                    "capacity": v["capacity"],
                    "available": v["available"],
                    "ratio": v["used"] / v["capacity"],
                    "growth": v["growth"] or 0.0,
                    "trend": v["growth"] is not None,
                    "source": measured["source"],
                    "seconds": measured["seconds"],
                }
    raise CheckSkipped(f"no data: the kubelets report no volume stats for PVC {claim}", reason="no-data")
