"""What a newcomer sees in ``kubectl create … -o yaml`` and ``get -o yaml`` is what a real API server stores: the
defaults of pkg/apis/*/v1/defaults.go and what the Service registry allocates (kubesim/defaults.py,
kubesim/serviceips.py)."""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.runner import RunningSim
from tests.conftest import kubectl_binaries, run_kubectl

pytestmark = pytest.mark.kubectl
KUBECTLS = kubectl_binaries()
POD_SPEC = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "schedulerName": "default-scheduler",
    "securityContext": {},
}
CONTAINER = {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}


@pytest.fixture
def sim(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim("workshop", timeline_mode="manual")


def _subset(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    return {k: have.get(k) for k in want}


@pytest.mark.parametrize(
    "binary",
    [KUBECTLS[0], KUBECTLS[-1]] if KUBECTLS else [],
    ids=[Path(b).name for b in ([KUBECTLS[0], KUBECTLS[-1]] if KUBECTLS else [])],
)
def test_created_objects_carry_the_servers_defaults(sim: RunningSim, binary: str) -> None:
    k: Callable[..., str] = lambda *a: run_kubectl(sim, *a, "-n", "q1", binary=binary).stdout  # noqa: E731
    get: Callable[[str], dict[str, Any]] = lambda what: json.loads(k("get", what, "-o", "json"))  # noqa: E731

    created = yaml.safe_load(k("create", "deployment", "web", "--image=nginx:1.27", "-o", "yaml"))
    for deploy in (created, get("deploy/web")):
        spec = deploy["spec"]
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        }
        assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
        pod = spec["template"]["spec"]
        assert _subset(pod, POD_SPEC) == POD_SPEC
        assert _subset(pod["containers"][0], CONTAINER) == CONTAINER
        assert pod["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # a tag other than latest

    created = yaml.safe_load(k("create", "job", "batch", "--image=busybox", "-o", "yaml"))
    for job in (created, get("job/batch")):
        spec = job["spec"]
        assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (6, 1, 1)
        assert (spec["completionMode"], spec["suspend"]) == ("NonIndexed", False)
        container = spec["template"]["spec"]["containers"][0]
        assert container["imagePullPolicy"] == "Always"  # no tag is latest
        assert spec["template"]["spec"]["restartPolicy"] == "Never"  # what kubectl sent stays

    created = yaml.safe_load(k("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "-o", "yaml"))
    for cron in (created, get("cronjob/tick")):
        spec = cron["spec"]
        assert _subset(
            spec, {"concurrencyPolicy": 0, "suspend": 0, "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0}
        ) == {
            "concurrencyPolicy": "Allow",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
        }
        assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"

    created = yaml.safe_load(k("create", "service", "nodeport", "edge", "--tcp=80:8080", "-o", "yaml"))
    for svc in (created, get("service/edge")):
        spec = svc["spec"]
        assert (spec["sessionAffinity"], spec["type"], spec["ipFamilies"], spec["ipFamilyPolicy"]) == (
            "None",
            "NodePort",
            ["IPv4"],
            "SingleStack",
        )
        assert ipaddress.ip_address(spec["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
        assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["externalTrafficPolicy"] == "Cluster"
        assert 30000 <= spec["ports"][0]["nodePort"] <= 32767 and spec["ports"][0]["protocol"] == "TCP"
    assert get("service/edge")["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    k("label", "service/edge", "tier=front")  # an update keeps what the registry allocated
    assert get("service/edge")["spec"]["clusterIP"] == created["spec"]["clusterIP"]

    run = yaml.safe_load(k("run", "one", "--image=nginx", "-o", "yaml"))
    assert run["spec"]["enableServiceLinks"] is True and run["spec"]["dnsPolicy"] == "ClusterFirst"


@pytest.mark.skipif(not KUBECTLS, reason="kubectl is not installed")
def test_autoscale_defaults_min_replicas_in_both_versions(sim: RunningSim) -> None:
    """kubectl 1.27-1.32 autoscale with autoscaling/v1, 1.33 with v2: minReplicas is 1 read either way, and the
    CPU target an HPA without metrics gets is 80%."""
    for binary in KUBECTLS:
        name = "hpa-" + Path(binary).name.replace(".", "-")
        k: Callable[..., str] = lambda *a: run_kubectl(sim, *a, "-n", "q1", binary=binary).stdout  # noqa: B023, E731
        k("autoscale", "deploy/app", "--max=3", f"--name={name}")
        assert re.search(r"^  minReplicas: 1$", k("get", "hpa", name, "-o", "yaml"), re.M), binary
        v1 = json.loads(k("get", "horizontalpodautoscalers.v1.autoscaling", name, "-o", "json"))["spec"]
        v2 = json.loads(k("get", "horizontalpodautoscalers.v2.autoscaling", name, "-o", "json"))["spec"]
        assert (v1["minReplicas"], v1["targetCPUUtilizationPercentage"]) == (1, 80), (binary, v1)
        assert v2["minReplicas"] == 1 and v2["metrics"] == [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ], (binary, v2)
        assert "behavior" not in v2  # completed only where it is given


def test_an_hpa_behavior_is_completed(sim: RunningSim) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "calm"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
            "maxReplicas": 5,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
        },
    }
    req = urllib.request.Request(
        sim.url + "/apis/autoscaling/v2/namespaces/q1/horizontalpodautoscalers",
        data=json.dumps(hpa).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer kubesim"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        behavior = json.loads(resp.read())["spec"]["behavior"]
    assert behavior == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }
