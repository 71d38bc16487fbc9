"""Resource usage of simulated containers: metrics.k8s.io objects and cAdvisor/kubelet ``/metrics`` text.

Usage comes from the scenario's ``usage`` section; counters grow with wall time since the simulator
started, so a real Prometheus scraping ``/metrics`` sees sensible ``rate()`` values. This module never
evaluates PromQL: Prometheus does that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CFS_PERIODS_PER_SECOND = 10  # 100 ms CFS period

# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity). The simulator parses them itself rather
# than borrow the kubernetes client's parser: it is the oracle the tests check kubewhy against.
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_MULTIPLIER: dict[str | None, Decimal] = {
    None: Decimal(1),
    **{s: Decimal(10) ** e for s, e in _DECIMAL.items()},
    **{s: Decimal(2) ** e for s, e in _BINARY.items()},
}


def quantity(value: Any, default: float = 0.0) -> float:
    """``"250m"`` → 0.25, ``"1Gi"`` → 1073741824.0, a YAML number as is; ``default`` for anything else."""
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return default
    return float(Decimal(match.group(1)) * _MULTIPLIER[match.group(2)])


@dataclass
class ContainerUsage:
    namespace: str
    pod: str
    container: str
    node: str
    cpu: float  # cores
    memory: float  # bytes, working set at start
    memory_growth_per_s: float
    throttled_ratio: float
    cpu_limit: float | None
    memory_limit: float | None
    cpu_request: float | None
    memory_request: float | None
    restarts: int
    # The CFS counters at ``counters_since`` seconds after the start (a usage change or a restart, kubesim/kubelet.py
    # ``change_usage``); by default as if the container had been running for an hour before the simulator started.
    periods_base: float | None = None
    throttled_base: float | None = None
    counters_since: float = 0.0

    def periods_at(self, elapsed: float) -> float:
        base = CFS_PERIODS_PER_SECOND * 3600.0 if self.periods_base is None else self.periods_base
        return base + CFS_PERIODS_PER_SECOND * (elapsed - self.counters_since)

    def throttled_at(self, elapsed: float) -> float:
        base = (
            CFS_PERIODS_PER_SECOND * 3600.0 * self.throttled_ratio
            if self.throttled_base is None
            else self.throttled_base
        )
        return base + CFS_PERIODS_PER_SECOND * (elapsed - self.counters_since) * self.throttled_ratio

    def memory_at(self, elapsed: float) -> float:
        mem = self.memory + self.memory_growth_per_s * elapsed
        return min(mem, self.memory_limit) if self.memory_limit else mem


def _resources(container: dict[str, Any], which: str, name: str) -> float | None:
    value = ((container.get("resources") or {}).get(which) or {}).get(name)
    return quantity(value) if value is not None else None


def container_usages(
    pods: Iterable[dict[str, Any]], pod_usage: dict[str, dict[str, dict[str, Any]]]
) -> list[ContainerUsage]:
    """One entry per running container; containers without scenario data get a small derived usage."""
    out = []
    for pod in pods:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        if status.get("phase") != "Running":
            continue
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        given = pod_usage.get(key, {})
        statuses = {c.get("name"): c for c in status.get("containerStatuses") or []}
        for c in spec.get("containers") or []:
            cs = statuses.get(c["name"], {})
            if "running" not in (cs.get("state") or {}):
                continue
            out.append(usage_of(pod, c, cs, given.get(c["name"], {})))
    return out


def usage_of(
    pod: dict[str, Any], container: dict[str, Any], status: dict[str, Any], given: dict[str, Any]
) -> ContainerUsage:
    """One container's usage: the scenario's figures, else a small usage derived from its requests."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    cpu_req, mem_req = _resources(container, "requests", "cpu"), _resources(container, "requests", "memory")
    return ContainerUsage(
        namespace=meta.get("namespace", ""),
        pod=meta["name"],
        container=container["name"],
        node=spec.get("nodeName", ""),
        cpu=quantity(given.get("cpu"), (cpu_req or 0.01) * 0.3),
        memory=quantity(given.get("memory"), (mem_req or 32 * 2**20) * 0.5),
        memory_growth_per_s=quantity(given.get("memoryGrowthPerMinute"), 0) / 60,
        throttled_ratio=float(given.get("throttledRatio", 0.0)),
        cpu_limit=_resources(container, "limits", "cpu"),
        memory_limit=_resources(container, "limits", "memory"),
        cpu_request=cpu_req,
        memory_request=mem_req,
        restarts=int(status.get("restartCount") or 0),
        periods_base=given.get("_periods"),
        throttled_base=given.get("_throttled"),
        counters_since=float(given.get("_since", 0.0)),
    )


def _cpu_str(cores: float) -> str:
    return f"{int(cores * 1e9)}n"


def _mem_str(b: float) -> str:
    return f"{int(b // 1024)}Ki"


def pod_metrics(
    usages: list[ContainerUsage], pods: dict[tuple[str, str], dict[str, Any]], elapsed: float
) -> list[dict[str, Any]]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_pod: dict[tuple[str, str], list[ContainerUsage]] = {}
    for u in usages:
        by_pod.setdefault((u.namespace, u.pod), []).append(u)
    out = []
    for (ns, name), cs in sorted(by_pod.items()):
        labels = ((pods.get((ns, name)) or {}).get("metadata") or {}).get("labels") or {}
        out.append(
            {
                "kind": "PodMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": now, "labels": labels},
                "timestamp": now,
                "window": "15.011s",
                "containers": [
                    {"name": u.container, "usage": {"cpu": _cpu_str(u.cpu), "memory": _mem_str(u.memory_at(elapsed))}}
                    for u in cs
                ],
            }
        )
    return out


