"""Large synthetic clusters and event churn, for benchmarks (10,000 pods on 500 nodes, 50,000 events ...)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .cluster import EVENT_KEY, Cluster
from .scenario import DEFAULT_CAPTURED_AT, Scenario, format_time, parse_time


def _uid(kind: str, namespace: str, name: str) -> str:
    """A stable uid, cheaper than the loader's uuid5 for 70,000 objects."""
    h = hashlib.md5(f"{kind}/{namespace}/{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"  # the layout of a version-4 UUID


def _node(i: int, at: str) -> dict[str, Any]:
    name = f"node-{i:04d}"
    cond = [
        {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": at, "lastTransitionTime": at}
        for t, r, m in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
    ] + [
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": at,
            "lastTransitionTime": at,
        }
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": _uid("Node", "", name),
            "creationTimestamp": at,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
        "spec": {"podCIDR": f"10.{i // 250}.{i % 250}.0/24"},
        "status": {
            "capacity": {"cpu": "8", "memory": "32863004Ki", "pods": "110"},
            "allocatable": {"cpu": "7910m", "memory": "31711004Ki", "pods": "110"},
            "conditions": cond,
            "addresses": [{"type": "InternalIP", "address": f"10.200.{i // 250}.{i % 250 + 1}"}],
            "nodeInfo": {
                "kubeletVersion": "v1.30.2",
                "containerRuntimeVersion": "containerd://1.7.18",
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "5.15.0-1064-aws",
                "architecture": "amd64",
                "operatingSystem": "linux",
            },
        },
    }


def _pod(i: int, node: dict[str, Any], ns: str, times: Times, crashing: bool) -> dict[str, Any]:
    """Pod ``i``: created and started with its ReplicaSet three hours ago on ``node``, with an IP from the node's
    podCIDR; a crashing pod last ran for a minute and was OOM-killed five minutes ago (restart 7)."""
    app = f"app-{i // 20:04d}"
    name = f"{app}-5d8f7b9c4-{i:05d}"
    state: dict[str, Any] = {"running": {"startedAt": times.created}}
    last: dict[str, Any] = {}
    if crashing:
        state = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container=app pod={name}_{ns}",
            }
        }
        last = {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": times.last_start,
                "finishedAt": times.last_crash,
            }
        }
    slot = node["slots"]
    node["slots"] += 1
    pod_ip = node["cidr"] + str(2 + slot % 250)
    host_ip = node["ip"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "creationTimestamp": times.created,
            "uid": _uid("Pod", ns, name),
            "labels": {"app": app, "pod-template-hash": "5d8f7b9c4"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-5d8f7b9c4",
                    "uid": _uid("ReplicaSet", ns, f"{app}-5d8f7b9c4"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": node["name"],
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.example.com/{app}:1.4.2",
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                }
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "startTime": times.created,
            "qosClass": "Burstable",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False" if crashing else "True",
                    "lastTransitionTime": times.last_crash if crashing else times.created,
                }
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": not crashing,
                    "restartCount": 7 if crashing else 0,
                    "image": f"registry.example.com/{app}:1.4.2",
                    "state": state,
                    "lastState": last,
                    "started": not crashing,
                }
            ],
        },
    }


def _workload(ns: str, app: str, at: str) -> list[dict[str, Any]]:
    template = {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{app}:1.4.2"}]},
    }
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app,
            "namespace": ns,
            "labels": {"app": app},
            "creationTimestamp": at,
            "uid": _uid("Deployment", ns, app),
        },
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}}, "template": template},
        "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2},
    }
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{app}-5d8f7b9c4",
            "namespace": ns,
            "creationTimestamp": at,
            "uid": _uid("ReplicaSet", ns, f"{app}-5d8f7b9c4"),
            "labels": {"app": app, "pod-template-hash": "5d8f7b9c4"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": app,
                    "uid": _uid("Deployment", ns, app),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": app, "pod-template-hash": "5d8f7b9c4"}},
            "template": template,
        },
        "status": {"replicas": 2, "readyReplicas": 2},
    }
    return [deploy, rs]


@dataclass(frozen=True)
class Times:
    """The few moments a generated cluster's timestamps take, formatted once."""

    created: str  # nodes, workloads and pods: three hours ago
    last_start: str  # a crashing container's last run: six minutes ago ...
    last_crash: str  # ... until its OOM kill, five minutes ago


_LIFECYCLE = (
    ("Scheduled", "default-scheduler", "Successfully assigned {ns}/{pod} to {node}"),
    ("Pulled", "kubelet", 'Container image "{image}" already present on machine'),
    ("Created", "kubelet", "Created container app"),
    ("Started", "kubelet", "Started container app"),
)


