"""The classes of real-world input issue 11 lists: expired events, partial objects, old API versions, now versus
then, and the net under the playbooks (an unhealthy object is never "No problems found").

Each case is a snapshot file read by the core's own reader; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.normalize import normalize
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.render.text import to_markdown, to_text
from kubewhy.service import Deps, diagnose

NOW = "2024-06-14T10:00:00Z"
SCENARIO = {"apiVersion": "kubesim.kubewhy.io/v1", "kind": "Scenario", "metadata": {"name": "t"}, "capturedAt": NOW}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_dirs([])


def _report(tmp_path: Path, objects: list[dict[str, Any]], target: str, catalog: Any) -> Report:
    path = tmp_path / "snapshot.yaml"
    path.write_text(yaml.safe_dump_all([SCENARIO, *objects]), encoding="utf-8")
    kube = SnapshotKube([path])
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=catalog, clock=kube.clock)))


def _pod(status: dict[str, Any] | None, spec: dict[str, Any] | None = None, name: str = "p") -> dict[str, Any]:
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns"}}
    if spec is not None:
        pod["spec"] = spec
    if status is not None:
        pod["status"] = status
    return pod


def _event(kind: str, name: str, reason: str, message: str, ts: str = "2024-06-14T09:59:00Z") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{reason}", "namespace": "ns"},
        "involvedObject": {"kind": kind, "name": name, "namespace": "ns"},
        "type": "Warning",
        "reason": reason,
        "message": message,
        "count": 5,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
    }


def _expression_errors(report: Report) -> list[str]:
    return [f"{c.id}: {c.detail}" for c in report.checks if c.reason == "expression-error"]


def test_a_status_only_pod_is_diagnosed_without_expression_errors(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    crash = {
        "name": "app",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-06-14T09:58:00Z"}},
    }
    report = _report(tmp_path, [_pod({"phase": "Running", "containerStatuses": [crash]})], "pod/ns/p", catalog)
    assert report.findings[0].id == "app-crash"
    assert not _expression_errors(report)


def test_running_but_unready_for_days_with_a_probe_and_no_events(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "containers": [{"name": "app", "image": "app", "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}}]
    }
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2024-06-11T10:00:00Z"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2024-06-11T09:59:00Z"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, spec)], "pod/ns/p", catalog)
    assert report.findings[0].id == "readiness-failing"
    assert "3d" in report.findings[0].summary and "expired" in report.findings[0].summary


def test_exit_137_with_reason_error_and_a_liveness_probe_is_a_kill_not_a_crash(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    spec = {"containers": [{"name": "app", "image": "app", "livenessProbe": {"httpGet": {"path": "/", "port": 80}}}]}
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": "2024-06-14T09:59:00Z"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, spec)], "pod/ns/p", catalog)
    ids = [f.id for f in report.findings]
    assert ids[0] == "sigkill" and "app-crash" not in ids
    assert "liveness" in report.findings[0].summary


@pytest.mark.parametrize(
    ("reason", "message", "cause"),
    [
        (
            "FailedAttachVolume",
            'Multi-Attach error for volume "pvc-1" Volume is already exclusively attached to one node '
            "and can't be attached to another",
            "rwo-multi-attach",
        ),
        (
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox "
            'container "abc" network for pod "p": networkPlugin cni failed to set up pod',
            "sandbox-failed",
        ),
        ("FailedMount", 'MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found', "failed-mount"),
    ],
)
def test_a_pod_without_status_is_explained_by_its_warning_events(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    catalog,
    reason: str,
    message: str,  # type: ignore[no-untyped-def]
    cause: str,
) -> None:
    spec = {
        "containers": [{"name": "app", "image": "app"}],
        "nodeName": "n1",
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
    }
    report = _report(tmp_path, [_pod(None, spec), _event("Pod", "p", reason, message)], "pod/ns/p", catalog)
    assert report.findings and report.findings[0].id == cause
    assert not _expression_errors(report)


def test_a_poststart_hook_failure_without_events_is_read_from_the_state(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "containers": [{"name": "app", "image": "app", "lifecycle": {"postStart": {"exec": {"command": ["/hook.sh"]}}}}]
    }
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 3,
                "state": {
                    "waiting": {"reason": "PostStartHookError", "message": "command '/hook.sh' exited with 126: "}
                },
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, spec)], "pod/ns/p", catalog)
    assert report.findings[0].id == "lifecycle-hook-failed"
    assert "exited with 126" in report.findings[0].summary
    assert not [c for c in report.checks if c.status == "error"]


def test_an_autoscaling_v1_hpa_reads_its_annotation_conditions(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    conditions = [
        {
            "type": "ScalingActive",
            "status": "False",
            "reason": "FailedGetResourceMetric",
            "message": "the HPA was unable to compute the replica count: missing request for cpu",
        }
    ]
    hpa = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": "h",
            "namespace": "ns",
            "annotations": {"autoscaling.alpha.kubernetes.io/conditions": json.dumps(conditions)},
        },
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "targetCPUUtilizationPercentage": 50},
        "status": {"currentReplicas": 1},
    }
    report = _report(tmp_path, [hpa], "hpa/ns/h", catalog)
    assert [f.id for f in report.findings] == ["hpa-not-scaling"]
    assert "no CPU request" in report.findings[0].summary


def test_old_api_versions_are_normalised_at_the_adapter() -> None:
    hpa = normalize(
        {
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"targetCPUUtilizationPercentage": 70},
            "status": {"currentCPUUtilizationPercentage": 12},
        }
    )
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"] == {"averageUtilization": 12}
    dep = normalize(
        {
            "apiVersion": "extensions/v1beta1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {"template": {"metadata": {"labels": {"app": "d"}}}},
        }
    )
    assert dep["apiVersion"] == "apps/v1" and dep["spec"]["selector"] == {"matchLabels": {"app": "d"}}
    ing = normalize(
        {
            "apiVersion": "extensions/v1beta1",
            "kind": "Ingress",
            "metadata": {"name": "i"},
            "spec": {
                "backend": {"serviceName": "s", "servicePort": 80},
                "rules": [{"http": {"paths": [{"path": "/", "backend": {"serviceName": "s", "servicePort": "http"}}]}}],
            },
        }
    )
    assert ing["spec"]["defaultBackend"] == {"service": {"name": "s", "port": {"number": 80}}}
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"] == {
        "service": {"name": "s", "port": {"name": "http"}}
    }
    assert (
        normalize({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"}})["apiVersion"]
        == "batch/v1"
    )
    assert (
        normalize({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}})[
            "apiVersion"
        ]
        == "policy/v1"
    )
    ev = normalize(
        {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"},
            "note": "Back-off",
            "reason": "BackOff",
            "series": {"count": 4, "lastObservedTime": NOW},
        }
    )
    assert (ev["involvedObject"], ev["message"], ev["count"], ev["lastTimestamp"]) == (
        {"kind": "Pod", "name": "p"},
        "Back-off",
        4,
        NOW,
    )


def test_a_crash_days_ago_on_a_pod_ready_since_is_info(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-06-09T10:01:00Z"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 3,
                "state": {"running": {"startedAt": "2024-06-09T10:00:00Z"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-06-09T09:59:00Z"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, {"containers": [{"name": "app", "image": "app"}]})], "pod/ns/p", catalog)
    crash = next(f for f in report.findings if f.id == "app-crash")
    assert crash.severity == "info"
    assert "restarted 3 time(s), last 5d ago" in crash.summary
    assert all(f.severity == "info" for f in report.findings)


def test_the_same_crash_minutes_ago_stays_critical(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2024-06-14T09:58:00Z"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-06-14T09:58:00Z"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, {"containers": [{"name": "app", "image": "app"}]})], "pod/ns/p", catalog)
    assert report.findings[0].id == "app-crash" and report.findings[0].severity == "critical"


def test_an_unhealthy_object_no_playbook_explains_gets_an_unexplained_finding(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    """A waiting reason neither a playbook nor Kubernetes' vocabulary knows (a new runtime's own word)."""
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": "SandboxQuarantined", "message": "held by the runtime's policy"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, {"containers": [{"name": "app", "image": "app"}]})], "pod/ns/p", catalog)
    assert report.findings[-1].id == "unexplained"
    assert (
        "container app: waiting reason=SandboxQuarantined: held by the runtime's policy" in report.findings[-1].evidence
    )
    assert "No problems found" not in to_text(report)


def test_a_healthy_object_gets_no_unexplained_finding(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-06-14T09:00:00Z"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2024-06-14T09:00:00Z"}},
            }
        ],
    }
    report = _report(tmp_path, [_pod(status, {"containers": [{"name": "app", "image": "app"}]})], "pod/ns/p", catalog)
    assert report.findings == [] and report.healthy


def test_a_check_that_errored_makes_the_summary_say_incomplete(tmp_path: Path) -> None:
    book = tmp_path / "books"
    book.mkdir()
    (book / "broken.yaml").write_text(
        """apiVersion: kubewhy.io/v1
