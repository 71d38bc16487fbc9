"""Evidence from wherever it is (issue 23): node taints, a pod stuck Terminating, exit 0 in CrashLoopBackOff,
MemoryPressure alone, events without timestamps and controllers' replica counts make a finding, never "no
problems found". Each case is a minimal object diagnosed from a snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.engine import health
from kubewhy.models.findings import Finding
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

CATALOG = load_dirs([])
NOW = "2026-03-01T12:00:00Z"
NOW_TS = datetime.fromisoformat(NOW).timestamp()


def clock_event(namespace: str = "default") -> dict[str, Any]:
    """An unrelated event that fixes the snapshot's time at NOW."""
    return {
        "kind": "Event",
        "metadata": {"name": "clock", "namespace": namespace},
        "involvedObject": {"kind": "ConfigMap", "name": "unrelated", "namespace": namespace},
        "reason": "Clock",
        "type": "Normal",
        "message": "fixes the snapshot time",
        "lastTimestamp": NOW,
    }


def run(target: str, *objects: dict[str, Any], clock: bool = True) -> list[Finding]:
    kube = SnapshotKube([], objects=[*objects, *([clock_event()] if clock else [])])
    report = asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=CATALOG, clock=kube.clock)))
    return report.findings


def finding(findings: list[Finding], pid: str) -> Finding:
    by_id = {f.id: f for f in findings}
    assert pid in by_id, [(f.id, f.summary) for f in findings]
    return by_id[pid]


def node(
    name: str = "node-1", *, taints: Sequence[tuple[str, str]] = (), status: dict[str, Any] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"taints": [{"key": k, "effect": e} for k, e in taints]} if taints else {}
    return {"kind": "Node", "metadata": {"name": name}, "spec": spec, **({"status": status} if status else {})}


def quotes(f: Finding, text: str) -> bool:
    return any(text in line for line in f.evidence)


# Node taints: the only sign a pasted node may show.


TAINT_ALONE = [
    ("node.kubernetes.io/disk-pressure", "NoSchedule", "node-disk-pressure"),
    ("node.kubernetes.io/unreachable", "NoExecute", "node-not-ready"),
    ("node.kubernetes.io/not-ready", "NoSchedule", "node-not-ready"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule", "node-system-oom"),
    ("node.kubernetes.io/network-unavailable", "NoSchedule", "node-network-unavailable"),
    ("node.kubernetes.io/unschedulable", "NoSchedule", "node-maintenance"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule", "node-pid-pressure"),
]


@pytest.mark.parametrize("key,effect,pid", TAINT_ALONE, ids=[t[0].split("/")[1] for t in TAINT_ALONE])
def test_a_taint_alone_makes_its_finding_quoting_the_taint(key: str, effect: str, pid: str) -> None:
    f = finding(run("node/node-1", node(taints=[(key, effect)])), pid)
    assert quotes(f, f"{key}:{effect}")
    assert f.fixes
    if pid == "node-system-oom":
        assert "running out of memory" in f.summary and "SystemOOM event(s)" not in f.summary


def test_a_ready_condition_outranks_a_lingering_taint() -> None:
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    ids = [
        f.id for f in run("node/node-1", node(taints=[("node.kubernetes.io/not-ready", "NoSchedule")], status=ready))
    ]
    assert "node-not-ready" not in ids


def test_memory_pressure_condition_alone_is_node_system_oom_not_unexplained() -> None:
    cond = {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory", "message": "low"}
    ready = {"type": "Ready", "status": "True"}
    findings = run("node/node-1", node(status={"conditions": [ready, cond]}))
    f = finding(findings, "node-system-oom")
    assert quotes(f, "condition MemoryPressure=True")
    assert "SystemOOM event(s)" not in f.summary
    assert f.fixes
    assert "unexplained" not in [x.id for x in findings]


def test_node_taints_are_signals_cordon_is_not() -> None:
    obj = node(
        taints=[
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/out-of-service", "NoExecute"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ("dedicated", "NoSchedule"),
        ]
    )
    assert health.status_signals(obj, NOW_TS) == [
        "taint node.kubernetes.io/pid-pressure:NoSchedule",
        "taint node.kubernetes.io/out-of-service:NoExecute",
    ]


# A pod stuck Terminating.


def terminating_pod(deleted: str, finalizers: list[str]) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "namespace": "default",
            "deletionTimestamp": deleted,
            "deletionGracePeriodSeconds": 30,
            "finalizers": finalizers,
        },
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_pod_stuck_terminating_names_its_finalizers() -> None:
    pod = terminating_pod("2026-03-01T09:00:00Z", ["example.com/cleanup"])
    f = finding(run("pod/default/web-0", pod), "pod-stuck-terminating")
    assert quotes(f, "example.com/cleanup") and quotes(f, "deletionTimestamp=2026-03-01T09:00:00Z")
    assert "3h" in f.summary
    patch = next(x for x in f.fixes if "finalizers" in (x.command or "") and "null" in (x.command or ""))
    assert patch.risk == "high" and patch.does_not_fix
    assert health.status_signals(pod, NOW_TS) == [
        "metadata.deletionTimestamp=2026-03-01T09:00:00Z: Terminating, finalizers: example.com/cleanup"
    ]


def test_pod_within_its_grace_period_is_not_stuck() -> None:
    pod = terminating_pod("2026-03-01T12:00:20Z", [])
    assert "pod-stuck-terminating" not in [f.id for f in run("pod/default/web-0", pod)]
    assert health.status_signals(pod, NOW_TS) == []


def test_pod_stuck_terminating_on_an_unreachable_node_points_at_the_node() -> None:
    pod = terminating_pod("2026-03-01T09:00:00Z", [])
    pod["spec"]["nodeName"] = "node-1"
    down = node(
        taints=[("node.kubernetes.io/unreachable", "NoExecute")],
        status={"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]},
    )
    findings = run("pod/default/web-0", pod, down)
    f = finding(findings, "pod-stuck-terminating")
    assert "node-1 is not Ready" in f.summary
    assert quotes(f, "node.kubernetes.io/unreachable:NoExecute")
    assert any("describe node node-1" in (x.command or "") for x in f.fixes)


# Exit code 0 in CrashLoopBackOff.


def test_exit_zero_in_crash_loop_is_a_one_shot_command() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "once-7d4b9-abcde",
            "namespace": "default",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "once-7d4b9", "controller": True}],
        },
        "spec": {"restartPolicy": "Always", "containers": [{"name": "once", "image": "busybox"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "once",
                    "ready": False,
                    "restartCount": 6,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                    "lastState": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
            ],
        },
    }
    f = finding(run("pod/default/once-7d4b9-abcde", pod), "app-crash")
    assert "exits successfully (exit 0)" in f.summary and "restartPolicy Always" in f.summary
    assert "one-shot command in a Deployment" in f.summary
    assert quotes(f, "exitCode=0")
    titles = [x.title for x in f.fixes]
    assert any("Job" in t for t in titles) and any("foreground" in t for t in titles)