def large_scenario(
    pods: int = 10_000,
    nodes: int = 500,
    events: int = 50_000,
    namespaces: int = 10,
    crashing_every: int = 50,
    seed: int = 1,
    failing: int | None = None,
) -> Scenario:
    """A big, mostly healthy cluster written relative to now: every ``crashing_every``-th pod is in
    CrashLoopBackOff (or, with ``failing``, that many pods spread evenly over the cluster: a workload of its own
    each while they are at least 20 pods apart). Ages, restarts and events agree: everything started three hours
    ago; a crashing pod's BackOff warnings run from then until now, a healthy pod's events are those of its start.

    At Kubernetes' published limits (150,000 pods on 5,000 nodes, 30 a node; 150,000 events) this is about
    12 s and 1.5 GB: the collector is off while the objects are built (they are all kept: collecting finds
    nothing, and at millions of objects each full pass costs seconds)."""
    if failing is not None:
        crashing_every = max(1, pods // failing) if failing > 0 else pods + 1
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _large(pods, nodes, events, namespaces, crashing_every, seed, failing)
    finally:
        if enabled:
            gc.enable()


def _large(
    pods: int, nodes: int, events: int, namespaces: int, crashing_every: int, seed: int, failing: int | None
) -> Scenario:
    rnd = random.Random(seed)
    captured = datetime.now(UTC).replace(microsecond=0)
    times = Times(
        format_time(captured - timedelta(hours=3)),
        format_time(captured - timedelta(minutes=6)),
        format_time(captured - timedelta(minutes=5)),
    )
    objs: list[dict[str, Any]] = [_node(i, times.created) for i in range(nodes)]
    slots = [
        {
            "name": n["metadata"]["name"],
            "ip": n["status"]["addresses"][0]["address"],
            "cidr": n["spec"]["podCIDR"].rsplit(".", 1)[0] + ".",
            "slots": 0,
        }
        for n in objs
    ]
    if failing is None:
        broken = set(range(0, pods, crashing_every))
    else:  # the k-th a few pods past its multiple, so that they sit on many nodes, not on every nth one
        broken = {k * crashing_every + k % min(crashing_every, 20) for k in range(failing)} & set(range(pods))
    pod_objs = [_pod(i, slots[i % nodes], f"team-{i % namespaces:02d}", times, i in broken) for i in range(pods)]
    objs += pod_objs
    apps = {(p["metadata"]["namespace"], p["metadata"]["labels"]["app"]) for p in pod_objs}
    for ns, app in sorted(apps):
        objs += _workload(ns, app, times.created)
    crashing = [p for p in pod_objs if p["status"]["containerStatuses"][0]["restartCount"]]
    recent = [format_time(captured - timedelta(seconds=s)) for s in range(0, 3600, 7)]
    for j in range(events if pod_objs else 0):
        pod = (
            crashing[rnd.randrange(len(crashing))]
            if crashing and j % 2 == 0
            else pod_objs[rnd.randrange(len(pod_objs))]
        )
        meta, node = pod["metadata"], pod["spec"]["nodeName"]
        if pod["status"]["containerStatuses"][0]["restartCount"]:
            reason, kind, component = "BackOff", "Warning", "kubelet"
            message = f"Back-off restarting failed container app in pod {meta['name']}_{meta['namespace']}"
            first, last, count = times.created, recent[rnd.randrange(len(recent))], rnd.randrange(2, 40)
        else:
            reason, component, text = _LIFECYCLE[j % len(_LIFECYCLE)]
            kind, first, last, count = "Normal", times.created, times.created, 1
            message = text.format(
                ns=meta["namespace"], pod=meta["name"], node=node, image=pod["spec"]["containers"][0]["image"]
            )
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{meta['name']}.{j:016x}",
                    "namespace": meta["namespace"],
                    "creationTimestamp": first,
                    "uid": _uid("Event", meta["namespace"], str(j)),
                },
                "involvedObject": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                    "fieldPath": "spec.containers{app}",
                },
                "reason": reason,
                "type": kind,
                "count": count,
                "message": message,
                "firstTimestamp": first,
                "lastTimestamp": last,
                "source": {"component": component, "host": node},
            }
        )
    scenario = Scenario(
        name=f"large-{pods}p-{nodes}n-{events}e",
        description="generated large cluster",
        captured_at=captured,
        captured_at_given=True,
        objects=objs,
        wall_clock=True,
    )
    from .scenario import fill_server_fields

    fill_server_fields(scenario)
    return scenario


async def churn_events(cluster: Cluster, *, rate: float, seconds: float, namespace: str = "default") -> int:
    """Create Events at ``rate`` per second for ``seconds`` (for watch fan-out benchmarks)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    tick = 0.01
    while sent < int(seconds * rate):  # the last tick may wake after ``seconds``: it still sends what is due
        elapsed = min(loop.time() - start, seconds)
        due = int(min(elapsed + tick, seconds) * rate)
        while sent < due:
            now = format_time(parse_time(DEFAULT_CAPTURED_AT) + timedelta(seconds=elapsed))
            cluster.store.create(
                EVENT_KEY,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": f"churn.{sent:016x}{int(start * 1000) % 100000:05d}", "namespace": namespace},
                    "involvedObject": {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": f"churn-{sent % 100}",
                        "namespace": namespace,
                    },
                    "reason": "Pulled",
                    "type": "Normal",
                    "message": "Container image already present on machine",
                    "count": 1,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "source": {"component": "kubelet"},
                },
            )
            sent += 1
        if sent < int(seconds * rate):
            await asyncio.sleep(tick)
    return sent
