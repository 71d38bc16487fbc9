"""Metric checks answered by the kubelets (through the API server's node proxy) when there is no Prometheus.

Each returns its figures in the shape of a ``prometheus`` instant result (``result: [{metric, value}]``, ``max``,
``value``), so a playbook reads whichever of the two answered, plus ``source``: where the figures came from.
With Prometheus configured these checks are skipped: its history is the better evidence.
"""

from __future__ import annotations

from typing import Any

from ..adapters.ports import KubeletReader
from ..errors import CheckSkipped
from .builtin import BUILTIN
from .registry import CheckContext, Param, Shape, check

Obj = dict[str, Any]
_POD = Param("object", required=True, doc="the pod")
_SERIES: dict[str, Shape] = {
    "result": ["object"],
    "empty": "bool",
    "max": "number",
    "min": "number",
    "value": "number",
    "source": "string",
    "seconds": "number",
}


def _kubelet(ctx: CheckContext) -> KubeletReader:
    if ctx.prom is not None:
        raise CheckSkipped("Prometheus is configured: its figures are used", reason="skipped")
    if ctx.kubelet is None:
        raise CheckSkipped("no kubelet to ask: not a live cluster", reason="skipped")
    return ctx.kubelet


def _node_of(pod: Obj) -> str:
    node = str(((pod or {}).get("spec") or {}).get("nodeName") or "")
    if not node:
        raise CheckSkipped("the pod is not scheduled on a node", reason="skipped")
    return node


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


@check("kubelet_throttling", registry=BUILTIN, params={"pod": _POD}, timeout=20.0, result=_SERIES)
async def kubelet_throttling(ctx: CheckContext, pod: Obj) -> Obj:
    """CFS throttled periods / periods of each container of a pod, from two cAdvisor scrapes of its node."""
    kubelet = _kubelet(ctx)
    meta = pod.get("metadata") or {}
    measured = await kubelet.cpu_throttling(_node_of(pod))
    rows = [
        {"metric": {"container": r["container"]}, "value": r["ratio"]}
        for r in measured["containers"]
        if r["namespace"] == meta.get("namespace") and r["pod"] == meta.get("name")
    ]
    return _series(rows, measured, f"no CFS periods counted for pod {meta.get('name')} (no CPU limit?)")


@check("kubelet_memory", registry=BUILTIN, params={"pod": _POD}, timeout=20.0, result={**_SERIES, "growth": ["object"]})
async def kubelet_memory(ctx: CheckContext, pod: Obj) -> Obj:
    """The working set of each running container of a pod (``growth``: bytes per second between two Summary API
    samples, when the kubelet refreshed its figures in between)."""
    kubelet = _kubelet(ctx)
    meta = pod.get("metadata") or {}
    measured = await kubelet.stats(_node_of(pod))
    mine = [
        r for r in measured["containers"] if r["namespace"] == meta.get("namespace") and r["pod"] == meta.get("name")
    ]
    rows = [{"metric": {"container": r["container"]}, "value": r["working_set"]} for r in mine]
    result = _series(rows, measured, f"the kubelet reports no container of pod {meta.get('name')}")
    result["growth"] = [
        {"metric": {"container": r["container"]}, "value": r["growth"]} for r in mine if r["growth"] is not None
    ]
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
    (``growth``: used bytes per second between two samples; ``trend`` false when it could not be measured)."""
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
        measured = await kubelet.stats(node)
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
