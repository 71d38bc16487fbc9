"""``kubectl describe`` layouts of kubectl 1.19–1.26 (tests/realworld/describe/source, derived from kubectl's
``pkg/describe/describe.go`` at each tag: see its README) read back into the objects they show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubewhy.adapters import describe

SOURCE = Path(__file__).resolve().parents[1] / "realworld" / "describe" / "source"

# file -> (kind, namespace or None, name, {dotted path: value}, [(type, reason, count, component), ...])
EXPECTED: dict[str, tuple[str, str | None, str, dict[str, Any], list[tuple[str, str, int, str]]]] = {
    "1.19/pod-shop-web-pending.txt": (
        "Pod",
        "shop",
        "web-5d9c7b8f4-qx2lm",
        {
            "status.phase": "Pending",
            "status.conditions": [{"type": "PodScheduled", "status": "False"}],
            "spec.containers.0.resources": {"limits": {"memory": "4Gi"}, "requests": {"cpu": "500m", "memory": "4Gi"}},
            "spec.volumes.0.secret.secretName": "default-token-8kx2p",
            "metadata.ownerReferences.0.name": "web-5d9c7b8f4",
        },
        [("Warning", "FailedScheduling", 1, "default-scheduler")] * 2,
    ),
    "1.19/pod-shop-api-crashloop.txt": (
        "Pod",
        "shop",
        "api-7f8d6c5b9-h4kzt",
        {
            "spec.nodeName": "worker-2",
            "status.phase": "Running",
            "status.containerStatuses.0.state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "status.containerStatuses.0.lastState.terminated.exitCode": 1,
            "status.containerStatuses.0.restartCount": 7,
            "spec.containers.0.readinessProbe.httpGet": {"path": "/ready", "port": 8080},
        },
        [
            ("Normal", "Scheduled", 1, "default-scheduler"),
            ("Normal", "Pulled", 5, "kubelet"),
            ("Normal", "Created", 5, "kubelet"),
            ("Normal", "Started", 5, "kubelet"),
            ("Warning", "BackOff", 131, "kubelet"),
        ],
    ),
    "1.19/node-_-worker-3.txt": (
        "Node",
        None,
        "worker-3",
        {
            "spec.taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
            ],
            "status.conditions.3": {
                "type": "Ready",
                "status": "Unknown",
                "lastHeartbeatTime": "2020-11-10T09:30:12Z",
                "lastTransitionTime": "2020-11-10T09:32:09Z",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
            },
        },
        [("Normal", "NodeNotReady", 1, "node-controller")],
    ),
    "1.19/pvc-shop-data-postgres-0.txt": (
        "PersistentVolumeClaim",
        "shop",
        "data-postgres-0",
        {"status.phase": "Pending", "spec.storageClassName": None},
        [("Normal", "FailedBinding", 22, "persistentvolume-controller")],
    ),
    "1.19/pv-_-pv-nfs-logs.txt": (
        "PersistentVolume",
        None,
        "pv-nfs-logs",
        {
            "status.phase": "Failed",
            "spec.claimRef.name": "logs-archive",
            "spec.persistentVolumeReclaimPolicy": "Recycle",
            "spec.capacity.storage": "50Gi",
        },
        [("Warning", "VolumeFailedRecycle", 1, "persistentvolume-controller")],
    ),
    "1.19/deploy-shop-checkout.txt": (
        "Deployment",
        "shop",
        "checkout",
        {
            "spec.replicas": 3,
            "status.unavailableReplicas": 1,
            "status.conditions.1": {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
            "spec.template.spec.containers.0.image": "registry.example.com/shop/chekout:3.0.0",
        },
        [("Normal", "ScalingReplicaSet", 1, "deployment-controller")],
    ),
    "1.19/rs-shop-worker-6d8f7c9b5.txt": (
        "ReplicaSet",
        "shop",
        "worker-6d8f7c9b5",
        {
            "spec.replicas": 2,
            "status.replicas": 0,
            "status.conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}],
            "metadata.ownerReferences.0.kind": "Deployment",
        },
        [("Warning", "FailedCreate", 15, "replicaset-controller")],
    ),
    "1.19/sts-shop-postgres.txt": (
        "StatefulSet",
        "shop",
        "postgres",
        {"spec.replicas": 1, "status.replicas": 1, "status.readyReplicas": 0},
        [("Normal", "SuccessfulCreate", 1, "statefulset-controller")] * 2,
    ),
    "1.19/ds-kube-system-fluentd.txt": (
        "DaemonSet",
        "default",  # no Namespace line before kubectl 1.33
        "fluentd",
        {
            "status.desiredNumberScheduled": 3,
            "status.updatedNumberScheduled": 1,
            "status.numberAvailable": 2,
            "status.numberUnavailable": 1,  # not printed: desired - available, as the controller stores it
        },
        [
            ("Normal", "SuccessfulDelete", 1, "daemonset-controller"),
            ("Normal", "SuccessfulCreate", 1, "daemonset-controller"),
        ],
    ),
    "1.19/job-batch-report-1604995200.txt": (
        "Job",
        "batch",
        "report-1604995200",
        {
            "status.failed": 6,
            "status.active": None,
            "metadata.ownerReferences.0.kind": "CronJob",
            "status.startTime": "2020-11-10T08:00:04Z",
            # kubectl prints no Job conditions: the job controller's event is the Failed one
            "status.conditions.0.type": "Failed",
            "status.conditions.0.reason": "BackoffLimitExceeded",
            "status.conditions.0.message": "Job has reached the specified backoff limit",
        },
        [
            ("Normal", "SuccessfulCreate", 1, "job-controller"),
            ("Normal", "SuccessfulCreate", 1, "job-controller"),
            ("Warning", "BackoffLimitExceeded", 1, "job-controller"),
        ],
    ),
    "1.19/cj-batch-report.txt": (
        "CronJob",
        "batch",
        "report",
        {"spec.schedule": "0 8 * * *", "status.lastScheduleTime": "2020-11-10T08:00:00Z", "status.active": None},
        [
            ("Normal", "SuccessfulCreate", 1, "cronjob-controller"),
            ("Normal", "SawCompletedJob", 1, "cronjob-controller"),
        ],
    ),
    "1.19/hpa-shop-web.txt": (
        "HorizontalPodAutoscaler",
        "shop",
        "web",
        {
            "spec.metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}},
                },
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}},
                },
            ],
            "status.currentMetrics": None,
            "status.conditions.1.reason": "FailedGetResourceMetric",
        },
        [
            ("Warning", "FailedGetResourceMetric", 41, "horizontal-pod-autoscaler"),
            ("Warning", "FailedComputeMetricsReplicas", 41, "horizontal-pod-autoscaler"),
        ],
    ),
    "1.19/svc-shop-api.txt": (
        "Service",
        "shop",
        "api",
        {"spec.ports": [{"port": 80, "protocol": "TCP", "name": "http", "targetPort": 8080}], "spec.type": "ClusterIP"},
        [],
    ),
    "1.19/ep-shop-api.txt": (
        "Endpoints",
        "shop",
        "api",
        {
            "subsets": [
                {
                    "notReadyAddresses": [{"ip": "10.244.2.17"}, {"ip": "10.244.1.9"}],
                    "ports": [{"port": 8080, "protocol": "TCP", "name": "http"}],
                }
            ]
        },
        [],
    ),
    "1.19/ing-shop-storefront.txt": (
        "Ingress",
        "shop",
        "storefront",
        {
            "spec.defaultBackend": None,  # kubectl's kube-system placeholder, not the Ingress's
            "spec.rules.0.host": "shop.example.com",
            "spec.rules.0.http.paths.0.backend.service": {"name": "web", "port": {"number": 80}},
            "spec.rules.0.http.paths.1.path": "/api",
            "spec.rules.0.http.paths.1.backend.service.name": "api",
        },
        [("Normal", "CREATE", 1, "nginx-ingress-controller"), ("Normal", "UPDATE", 1, "nginx-ingress-controller")],
    ),
    "1.20/pod-media-transcoder-oom.txt": (
        "Pod",
        "media",
        "transcoder-6c9f8b7d5-p8v2r",
        {
            "status.containerStatuses.0.lastState.terminated": {
                "reason": "OOMKilled",
                "exitCode": 137,
                "startedAt": "2021-01-21T11:30:02Z",
                "finishedAt": "2021-01-21T11:41:07Z",
            },
            "status.containerStatuses.0.state.running.startedAt": "2021-01-21T11:41:09Z",
            "spec.containers.0.resources.limits.memory": "512Mi",
        },
        [("Normal", "Pulled", 5, "kubelet"), ("Normal", "Started", 5, "kubelet")],
    ),
    "1.20/pvc-media-scratch.txt": (
        "PersistentVolumeClaim",
        "media",
        "scratch",
        {"status.phase": "Pending", "spec.storageClassName": "fast-ssd"},
        [
            ("Normal", "ExternalProvisioning", 26, "persistentvolume-controller"),
            ("Warning", "ProvisioningFailed", 6, "ebs.csi.aws.com_ebs-csi-controller-5d6b8c7f9-x2k4l_0b1c2d3e"),
        ],
    ),
    "1.20/svc-media-transcoder.txt": (
        "Service",
        "media",
        "transcoder",
        {
            "spec.type": "LoadBalancer",
            "spec.ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 31380}],
            "status.loadBalancer": {},
        },
        [
            ("Normal", "EnsuringLoadBalancer", 6, "service-controller"),
            ("Warning", "SyncLoadBalancerFailed", 6, "service-controller"),
        ],
    ),
    "1.21/job-etl-nightly-load.txt": (
        "Job",
        "etl",
        "nightly-load",
        {
            "status.active": 1,
            "status.failed": None,
            "spec.completions": 1,
            "spec.activeDeadlineSeconds": 3600,
            "status.conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                    "lastTransitionTime": "2021-05-12T02:00:00Z",  # capture: start 01:00:02 + 60m
                }
            ],
        },
        [("Normal", "SuccessfulCreate", 1, "job-controller"), ("Warning", "DeadlineExceeded", 1, "job-controller")],
    ),
    "1.21/node-_-worker-5.txt": (
        "Node",
        None,
        "worker-5",
        {
            "spec.taints": [{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}],
            "status.conditions.1.type": "DiskPressure",
            "status.conditions.1.status": "True",
            "status.conditions.3.message": "kubelet is posting ready status. AppArmor enabled",
        },
        [("Warning", "EvictionThresholdMet", 1, "kubelet"), ("Normal", "NodeHasDiskPressure", 1, "kubelet")],
    ),
    "1.22/ing-web-site.txt": (
        "Ingress",
        "web",
        "site",
        {
            "status.loadBalancer.ingress": [{"ip": "203.0.113.40"}],
            "spec.rules.0.http.paths.0.backend.service": {"name": "frontend", "port": {"name": "http"}},
            "spec.rules.0.http.paths.1.backend.service": {"name": "assets", "port": {"number": 80}},
        },
        [("Normal", "Sync", 3, "nginx-ingress-controller")],
    ),
    "1.22/hpa-web-frontend.txt": (
        "HorizontalPodAutoscaler",
        "web",
        "frontend",
        {
            "spec.metrics.0": {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                    "container": "app",
                },
            },
            "spec.metrics.1.pods.target.averageValue": "1",
            "status.currentMetrics.0.containerResource.current.averageUtilization": 92,
            "status.currentMetrics.1.pods.current.averageValue": "1200m",
            "status.conditions.2": {
                "type": "ScalingLimited",
                "status": "True",
                "reason": "TooManyReplicas",
                "message": "the desired replica count is more than the maximum replica count",
            },
            "spec.maxReplicas": 4,
        },
        [("Normal", "SuccessfulRescale", 1, "horizontal-pod-autoscaler")],
    ),
    "1.22/deploy-web-frontend.txt": (
        "Deployment",
        "web",
        "frontend",
        {
            "status.updatedReplicas": 2,
            "status.replicas": 5,
            "status.availableReplicas": 3,
            "spec.template.spec.containers.0.readinessProbe.httpGet.path": "/healthz",
        },
        [("Normal", "ScalingReplicaSet", 1, "deployment-controller")] * 3,
    ),
    "1.23/job-etl-export.txt": (
        "Job",
        "etl",
        "export",
        {
            "status.failed": 4,
            "status.active": None,
            "spec.template.spec.containers.0.command": ["/bin/export", "--bucket=s3://exports"],
        },
        [("Normal", "SuccessfulCreate", 1, "job-controller"), ("Warning", "BackoffLimitExceeded", 1, "job-controller")],
    ),
    "1.23/ing-web-docs.txt": (
        "Ingress",
        "web",
        "docs",
        {"metadata.labels": {"app": "docs"}, "spec.rules.0.http.paths.0.backend.service.name": "docs"},
        [],
    ),
    "1.23/pod-web-docs-imagepull.txt": (
        "Pod",
        "web",
        "docs-66b9c7d8f5-w4p9x",
        {
            "status.containerStatuses.0.state": {"waiting": {"reason": "ImagePullBackOff"}},
            "spec.volumes.0": {"name": "kube-api-access-5h8wq", "projected": {"sources": []}},
        },
        [
            ("Normal", "Scheduled", 1, "default-scheduler"),
            ("Normal", "Pulling", 4, "kubelet"),
            ("Warning", "Failed", 4, "kubelet"),
            ("Warning", "Failed", 4, "kubelet"),
            ("Normal", "BackOff", 6, "kubelet"),
            ("Warning", "Failed", 6, "kubelet"),
        ],
    ),
    "1.24/ing-web-api.txt": (
        "Ingress",
        "web",
        "api",
        {"spec.ingressClassName": None, "spec.defaultBackend": None, "spec.rules.0.http.paths.0.path": "/v1"},
        [],
    ),
    "1.24/job-etl-reindex.txt": (
        "Job",
        "etl",
        "reindex",
        {
            "status.active": 2,
            "status.ready": 1,
            "status.succeeded": 1,
            "status.failed": 3,
            "spec.parallelism": 2,
            "status.conditions": None,  # still running: no event of a Failed condition, no Completed At
        },
        [("Normal", "SuccessfulCreate", 1, "job-controller")] * 2,
    ),
    "1.24/sts-data-kafka.txt": (
        "StatefulSet",
        "data",
        "kafka",
        {"spec.replicas": 3, "status.replicas": 2, "status.readyReplicas": 1},
        [
            ("Normal", "SuccessfulCreate", 1, "statefulset-controller"),
            ("Warning", "FailedCreate", 12, "statefulset-controller"),
        ],
    ),
    "1.25/pod-pay-ledger-config.txt": (
        "Pod",
        "pay",
        "ledger-7c5d8f9b6-kq4zn",
        {"status.containerStatuses.0.state.waiting.reason": "CreateContainerConfigError", "status.phase": "Pending"},
        [
            ("Normal", "Scheduled", 1, "default-scheduler"),
            ("Normal", "Pulled", 8, "kubelet"),
            ("Warning", "Failed", 8, "kubelet"),
        ],
    ),
    "1.25/hpa-pay-ledger.txt": (
        "HorizontalPodAutoscaler",
        "pay",
        "ledger",
        {"spec.minReplicas": 2, "status.desiredReplicas": 0, "status.conditions.1.status": "False"},
        [("Warning", "FailedGetResourceMetric", 21, "horizontal-pod-autoscaler")],
    ),
    "1.25/cj-pay-settle.txt": (
        "CronJob",
        "pay",
        "settle",
        {
            "spec.concurrencyPolicy": "Forbid",
            "status.active": [{"kind": "Job", "name": "settle-27761585", "namespace": "pay"}],
        },
        [
            ("Normal", "SuccessfulCreate", 1, "cronjob-controller"),
            ("Warning", "JobAlreadyActive", 2, "cronjob-controller"),
        ],
    ),
    "1.26/pod-ops-backup-terminating.txt": (
        "Pod",
        "ops",
        "backup-0",
        {
            "status.phase": None,  # kubectl shows "Terminating (lasts 3h12m)" instead of the phase
            "metadata.deletionTimestamp": "2023-02-13T17:48:05Z",  # 3h12m before the latest time in the text
            "metadata.deletionGracePeriodSeconds": 30,
            "spec.volumes.0.persistentVolumeClaim.claimName": "data-backup-0",
        },
        [("Normal", "Killing", 1, "kubelet"), ("Warning", "NodeNotReady", 1, "node-controller")],
    ),
    "1.26/node-_-worker-6.txt": (
        "Node",
        None,
        "worker-6",
        {"status.conditions.3.status": "Unknown", "spec.taints.1.effect": "NoSchedule"},
        [("Normal", "NodeNotReady", 1, "node-controller")],
    ),
    "1.26/ds-monitoring-node-exporter.txt": (
        "DaemonSet",
        "default",
        "node-exporter",
        {
            "status.desiredNumberScheduled": 6,
            "status.currentNumberScheduled": 5,
            "status.numberReady": 4,
            "status.numberUnavailable": 2,
        },
        [("Warning", "FailedDaemonPod", 1, "daemonset-controller")],
    ),
}


def _at(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)] if part.isdigit() and int(part) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def test_every_source_fixture_is_listed_and_documented() -> None:
    files = sorted(str(p.relative_to(SOURCE)) for p in SOURCE.glob("*/*.txt"))
    assert files == sorted(EXPECTED)
    readme = (SOURCE / "README.md").read_text(encoding="utf-8")
    for name in files:
        assert f"| {name} |" in readme
    assert {name.split("/")[0] for name in files} == {f"1.{m}" for m in range(19, 27)}
    kinds = {describe.KINDS[name.split("/")[1].split("-")[0]] for name in files}
    assert kinds == set(describe.KINDS.values())  # every kind the reader knows, in some old layout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_old_layout_is_read_into_its_object(name: str) -> None:
    kind, namespace, obj_name, fields, events = EXPECTED[name]
    objects = describe.parse((SOURCE / name).read_text(encoding="utf-8"))
    first = objects[0]
    assert (first["kind"], first["metadata"]["name"], first["metadata"].get("namespace")) == (kind, obj_name, namespace)
    for path, value in fields.items():
        assert _at(first, path) == value, path
    got = [(e["type"], e["reason"], e["count"], e["source"]["component"]) for e in objects if e["kind"] == "Event"]
    assert got == events
    for event in (e for e in objects if e["kind"] == "Event"):
        assert event["involvedObject"]["name"] == obj_name
        assert event["firstTimestamp"] <= event["lastTimestamp"]


def test_unknown_event_ages_are_taken_as_unknown_not_old() -> None:
    """kubectl prints ``<unknown>`` for an event without timestamps (1.18–1.19 scheduler events): the event is
    dated at the capture time, not at some guessed past."""
    text = (SOURCE / "1.19/pod-shop-web-pending.txt").read_text(encoding="utf-8")
    now = describe.capture_time(text)
    events = [o for o in describe.parse(text) if o["kind"] == "Event"]
    assert {e["lastTimestamp"] for e in events} == {now.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert "didn't tolerate" in events[0]["message"] and events[0]["message"].endswith("2 Insufficient memory.")


def test_hpa_of_autoscaling_v1_layout() -> None:
    """kubectl's autoscaling/v1 fallback (``describeHorizontalPodAutoscalerV1``, every version): one CPU target."""
    text = """Name:                                                  web
Namespace:                                             shop
Labels:                                                <none>
Annotations:                                           <none>
CreationTimestamp:                                     Mon, 09 Nov 2020 15:20:41 +0000
Reference:                                             Deployment/web
Target CPU utilization:                                50%
Current CPU utilization:                               <unknown>%
Min replicas:                                          1
Max replicas:                                          5
Deployment pods:                                       1 current / 0 desired
Events:                                                <none>
"""
    hpa = describe.parse(text)[0]
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    ]
    assert "currentMetrics" not in hpa["status"]
    busy = describe.parse(text.replace("<unknown>%", "83%"))[0]
    assert busy["status"]["currentMetrics"][0]["resource"]["current"] == {"averageUtilization": 83}


