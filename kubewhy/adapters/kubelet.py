"""Metric evidence without Prometheus: the kubelet's own endpoints, read through the API server's node proxy.

A cluster without Prometheus still has, on every node, cAdvisor counters (``/metrics/cadvisor``) and the Summary
API (``/stats/summary``); ``kubectl get --raw /api/v1/nodes/NODE/proxy/...`` reads them with ``nodes/proxy``
rights. Counters say nothing on their own, so each node is read twice, ``interval`` seconds apart: the CFS
throttling ratio is Δthrottled periods / Δperiods, and the growth of a working set or a volume is the change
between the two Summary samples (None when the kubelet had not refreshed its figures in between).

One measurement per node serves every check for ``ttl`` seconds: all the pods of a node, and every diagnosis
of a demo or a bot, share it (single flight, as :mod:`.cache` does for API reads).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import KubeApiError
from .ports import NodeProxy, Obj

CADVISOR = "metrics/cadvisor"
SUMMARY = "stats/summary"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_FAMILIES = ("container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total")
Key = tuple[str, str, str]  # namespace, pod, container


def parse_counters(text: str, names: tuple[str, ...] = _FAMILIES) -> dict[str, dict[Key, float]]:
    """The samples of the named families in Prometheus text format, by (namespace, pod, container).

    cAdvisor's pod-level cgroup (``container=""``) and the pause container (``POD``) are left out."""
    out: dict[str, dict[Key, float]] = {n: {} for n in names}
    for line in text.splitlines():
        if not line or line.startswith("#") or not line.startswith(names):
            continue
        match = _SAMPLE.match(line.strip())
        if match is None or match.group(1) not in out:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(match.group(2) or "")}
        container = labels.get("container", "")
        if container in ("", "POD"):
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        out[match.group(1)][(labels.get("namespace", ""), labels.get("pod", ""), container)] = value
    return out


def throttling(first: str, second: str) -> list[Obj]:
    """Throttled periods / periods between two cAdvisor scrapes, per container with a CPU limit whose counters
    advanced (a container without a limit has no CFS periods)."""
    a, b = parse_counters(first), parse_counters(second)
    periods, throttled = _FAMILIES
    rows = []
    for key, end in sorted(b[periods].items()):
        start = a[periods].get(key)
        if start is None or end <= start:
            continue
        delta = b[throttled].get(key, 0.0) - a[throttled].get(key, 0.0)
        ns, pod, container = key
        rows.append(
            {
                "namespace": ns,
                "pod": pod,
                "container": container,
                "ratio": min(max(delta / (end - start), 0.0), 1.0),
                "periods": end - start,
            }
        )
    return rows


def _growth(a: Obj | None, b: Obj, field: str, seconds: float) -> float | None:
    """Bytes per second between two Summary entries; None when the kubelet's figure is not newer."""
    if a is None or seconds <= 0 or a.get("time") == b.get("time") or field not in a or field not in b:
        return None
    return (float(b[field]) - float(a[field])) / seconds


def summary_figures(first: Obj, second: Obj, seconds: float) -> Obj:
    """Working set per container and used/capacity per PVC from two ``/stats/summary`` answers."""

    def containers(doc: Obj) -> dict[Key, Obj]:
        return {
            (p.get("podRef", {}).get("namespace", ""), p.get("podRef", {}).get("name", ""), c.get("name", "")): c.get(
                "memory"
            )
            or {}
            for p in doc.get("pods") or []
            for c in p.get("containers") or []
        }

    def volumes(doc: Obj) -> dict[tuple[str, str], Obj]:
        return {
            (v["pvcRef"].get("namespace", ""), v["pvcRef"].get("name", "")): v
            for p in doc.get("pods") or []
            for v in p.get("volume") or []
            if v.get("pvcRef")
        }

    before, after = containers(first), containers(second)
    rows = [
        {
            "namespace": k[0],
            "pod": k[1],
            "container": k[2],
            "working_set": float(m["workingSetBytes"]),
            "growth": _growth(before.get(k), m, "workingSetBytes", seconds),
        }
        for k, m in sorted(after.items())
        if "workingSetBytes" in m
    ]
    vol_before = volumes(first)
    vols = []
    for k, v in sorted(volumes(second).items()):
        if "usedBytes" not in v or "capacityBytes" not in v:
            continue
        used, cap = float(v["usedBytes"]), float(v["capacityBytes"])
        vols.append(
            {
                "namespace": k[0],
                "claim": k[1],
                "used": used,
                "capacity": cap,
                "available": float(v.get("availableBytes", max(cap - used, 0.0))),
                "growth": _growth(vol_before.get(k), v, "usedBytes", seconds),
            }
        )
    return {"containers": rows, "volumes": vols}


class KubeletStats:
    """:class:`~kubewhy.adapters.ports.KubeletReader` over a :class:`NodeProxy` (the live kube adapter)."""

    def __init__(
        self, proxy: NodeProxy, *, interval: float = 2.0, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.proxy = proxy
        self.interval = interval
        self.ttl = ttl
        self.clock = clock
        self._flights: dict[tuple[str, str], tuple[float, asyncio.Future[Any]]] = {}

    def _source(self, node: str, path: str) -> str:
        return (
            f"kubelet of {node} via the API server's node proxy (/api/v1/nodes/{node}"
            f"/proxy/{path}), two samples {self.interval:g}s apart"
        )

    async def _once(self, node: str, path: str, measure: Callable[[], Awaitable[Obj]]) -> Obj:
        now = self.clock()
        held = self._flights.get((node, path))
        failed = held is not None and held[1].done() and (held[1].cancelled() or held[1].exception() is not None)
        if held is None or failed or now - held[0] > self.ttl:
            held = (now, asyncio.ensure_future(measure()))
            self._flights[(node, path)] = held
        result: Obj = await asyncio.shield(held[1])
        return result

    async def _pair(self, node: str, path: str) -> tuple[str, str, float]:
        first = await self.proxy.node_proxy(node, path)
        started = self.clock()
        await asyncio.sleep(self.interval)
        second = await self.proxy.node_proxy(node, path)
        return first, second, max(self.clock() - started, self.interval)

    async def cpu_throttling(self, node: str) -> Obj:
        async def measure() -> Obj:
            first, second, seconds = await self._pair(node, CADVISOR)
            return {"source": self._source(node, CADVISOR), "seconds": seconds, "containers": throttling(first, second)}

        return await self._once(node, CADVISOR, measure)

    async def stats(self, node: str) -> Obj:
        async def measure() -> Obj:
            first, second, seconds = await self._pair(node, SUMMARY)
            try:
                docs = json.loads(first), json.loads(second)
            except ValueError:
                raise KubeApiError(
                    f"the kubelet of {node} answered /{SUMMARY} with something that is not JSON: {second[:120]!r}"
                ) from None
            return {
                "source": self._source(node, SUMMARY),
                "seconds": seconds,
                **summary_figures(docs[0], docs[1], seconds),
            }

        return await self._once(node, SUMMARY, measure)


__all__ = ["KubeletStats", "parse_counters", "summary_figures", "throttling"]
