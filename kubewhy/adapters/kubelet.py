"""Metric evidence without Prometheus: the kubelet's own endpoints, read through the API server's node proxy.

A cluster without Prometheus still has, on every node, cAdvisor counters (``/metrics/cadvisor``) and the Summary
API (``/stats/summary``); ``kubectl get --raw /api/v1/nodes/NODE/proxy/...`` reads them with ``nodes/proxy``
rights. Each node is read **once**: nothing here waits.

- **With a recent sample** of the same node (from a provider of stored samples, :class:`RecentSamples`: the
  kubelet sampler's, or this reader's own earlier reading in a long-running process), figures are rates between
  that sample and this reading: the CFS throttling ratio is Δthrottled periods / Δperiods, the growth of a
  working set or a volume is the change per second. "Recent" means at least :data:`MIN_WINDOW` and at most
  :data:`MAX_AGE` seconds old.
- **Without one**, the counters are cumulative since the container started, so the throttling ratio is the
  container's *lifetime* average (``recent`` false: the check labels it with the start time and calls it
  inconclusive about now), and there is no growth (None).

- **With the kubelet sampler's last two readings** of the node's counters (the watchers' sampler keeps them in
  the audit database) and the newest at most ``fresh`` seconds old, the throttling ratio is taken between those
  two with **no request at all**: the pages and ``/k8s why`` share the sampler's evidence.

A second reading a short moment later would not help: the kubelet refreshes container statistics on cAdvisor's
housekeeping interval (10 s by default) and volume statistics every minute, so a re-read within seconds mostly
returns the same counters, and waiting longer is a fixed wait on every diagnosis.

One reading per node and endpoint serves every check for ``ttl`` seconds: all the pods of a node, and every
diagnosis of a demo or a bot, share it (single flight, as :mod:`.cache` does for API reads).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import KubeApiError
from .ports import NodeProxy, Obj

CADVISOR = "metrics/cadvisor"
SUMMARY = "stats/summary"
MIN_WINDOW = 10.0  # seconds: cAdvisor's housekeeping interval; a shorter window mostly sees unchanged counters
MAX_AGE = 900.0  # seconds: an older sample no longer says what happens now
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_FAMILIES = ("container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total")
Key = tuple[str, str, str]  # namespace, pod, container


@dataclass(frozen=True)
class Sample:
    """One reading of a node's kubelet endpoint: when (wall clock, epoch seconds) and the parsed figures
    (:func:`parse_counters` of ``/metrics/cadvisor``, the JSON document of ``/stats/summary``)."""

    at: float
    figures: Any


class RecentSamples(Protocol):
    """Stored samples of the kubelets (the kubelet sampler's; :class:`MemorySamples` by default), oldest first."""

    async def recent(self, node: str, path: str) -> Sequence[Sample]:
        """The samples kept for that node and endpoint (``CADVISOR`` or ``SUMMARY``), oldest first."""

    def keep(self, node: str, path: str, sample: Sample) -> None:
        """Remember a reading made by a diagnosis (a store may ignore it)."""


class MemorySamples:
    """The last ``per_node`` readings of each node and endpoint, for ``nodes`` nodes at most (least recently read
    dropped first): a long-running front-end's later diagnoses get rates from its earlier ones."""

    def __init__(self, *, per_node: int = 2, nodes: int = 1000):
        self.per_node, self.nodes = per_node, nodes
        self._kept: OrderedDict[tuple[str, str], list[Sample]] = OrderedDict()

    async def recent(self, node: str, path: str) -> Sequence[Sample]:
        return list(self._kept.get((node, path), ()))

    def keep(self, node: str, path: str, sample: Sample) -> None:
        kept = self._kept.setdefault((node, path), [])
        kept.append(sample)
        del kept[: -self.per_node]
        self._kept.move_to_end((node, path))
        while len(self._kept) > self.nodes * 2:
            self._kept.popitem(last=False)


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


def throttling(now: dict[str, dict[Key, float]], before: dict[str, dict[Key, float]] | None = None) -> list[Obj]:
    """Throttled periods / periods per container with a CPU limit (a container without one has no CFS periods),
    from parsed counters (:func:`parse_counters`).

    With an earlier sample (``before``), a container whose counters advanced since then gets the ratio between the
    two (``recent`` true); otherwise, or when its counters went back (a restarted container has new ones), the
    ratio of the totals: its lifetime average (``recent`` false)."""
    periods, throttled = _FAMILIES
    rows = []
    for key, end in sorted(now[periods].items()):
        if end <= 0:
            continue
        total = now[throttled].get(key, 0.0)
        start = None if before is None else before[periods].get(key)
        start_throttled = None if before is None else before[throttled].get(key, 0.0)
        recent = start is not None and start_throttled is not None and end > start and total >= start_throttled
        if recent:
            assert start is not None and start_throttled is not None
            ratio, counted = (total - start_throttled) / (end - start), end - start
        else:
            ratio, counted = total / end, end
        ns, pod, container = key
        rows.append(
            {
                "namespace": ns,
                "pod": pod,
                "container": container,
                "ratio": min(max(ratio, 0.0), 1.0),
                "periods": counted,
                "recent": recent,
            }
        )
    return rows


def _growth(a: Obj | None, b: Obj, field: str, seconds: float) -> float | None:
    """Bytes per second between two Summary entries; None when there is no earlier one or the kubelet's figure
    is not newer."""
    if a is None or seconds <= 0 or a.get("time") == b.get("time") or field not in a or field not in b:
        return None
    return (float(b[field]) - float(a[field])) / seconds


def summary_figures(doc: Obj, before: Obj | None = None, seconds: float = 0.0) -> Obj:
    """Working set per container and used/capacity per PVC from a ``/stats/summary`` answer; ``growth`` (bytes
    per second) from an earlier answer ``seconds`` before, else None."""

    def containers(d: Obj) -> dict[Key, Obj]:
        return {
            (p.get("podRef", {}).get("namespace", ""), p.get("podRef", {}).get("name", ""), c.get("name", "")): c.get(
                "memory"
            )
            or {}
            for p in d.get("pods") or []
            for c in p.get("containers") or []
        }

    def volumes(d: Obj) -> dict[tuple[str, str], Obj]:
        return {
            (v["pvcRef"].get("namespace", ""), v["pvcRef"].get("name", "")): v
            for p in d.get("pods") or []
            for v in p.get("volume") or []
            if v.get("pvcRef")
        }

    earlier = containers(before) if before is not None else {}
    rows = [
        {
            "namespace": k[0],
            "pod": k[1],
            "container": k[2],
            "working_set": float(m["workingSetBytes"]),
            "growth": _growth(earlier.get(k), m, "workingSetBytes", seconds),
        }
        for k, m in sorted(containers(doc).items())
        if "workingSetBytes" in m
    ]
    vol_before = volumes(before) if before is not None else {}
    vols = []
    for k, v in sorted(volumes(doc).items()):
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
    """:class:`~kubewhy.adapters.ports.KubeletReader` over a :class:`NodeProxy` (the live kube adapter).

    ``samples``: where recent samples come from and where readings are kept (default: :class:`MemorySamples`);
    ``clock``: wall-clock seconds, as samples are stamped."""

    def __init__(
        self,
        proxy: NodeProxy,
        *,
        samples: RecentSamples | None = None,
        ttl: float = 30.0,
        min_window: float = MIN_WINDOW,
        max_age: float = MAX_AGE,
        fresh: float = 0.0,
        clock: Callable[[], float] = time.time,
    ):
        self.proxy = proxy
        self.samples: RecentSamples = samples if samples is not None else MemorySamples()
        self.ttl, self.min_window, self.max_age = ttl, min_window, max_age
        self.fresh = fresh  # a stored sample at most this old, with an earlier one, is used without a request
        self.clock = clock
        self._flights: dict[tuple[str, str], tuple[float, asyncio.Future[Any]]] = {}

    def _source(self, node: str, path: str, window: float | None, stored: float | None = None) -> str:
        if stored is not None and window is not None:
            return (
                f"kubelet of {node} via the API server's node proxy (/api/v1/nodes/{node}/proxy/{path}), change "
                f"between the kubelet sampler's last two readings, {window:.0f}s apart, the last {stored:.0f}s ago"
            )
        how = (
            f"change since a sample {window:.0f}s earlier"
            if window is not None
            else "one sample"
            + (", counters since each container started" if path == CADVISOR else ", no earlier sample for a trend")
        )
        return f"kubelet of {node} via the API server's node proxy (/api/v1/nodes/{node}/proxy/{path}), {how}"

    async def _once(self, node: str, path: str, measure: Callable[[], Awaitable[Obj]]) -> Obj:
        now = self.clock()
        held = self._flights.get((node, path))
        failed = held is not None and held[1].done() and (held[1].cancelled() or held[1].exception() is not None)
        if held is None or failed or now - held[0] > self.ttl:
            held = (now, asyncio.ensure_future(measure()))
            self._flights[(node, path)] = held
        result: Obj = await asyncio.shield(held[1])
        return result

    async def _stored(self, node: str, path: str) -> tuple[Sample, Sample] | None:
        """The kubelet sampler's last two readings of the node's counters, when the newest is at most ``fresh``
        seconds old and the two are far enough apart for a rate: the throttling ratio with no request at all."""
        if self.fresh <= 0:
            return None
        try:
            kept = list(await self.samples.recent(node, path))
        except Exception:  # noqa: BLE001 - a store that fails costs the shortcut, not the reading
            return None
        if not kept or not 0 <= self.clock() - kept[-1].at <= self.fresh:
            return None
        newest = kept[-1]
        earlier = next((s for s in reversed(kept[:-1]) if self.min_window <= newest.at - s.at <= self.max_age), None)
        return None if earlier is None else (newest, earlier)

    async def _read(self, node: str, path: str, parse: Callable[[str], Any]) -> tuple[Sample, Sample | None]:
        """This reading (one request) and the newest stored sample in the recent window, asked concurrently. A
        store that fails costs the rate, not the reading: the figures are then those of one sample."""
        text, kept = await asyncio.gather(
            self.proxy.node_proxy(node, path), self.samples.recent(node, path), return_exceptions=True
        )
        if isinstance(text, BaseException):
            raise text
        if isinstance(kept, BaseException):
            if not isinstance(kept, Exception):
                raise kept
            kept = ()
        now = Sample(self.clock(), parse(text))
        earlier = next(
            (s for s in reversed(kept) if self.min_window <= now.at - s.at <= self.max_age),
            None,
        )
        self.samples.keep(node, path, now)
        return now, earlier

    async def cpu_throttling(self, node: str) -> Obj:
        async def measure() -> Obj:
            stored = await self._stored(node, CADVISOR)
            now, earlier = stored if stored is not None else await self._read(node, CADVISOR, parse_counters)
            rows = throttling(now.figures, earlier.figures if earlier is not None else None)
            window = now.at - earlier.at if earlier is not None and any(r["recent"] for r in rows) else None
            age = self.clock() - now.at if stored is not None else None
            return {
                "source": self._source(node, CADVISOR, window, age),
                "seconds": window or 0.0,
                "at": now.at,
                "containers": rows,
            }

        return await self._once(node, CADVISOR, measure)

    async def stats(self, node: str) -> Obj:
        def parse(text: str) -> Obj:
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                raise KubeApiError(
                    f"the kubelet of {node} answered /{SUMMARY} with something that is not a JSON object: "
                    f"{text[:120]!r}"
                )
            return doc

        async def measure() -> Obj:
            now, earlier = await self._read(node, SUMMARY, parse)  # read: a node's stored rows may hold part of it
            seconds = now.at - earlier.at if earlier is not None else 0.0
            figures = summary_figures(now.figures, earlier.figures if earlier is not None else None, seconds)
            trended = any(r["growth"] is not None for r in [*figures["containers"], *figures["volumes"]])
            window = seconds if trended else None
            return {"source": self._source(node, SUMMARY, window), "seconds": window or 0.0, "at": now.at, **figures}

        return await self._once(node, SUMMARY, measure)


__all__ = [
    "CADVISOR",
    "MAX_AGE",
    "MIN_WINDOW",
    "SUMMARY",
    "KubeletStats",
    "MemorySamples",
    "RecentSamples",
    "Sample",
    "parse_counters",
    "summary_figures",
    "throttling",
]
