"""Issue 28's label mapping, per alert family, with the labels kube-prometheus really puts on each alert: ``job``
is the scrape job, ``instance`` (and for unknown alerts a ``pod`` without ``container``) names the exporter."""

from __future__ import annotations

import pytest

from kubewhy.alerts import Alert, label_target
from kubewhy.models.target import Target

KSM = {
    "job": "kube-state-metrics",
    "instance": "10.0.0.9:8080",
    "pod": "kube-state-metrics-6d4b9-x",
    "namespace": "monitoring",
}


def alert(name: str, **labels: str) -> Alert:
    return Alert("firing", {"alertname": name, **labels}, {}, "2026-12-07T09:00:00Z", "", "f")


@pytest.mark.parametrize(
    ("name", "labels", "target", "family"),
    [
        (
            "KubePodCrashLooping",
            {**KSM, "namespace": "shop", "pod": "api-1", "container": "api"},
            Target("Pod", "api-1", "shop"),
            "workload-failing",
        ),
        (
            "KubePodNotReady",
            {**KSM, "namespace": "shop", "pod": "api-1"},
            Target("Pod", "api-1", "shop"),
            "KubePodNotReady",
        ),
        (
            "KubeDeploymentReplicasMismatch",
            {**KSM, "namespace": "shop", "deployment": "api"},
            Target("Deployment", "api", "shop"),
            "KubeDeploymentReplicasMismatch",
        ),
        (
            "KubeStatefulSetReplicasMismatch",
            {**KSM, "namespace": "db", "statefulset": "pg"},
            Target("StatefulSet", "pg", "db"),
            "KubeStatefulSetReplicasMismatch",
        ),
        # a batch Job is job_name; `job` is kube-state-metrics' scrape job
        (
            "KubeJobFailed",
            {**KSM, "namespace": "etl", "job_name": "nightly-28371"},
            Target("Job", "nightly-28371", "etl"),
            "KubeJobFailed",
        ),
        # the node label, not the exporter's instance or pod
        ("KubeNodeNotReady", {**KSM, "node": "node-2"}, Target("Node", "node-2", None), "node-not-ready"),
        # cadvisor's labels: the throttled pod is `pod`, the scrape target is the kubelet
        (
            "CPUThrottlingHigh",
            {"job": "kubelet", "instance": "10.0.0.2:10250", "namespace": "shop", "pod": "api-1", "container": "api"},
            Target("Pod", "api-1", "shop"),
            "cpu-throttling",
        ),
        (
            "KubePersistentVolumeFillingUp",
            {"job": "kubelet", "instance": "10.0.0.2:10250", "namespace": "db", "persistentvolumeclaim": "data-pg-0"},
            Target("PersistentVolumeClaim", "data-pg-0", "db"),
            "pvc-filling",
        ),
        (
            "KubeContainerWaiting",
            {**KSM, "namespace": "shop", "pod": "api-1", "container": "api"},
            Target("Pod", "api-1", "shop"),
            "KubeContainerWaiting",
        ),
        # an alert kubewhy has no row for: its workload label, never the exporter pod
        (
            "MyAppErrors",
            {**KSM, "namespace": "shop", "deployment": "api"},
            Target("Deployment", "api", "shop"),
            "MyAppErrors",
        ),
    ],
)
def test_each_family_names_its_subject(name: str, labels: dict[str, str], target: Target, family: str) -> None:
    assert label_target(alert(name, **labels)) == (target, family)


def test_the_exporter_is_never_the_subject() -> None:
    assert label_target(alert("ExporterDown", **KSM)) is None  # its pod is kube-state-metrics' own
    assert label_target(alert("KubePodCrashLooping", job="kube-state-metrics", instance="10.0.0.9:8080")) is None
    assert label_target(alert("KubeJobFailed", **{**KSM, "namespace": "etl"})) is None  # `job` alone is no Job