def node_metrics(
    nodes: list[dict[str, Any]], node_usage: dict[str, dict[str, Any]], usages: list[ContainerUsage], elapsed: float
) -> list[dict[str, Any]]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )
        if not ready:
            continue  # metrics-server has no fresh data from a kubelet that stopped reporting
        given = node_usage.get(name, {})
        pods_here = [u for u in usages if u.node == name]
        cpu = quantity(given.get("cpu"), 0.08 + sum(u.cpu for u in pods_here))
        mem = quantity(given.get("memory"), 600 * 2**20 + sum(u.memory_at(elapsed) for u in pods_here))
        out.append(
            {
                "kind": "NodeMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": name,
                    "creationTimestamp": now,
                    "labels": (node.get("metadata") or {}).get("labels") or {},
                },
                "timestamp": now,
                "window": "20.05s",
                "usage": {"cpu": _cpu_str(cpu), "memory": _mem_str(mem)},
            }
        )
    return out


def volume_now(v: dict[str, Any], elapsed: float) -> tuple[float, float]:
    """(capacity, used) bytes of a scenario volume ``elapsed`` seconds after the start: ``used`` plus
    ``growthPerMinute``, never past the capacity."""
    cap = quantity(v.get("capacity"), 0)
    used = quantity(v.get("used"), 0)
    return cap, min(cap, used + quantity(v.get("growthPerMinute"), 0) / 60 * elapsed) if cap else used


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_esc(str(v))}"' for k, v in kw.items()) + "}"


def exposition(
    usages: list[ContainerUsage], volumes: dict[str, dict[str, Any]], elapsed: float, started_at: float | None = None
) -> str:
    """Prometheus text format for every simulated container and volume."""
    lines: list[str] = []

    def family(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{lbl} {val:.6g}" if abs(val) < 1e15 else f"{name}{lbl} {val:.0f}" for lbl, val in samples)

    # Counters behave as if the containers had been running for an hour before the simulator started.
    t = 3600.0 + elapsed
    base = [(u, _labels(namespace=u.namespace, pod=u.pod, container=u.container, node=u.node)) for u in usages]
    family(
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
        [(lbl, u.cpu * t) for u, lbl in base],
    )
    limited = [(u, lbl) for u, lbl in base if u.cpu_limit]
    family(
        "container_cpu_cfs_periods_total",
        "counter",
        "Number of elapsed enforcement period intervals.",
        [(lbl, u.periods_at(elapsed)) for u, lbl in limited],
    )
    family(
        "container_cpu_cfs_throttled_periods_total",
        "counter",
        "Number of throttled period intervals.",
        [(lbl, u.throttled_at(elapsed)) for u, lbl in limited],
    )
    family(
        "container_cpu_cfs_throttled_seconds_total",
        "counter",
        "Total time duration the container has been throttled.",
        [(lbl, t * u.throttled_ratio * (u.cpu_limit or 0)) for u, lbl in limited],
    )
    family(
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set in bytes.",
        [(lbl, u.memory_at(elapsed)) for u, lbl in base],
    )
    family(
        "container_spec_memory_limit_bytes",
        "gauge",
        "Memory limit for the container.",
        [(lbl, u.memory_limit or 0) for u, lbl in base],
    )
    family(
        "container_spec_cpu_quota",
        "gauge",
        "CPU quota of the container.",
        [(lbl, (u.cpu_limit or 0) * 100000) for u, lbl in limited],
    )
    family("container_spec_cpu_period", "gauge", "CPU period of the container.", [(lbl, 100000) for u, lbl in limited])
    for metric, attr, resource, unit in (
        ("limits", "cpu_limit", "cpu", "core"),
        ("limits", "memory_limit", "memory", "byte"),
        ("requests", "cpu_request", "cpu", "core"),
        ("requests", "memory_request", "memory", "byte"),
    ):
        samples = [
            (
                _labels(
                    namespace=u.namespace, pod=u.pod, container=u.container, node=u.node, resource=resource, unit=unit
                ),
                getattr(u, attr),
            )
            for u in usages
            if getattr(u, attr) is not None
        ]
        if resource == "cpu":
            lines.append(
                f"# HELP kube_pod_container_resource_{metric} The number of requested {metric} resource by a container."
            )
            lines.append(f"# TYPE kube_pod_container_resource_{metric} gauge")
        lines.extend(f"kube_pod_container_resource_{metric}{lbl} {val:.6g}" for lbl, val in samples)
    family(
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts.",
        [(_labels(namespace=u.namespace, pod=u.pod, container=u.container), u.restarts) for u in usages],
    )
    vols = []
    for key, v in sorted(volumes.items()):
        ns, pvc = key.split("/", 1)
        cap, used = volume_now(v, elapsed)
        vols.append((_labels(namespace=ns, persistentvolumeclaim=pvc), cap, used))
    family(
        "kubelet_volume_stats_capacity_bytes",
        "gauge",
        "Capacity in bytes of the volume",
        [(lbl, cap) for lbl, cap, used in vols],
    )
    family(
        "kubelet_volume_stats_used_bytes",
        "gauge",
        "Number of used bytes in the volume",
        [(lbl, used) for lbl, cap, used in vols],
    )
    family(
        "kubelet_volume_stats_available_bytes",
        "gauge",
        "Number of available bytes in the volume",
        [(lbl, max(cap - used, 0)) for lbl, cap, used in vols],
    )
    return "\n".join(lines) + "\n"


__all__ = ["ContainerUsage", "container_usages", "pod_metrics", "node_metrics", "exposition", "quantity", "volume_now"]