def test_pvc_conditions_table() -> None:
    """``describePersistentVolumeClaim`` (every version) prints the claim's conditions with ``LastProbeTime``; an
    empty Reason cell leaves the message in its column."""
    text = (SOURCE / "1.20" / "pvc-media-scratch.txt").read_text(encoding="utf-8").split("Events:")[0]
    text += (
        "Conditions:\n"
        "  Type                     Status  LastProbeTime                    LastTransitionTime"
        "               Reason  Message\n"
        "  ----                     ------  -----------------                ------------------"
        "               ------  -------\n"
        "  FileSystemResizePending  True    Mon, 01 Jan 0001 00:00:00 +0000  Thu, 21 Jan 2021 11:50:00 +0000"
        "          Waiting for user to (re-)start a pod to finish file system resize of volume on node.\n"
    )
    claim = describe.parse(text)[0]
    assert claim["status"]["conditions"] == [
        {
            "type": "FileSystemResizePending",
            "status": "True",
            "lastTransitionTime": "2021-01-21T11:50:00Z",
            "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node.",
        }
    ]


def test_capture_time_is_anchored_by_events_that_date_what_the_text_shows() -> None:
    """The latest absolute time is only a lower bound of when the text was taken: a ``Started container X`` event
    2m old dates X's start, a ``NodeNotReady`` event 2m old the Ready condition's transition. Events then line up
    with what they report, instead of seeming to precede it (which reads as a node clock running ahead)."""
    pod_text = (SOURCE / "1.20" / "pod-media-transcoder-oom.txt").read_text(encoding="utf-8")
    assert describe.capture_time(pod_text).isoformat() == "2021-01-21T11:43:09+00:00"  # started 11:41:09 + 2m
    started = next(e for e in describe.parse(pod_text) if e["kind"] == "Event" and e["reason"] == "Started")
    assert started["lastTimestamp"] == "2021-01-21T11:41:09Z"
    node_text = (SOURCE / "1.19" / "node-_-worker-3.txt").read_text(encoding="utf-8")
    assert describe.capture_time(node_text).isoformat() == "2020-11-10T09:34:09+00:00"  # transition 09:32:09 + 2m
    pending = (SOURCE / "1.19" / "pod-shop-web-pending.txt").read_text(encoding="utf-8")
    assert describe.parse(pending)[0]["status"].get("startTime") is None  # never started: no Start Time line