id: broken-when
title: A playbook whose condition cannot be evaluated on this pod
applies_to: [Pod]
stage: pod
severity: warning
symptom: "true"
when: target.metadata.labels.tier == "web"
summary: never
""",
        encoding="utf-8",
    )
    snapshot = tmp_path / "pod.yaml"
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}],
    }
    snapshot.write_text(
        yaml.safe_dump_all([SCENARIO, _pod(status, {"containers": [{"name": "app"}]})]), encoding="utf-8"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubewhy",
            "why",
            "pod/ns/p",
            "--snapshot",
            str(snapshot),
            "--playbooks",
            str(book),
            "--no-audit",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(run.stdout)
    assert report["findings"] == [] and report["healthy"] is False and report["complete"] is False
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubewhy",
            "why",
            "pod/ns/p",
            "--snapshot",
            str(snapshot),
            "--playbooks",
            str(book),
            "--no-audit",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Diagnosis incomplete" in text and "No problems found" not in text


def test_markdown_says_incomplete_too(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    from kubewhy.models.findings import CheckResult

    report = Report(
        target=parse_target("pod/ns/p"), checks=[CheckResult("x.events", "timeout", 5000.0, "no answer", "timeout")]
    )
    assert "Diagnosis incomplete" in to_markdown(report) and not report.healthy
