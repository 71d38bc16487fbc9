"""What a node's kubelet answers through the API server's node proxy (``/api/v1/nodes/NODE/proxy/...``).

``metrics/cadvisor`` is the cAdvisor exposition of the containers running on that node, ``metrics`` the kubelet's
own (``kubelet_volume_stats_*`` of the volumes its pods mount), and ``stats/summary`` the Summary API JSON
(``workingSetBytes`` per container, ``usedBytes``/``capacityBytes`` per PVC). All come from the scenario's usage
model, so they agree with ``/metrics``, ``kubectl top`` and the Prometheus history. A node that is not Ready has
no kubelet answering: the proxy fails as a real API server's does (503).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from .cluster import Cluster
from .usage import ContainerUsage, container_usages, exposition, quantity, usage_of, volume_now

NODE_KEY = ("", "nodes")
PATHS = ("metrics/cadvisor", "metrics", "stats/summary")


class KubeletUnavailable(Exception):
    """The node has no kubelet answering (not Ready), or the path is not one the simulated kubelet serves."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _node(cluster: Cluster, name: str) -> dict[str, Any]:
    node = cluster.store.get(NODE_KEY, "", name)
    if node is None:
        raise KubeletUnavailable(404, "NotFound", f'nodes "{name}" not found')
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )
    if not ready:
        address = next(
            (
                a.get("address")
                for a in (node.get("status") or {}).get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            name,
        )
        raise KubeletUnavailable(
            503, "ServiceUnavailable", f"error trying to reach service: dial tcp {address}:10250: i/o timeout"
        )
    return node


def _pods_on(cluster: Cluster, node: str) -> list[dict[str, Any]]:
    return [e.obj for _, e in cluster.store.pods_on(node)]


def _usages(cluster: Cluster, node: str) -> list[ContainerUsage]:
    return container_usages(_pods_on(cluster, node), cluster.scenario.pod_usage)


def _claims(pod: dict[str, Any]) -> list[tuple[str, str]]:
    """(volume name, claim name) of each PVC a pod mounts."""
    return [
        (v.get("name", ""), (v.get("persistentVolumeClaim") or {}).get("claimName", ""))
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def _node_volumes(cluster: Cluster, node: str) -> dict[str, dict[str, Any]]:
    """The scenario volumes mounted by running pods on this node (the kubelet reports only those)."""
    out = {}
    for pod in _pods_on(cluster, node):
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        ns = (pod.get("metadata") or {}).get("namespace", "")
        for _, claim in _claims(pod):
            v = cluster.scenario.volume_usage.get(f"{ns}/{claim}")
            if v is not None:
                out[f"{ns}/{claim}"] = v
    return out


def change_usage(cluster: Cluster, spec: dict[str, Any]) -> str:
    """A timeline ``usage`` step: ``{"pod": "NS/NAME", "container": C, "set": {...}, "restart": true}`` changes a
    container's usage from now on (``throttledRatio``, ``memory``, ``memoryGrowthPerMinute``, ``cpu``), its CFS
    counters carrying on from where they are, or, with ``restart``, from 0 as a restarted container's do (its
    restart count goes up, as the kubelet reports it); ``{"volume": "NS/CLAIM", "set": {"used": ...,
    "growthPerMinute": ...}}`` changes a volume's."""
    elapsed = cluster.elapsed
    changes = dict(spec.get("set") or {})
    if "volume" in spec:
        volume = cluster.scenario.volume_usage.setdefault(str(spec["volume"]), {})
        if "used" in changes:  # from now on: what growth added so far is part of the new figure
            changes["used"] = quantity(changes["used"], 0) - quantity(changes.get("growthPerMinute"), 0) / 60 * elapsed
        volume.update(changes)
        return f"changed the usage of volume {spec['volume']}"
    ns, _, name = str(spec["pod"]).partition("/")
    pod = cluster.store.get(("", "pods"), ns, name)
    if pod is None:
        raise KeyError(f"pod {spec['pod']}")
    container = str(spec["container"])
    c_spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), None)
    if c_spec is None:
        raise KeyError(f"container {container} of pod {spec['pod']}")
    given = cluster.scenario.pod_usage.setdefault(f"{ns}/{name}", {}).setdefault(container, {})
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    status: dict[str, Any] = next((c for c in statuses if c.get("name") == container), {})
    now = usage_of(pod, c_spec, status, given)
    restart = bool(spec.get("restart"))
    given["_periods"] = 0.0 if restart else now.periods_at(elapsed)
    given["_throttled"] = 0.0 if restart else now.throttled_at(elapsed)
    given["_since"] = elapsed
    given.update(changes)
    if restart:
        new = copy.deepcopy(pod)
        for cs in (new.get("status") or {}).get("containerStatuses") or []:
            if cs.get("name") == container:
                cs["restartCount"] = int(cs.get("restartCount") or 0) + 1
                cs["state"] = {"running": {"startedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
        cluster.store.update(("", "pods"), new)
    return f"changed the usage of {spec['pod']}/{container}" + (" (restarted)" if restart else "")


def cadvisor(cluster: Cluster, node: str) -> str:
    """``/metrics/cadvisor``: the node's containers (CPU, CFS periods and throttling, memory)."""
    _node(cluster, node)
    return exposition(_usages(cluster, node), {}, cluster.elapsed)


def kubelet_metrics(cluster: Cluster, node: str) -> str:
    """``/metrics``: the kubelet's own families; here ``kubelet_volume_stats_*`` of the node's volumes."""
    _node(cluster, node)
    text = exposition([], _node_volumes(cluster, node), cluster.elapsed)
    start = text.find("# HELP kubelet_volume_stats")
    return text[start:] if start >= 0 else ""


def summary(cluster: Cluster, node: str) -> dict[str, Any]:
    """``/stats/summary``: the Summary API of the node, its pods, their containers and volumes."""
    node_obj = _node(cluster, node)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elapsed = cluster.elapsed
    usages = _usages(cluster, node)
    by_pod: dict[tuple[str, str], list[ContainerUsage]] = {}
    for u in usages:
        by_pod.setdefault((u.namespace, u.pod), []).append(u)
    pods = []
    for pod in _pods_on(cluster, node):
        meta = pod.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        started = {
            c.get("name"): ((c.get("state") or {}).get("running") or {}).get("startedAt", "")
            for c in (pod.get("status") or {}).get("containerStatuses") or []
        }
        containers = [_container_stats(u, elapsed, now, started.get(u.container, "")) for u in by_pod.get(key, [])]
        volumes = []
        for volume, claim in _claims(pod):
            v = cluster.scenario.volume_usage.get(f"{key[0]}/{claim}")
            if v is None:
                continue
            cap, used = volume_now(v, elapsed)
            volumes.append(
                {
                    "time": now,
                    "name": volume,
                    "capacityBytes": int(cap),
                    "usedBytes": int(used),
                    "availableBytes": int(max(cap - used, 0)),
                    "pvcRef": {"name": claim, "namespace": key[0]},
                }
            )
        pods.append(
            {
                "podRef": {"name": key[1], "namespace": key[0], "uid": meta.get("uid", "")},
                "startTime": (pod.get("status") or {}).get("startTime", ""),
                "containers": containers,
                "cpu": {"time": now, "usageNanoCores": int(sum(c["cpu"]["usageNanoCores"] for c in containers))},
                "memory": {
                    "time": now,
                    "workingSetBytes": int(sum(c["memory"]["workingSetBytes"] for c in containers)),
                },
                **({"volume": volumes} if volumes else {}),
            }
        )
    used_cpu = sum(u.cpu for u in usages)
    used_mem = sum(u.memory_at(elapsed) for u in usages)
    capacity = (node_obj.get("status") or {}).get("capacity") or {}
    return {
        "node": {
            "nodeName": node,
            "startTime": (node_obj.get("metadata") or {}).get("creationTimestamp", ""),
            "cpu": {"time": now, "usageNanoCores": int(used_cpu * 1e9)},
            "memory": {
                "time": now,
                "workingSetBytes": int(used_mem),
                "availableBytes": int(max(quantity(capacity.get("memory"), 0) - used_mem, 0)),
            },
        },
        "pods": pods,
    }


def _container_stats(u: ContainerUsage, elapsed: float, now: str, started: str) -> dict[str, Any]:
    mem = u.memory_at(elapsed)
    memory: dict[str, Any] = {
        "time": now,
        "workingSetBytes": int(mem),
        "usageBytes": int(mem * 1.1),
        "rssBytes": int(mem * 0.9),
    }
    if u.memory_limit:
        memory["availableBytes"] = int(max(u.memory_limit - mem, 0))
    return {
        "name": u.container,
        "startTime": started,
        "cpu": {
            "time": now,
            "usageNanoCores": int(u.cpu * 1e9),
            "usageCoreNanoSeconds": int(u.cpu * (3600 + elapsed) * 1e9),
        },
        "memory": memory,
    }


__all__ = ["PATHS", "KubeletUnavailable", "cadvisor", "change_usage", "kubelet_metrics", "summary"]