def test_hpa_object_and_external_metric_lines() -> None:
    """``describeHorizontalPodAutoscalerV2beta2``/``V2`` (1.19–1.33): object and external metrics, by value or
    average value, known or ``<unknown>``."""
    head = (SOURCE / "1.19" / "hpa-shop-web.txt").read_text(encoding="utf-8").split("Metrics:")[0]
    text = head + (
        "Metrics:                                               ( current / target )\n"
        '  "requests-per-second" on Ingress/main-route (target value):  2k / 10k\n'
        '  "queue_messages_ready" (target average value):  <unknown> / 30\n'
        "Min replicas:                                          2\n"
        "Max replicas:                                          8\n"
    )
    hpa = describe.parse(text)[0]
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Object",
            "object": {
                "metric": {"name": "requests-per-second"},
                "describedObject": {"kind": "Ingress", "name": "main-route"},
                "target": {"type": "Value", "value": "10k"},
            },
        },
        {
            "type": "External",
            "external": {
                "metric": {"name": "queue_messages_ready"},
                "target": {"type": "AverageValue", "averageValue": "30"},
            },
        },
    ]
    assert hpa["status"]["currentMetrics"] == [
        {"type": "Object", "object": {"metric": {"name": "requests-per-second"}, "current": {"value": "2k"}}}
    ]