# A missing timestamp means "age unknown", never "stale".


def test_node_event_without_timestamps_is_current_evidence() -> None:
    event = {
        "kind": "Event",
        "metadata": {"name": "oom", "namespace": "default"},
        "involvedObject": {"kind": "Node", "name": "node-1"},
        "reason": "SystemOOM",
        "type": "Warning",
        "count": 2,
        "message": "System OOM encountered, victim process: java, pid: 4242",
    }
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    f = finding(run("node/node-1", node(status=ready), event, clock=False), "node-system-oom")
    assert quotes(f, "victim process: java")


def test_unreadable_deletion_timestamp_still_counts() -> None:
    pod = terminating_pod("", ["example.com/cleanup"])
    pod["metadata"]["deletionTimestamp"] = "3h ago"
    assert health.status_signals(pod, NOW_TS) == [
        "metadata.deletionTimestamp=3h ago: Terminating, finalizers: example.com/cleanup"
    ]


def test_ready_false_without_transition_time_counts() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]},
    }
    assert health.status_signals(pod, NOW_TS) == ["condition Ready=False"]


# Controllers' own conditions and numbers.


def test_statefulset_with_fewer_ready_replicas_is_unhealthy() -> None:
    sts = {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"replicas": 3},
        "status": {"replicas": 3, "readyReplicas": 1},
    }
    assert health.status_signals(sts, NOW_TS) == ["status.readyReplicas=1 of spec.replicas=3"]
    findings = run("statefulset/default/db", sts)
    assert findings and any(quotes(f, "readyReplicas=1") or "db" in f.summary for f in findings), findings
    assert all(f.fixes for f in findings)


def test_daemonset_with_unavailable_pods_is_unhealthy() -> None:
    ds = {
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {},
        "status": {"desiredNumberScheduled": 4, "numberReady": 3, "numberUnavailable": 1},
    }
    assert health.status_signals(ds, NOW_TS) == [
        "status.numberUnavailable=1 (numberReady=3 of desiredNumberScheduled=4)"
    ]
    # Without its pods in the input, rollout-stuck names the symptom (issue 23) where `unexplained` quoted it.
    f = finding(run("daemonset/default/agent", ds), "rollout-stuck")
    assert quotes(f, "3 of 4 available") and f.fixes


def test_healthy_controllers_have_no_signal() -> None:
    sts = {"kind": "StatefulSet", "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    ds = {"kind": "DaemonSet", "spec": {}, "status": {"numberReady": 2, "desiredNumberScheduled": 2}}
    assert health.status_signals(sts, NOW_TS) == [] and health.status_signals(ds, NOW_TS) == []


def test_deployment_progress_deadline_and_job_failed_are_signals() -> None:
    deploy = {
        "kind": "Deployment",
        "status": {
            "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "slow"}
            ]
        },
    }
    job = {
        "kind": "Job",
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    }
    assert health.status_signals(deploy, NOW_TS) == [
        "condition Progressing=False reason=ProgressDeadlineExceeded: slow"
    ]
    assert health.status_signals(job, NOW_TS) == ["condition Failed=True reason=BackoffLimitExceeded"]
