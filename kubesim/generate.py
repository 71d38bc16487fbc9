"""Large synthetic clusters and event churn, for benchmarks (10,000 pods on 500 nodes, 50,000 events ...)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from .cluster import EVENT_KEY, Cluster
from .scenario import DEFAULT_CAPTURED_AT, Scenario, format_time, object_uid, parse_time


def _node(i: int, at: str) -> dict[str, Any]:
    name = f"node-{i:04d}"
    cond = [
        {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": at, "lastTransitionTime": at}
        for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
    ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
          "lastHeartbeatTime": at, "lastTransitionTime": at}]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {"podCIDR": f"10.{i // 250}.{i % 250}.0/24"},
            "status": {"capacity": {"cpu": "8", "memory": "32863004Ki", "pods": "110"},
                       "allocatable": {"cpu": "7910m", "memory": "31711004Ki", "pods": "110"},
                       "conditions": cond,
                       "addresses": [{"type": "InternalIP", "address": f"10.200.{i // 250}.{i % 250}"}],
                       "nodeInfo": {"kubeletVersion": "v1.30.2", "containerRuntimeVersion": "containerd://1.7.18",
                                    "osImage": "Ubuntu 22.04.4 LTS", "kernelVersion": "5.15.0-1064-aws",
                                    "architecture": "amd64", "operatingSystem": "linux"}}}


def _pod(i: int, node: str, ns: str, at: str, crashing: bool) -> dict[str, Any]:
    app = f"app-{i // 20:04d}"
    name = f"{app}-5d8f7b9c4-{i:05d}"
    state: dict[str, Any] = {"running": {"startedAt": at}}
    last: dict[str, Any] = {}
    if crashing:
        state = {"waiting": {"reason": "CrashLoopBackOff",
                             "message": f"back-off 5m0s restarting failed container=app pod={name}_{ns}"}}
        last = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": at, "finishedAt": at}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": app, "pod-template-hash": "5d8f7b9c4"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-5d8f7b9c4",
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": f"registry.example.com/{app}:1.4.2",
                                                       "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                                     "limits": {"cpu": "500m", "memory": "256Mi"}}}]},
            "status": {"phase": "Running", "podIP": f"10.{i // 65000}.{(i // 250) % 250}.{i % 250}",
                       "hostIP": "10.200.0.1", "startTime": at, "qosClass": "Burstable",
                       "conditions": [{"type": "Ready", "status": "False" if crashing else "True",
                                       "lastTransitionTime": at}],
                       "containerStatuses": [{"name": "app", "ready": not crashing,
                                              "restartCount": 7 if crashing else 0,
                                              "image": f"registry.example.com/{app}:1.4.2", "state": state,
                                              "lastState": last, "started": not crashing}]}}


def _workload(ns: str, app: str, at: str) -> list[dict[str, Any]]:
    template = {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{app}:1.4.2"}]}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": app, "namespace": ns, "labels": {"app": app}, "creationTimestamp": at},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}}, "template": template},
              "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2}}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": f"{app}-5d8f7b9c4", "namespace": ns, "creationTimestamp": at,
                       "labels": {"app": app, "pod-template-hash": "5d8f7b9c4"},
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app,
                                            "controller": True, "blockOwnerDeletion": True}]},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app, "pod-template-hash": "5d8f7b9c4"}},
                   "template": template},
          "status": {"replicas": 2, "readyReplicas": 2}}
    return [deploy, rs]


def large_scenario(pods: int = 10_000, nodes: int = 500, events: int = 50_000, namespaces: int = 10,
                   crashing_every: int = 50, seed: int = 1) -> Scenario:
    """A big, mostly healthy cluster: every ``crashing_every``-th pod is in CrashLoopBackOff."""
    rnd = random.Random(seed)
    captured = parse_time(DEFAULT_CAPTURED_AT)
    at = format_time(captured - timedelta(hours=3))
    objs: list[dict[str, Any]] = [_node(i, at) for i in range(nodes)]
    pod_objs = [_pod(i, f"node-{i % nodes:04d}", f"team-{i % namespaces:02d}", at, i % crashing_every == 0)
                for i in range(pods)]
    objs += pod_objs
    apps = {(p["metadata"]["namespace"], p["metadata"]["labels"]["app"]) for p in pod_objs}
    for ns, app in sorted(apps):
        objs += _workload(ns, app, at)
    for j in range(events):
        pod = pod_objs[rnd.randrange(len(pod_objs))] if pod_objs else None
        if pod is None:
            break
        ts = format_time(captured - timedelta(seconds=rnd.randrange(10_800)))
        meta = pod["metadata"]
        objs.append({"apiVersion": "v1", "kind": "Event",
                     "metadata": {"name": f"{meta['name']}.{j:016x}", "namespace": meta["namespace"]},
                     "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                        "namespace": meta["namespace"],
                                        "uid": object_uid("v1", "Pod", meta["namespace"], meta["name"])},
                     "reason": "BackOff", "type": "Warning", "count": rnd.randrange(1, 30),
                     "message": "Back-off restarting failed container app in pod "
                                f"{meta['name']}_{meta['namespace']}({meta['name']})",
                     "firstTimestamp": ts, "lastTimestamp": ts,
                     "source": {"component": "kubelet", "host": pod["spec"]["nodeName"]}})
    scenario = Scenario(name=f"large-{pods}p-{nodes}n-{events}e", description="generated large cluster",
                        captured_at=captured, objects=objs)
    from .scenario import fill_server_fields

    fill_server_fields(scenario)
    return scenario


async def churn_events(cluster: Cluster, *, rate: float, seconds: float, namespace: str = "default") -> int:
    """Create Events at ``rate`` per second for ``seconds`` (for watch fan-out benchmarks)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    tick = 0.01
    while True:
        elapsed = loop.time() - start
        if elapsed >= seconds:
            break
        due = int(min(elapsed + tick, seconds) * rate)
        while sent < due:
            now = format_time(parse_time(DEFAULT_CAPTURED_AT) + timedelta(seconds=elapsed))
            cluster.store.create(EVENT_KEY, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"churn.{sent:016x}{int(start * 1000) % 100000:05d}", "namespace": namespace},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": f"churn-{sent % 100}",
                                   "namespace": namespace},
                "reason": "Pulled", "type": "Normal", "message": "Container image already present on machine",
                "count": 1, "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet"}})
            sent += 1
        await asyncio.sleep(tick)
    return sent
