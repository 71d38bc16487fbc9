"""The defaults a real API server fills in on every create and update, so ``kubectl create … -o yaml`` and
``get -o yaml`` show what a newcomer sees on a real cluster (``strategy``, ``dnsPolicy``, ``imagePullPolicy``…).

Upstream these are the ``SetDefaults_*`` functions of k8s.io/kubernetes ``pkg/apis/apps/v1/defaults.go``,
``pkg/apis/batch/v1/defaults.go``, ``pkg/apis/core/v1/defaults.go``, ``pkg/apis/autoscaling/v2/defaults.go``,
``pkg/apis/scheduling/v1/defaults.go`` and ``pkg/apis/discovery/v1/defaults.go``, run by the decoder for the object
and, through the generated ``zz_generated.defaults.go``, for every pod template it holds. Only unset fields are
filled: a Go pointer that is nil (absent or null here) or a string that is empty. Defaults behind feature gates that
are off or only beta in the versions the simulator stands for (1.27-1.33) are left out, as is what the registry
allocates (cluster IPs, kubesim/serviceips.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _fill(obj: Obj, key: str, value: Any) -> Any:
    """Set key unless it is set already (None and "" are unset), and return what is there."""
    if obj.get(key) in (None, ""):
        obj[key] = copy.deepcopy(value)
    return obj[key]


def _sub(obj: Obj, key: str) -> Obj:
    """obj[key] as an object, created (and set) when it is missing: a non-pointer struct in Go."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


# ---- core/v1 ---------------------------------------------------------------------------------------------------
def _pull_policy(image: str) -> str:
    """IfNotPresent, or Always where the image's tag is ``latest`` (an image with neither tag nor digest is)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ("" if "@" in image else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        _fill(probe, key, value)
    if isinstance(probe.get("httpGet"), dict):
        _fill(probe["httpGet"], "path", "/")
        _fill(probe["httpGet"], "scheme", "HTTP")


def _container(c: Obj) -> None:
    _fill(c, "terminationMessagePath", "/dev/termination-log")
    _fill(c, "terminationMessagePolicy", "File")
    _fill(c, "imagePullPolicy", _pull_policy(str(c.get("image") or "")))
    for port in c.get("ports") or []:
        _fill(port, "protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(key))
    for env in c.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            _fill(field_ref, "apiVersion", "v1")


_VOLUME_MODES = ("secret", "configMap", "projected", "downwardAPI")


def _volume(v: Obj) -> None:
    if not set(v) - {"name"}:  # no source at all: an emptyDir
        v["emptyDir"] = {}
    for source in _VOLUME_MODES:
        if isinstance(v.get(source), dict):
            _fill(v[source], "defaultMode", 420)


def pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and what it reaches: containers, probes, ports, volumes."""
    _fill(spec, "dnsPolicy", "ClusterFirst")
    _fill(spec, "restartPolicy", "Always")
    _fill(spec, "terminationGracePeriodSeconds", 30)
    _fill(spec, "securityContext", {})
    _fill(spec, "schedulerName", "default-scheduler")
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            _container(c)
    for v in spec.get("volumes") or []:
        _volume(v)


def _template(spec: Obj) -> None:
    pod_spec(_sub(_sub(spec, "template"), "spec"))


def _pod(obj: Obj) -> None:
    """SetDefaults_Pod: a container's limits are its requests where it asks for nothing itself."""
    spec = _sub(obj, "spec")
    pod_spec(spec)
    _fill(spec, "enableServiceLinks", True)
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            resources = c.get("resources") or {}
            if resources.get("limits"):
                c["resources"] = {**resources, "requests": {**resources["limits"], **(resources.get("requests") or {})}}


def _service(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if _fill(spec, "sessionAffinity", "None") == "None":
        spec.pop("sessionAffinityConfig", None)
    kind = _fill(spec, "type", "ClusterIP")
    for port in spec.get("ports") or []:
        _fill(port, "protocol", "TCP")
        if port.get("targetPort") in (None, "", 0):
            port["targetPort"] = port.get("port")
    if kind in ("NodePort", "LoadBalancer"):
        _fill(spec, "externalTrafficPolicy", "Cluster")
    if kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        _fill(spec, "internalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        _fill(spec, "allocateLoadBalancerNodePorts", True)


def _secret(obj: Obj) -> None:
    _fill(obj, "type", "Opaque")


# ---- apps/v1 ---------------------------------------------------------------------------------------------------
def _deployment(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _fill(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    if _fill(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _fill(rolling, "maxUnavailable", "25%")
        _fill(rolling, "maxSurge", "25%")
    _fill(spec, "revisionHistoryLimit", 10)
    _fill(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _fill(spec, "replicas", 1)
    _template(spec)


def _daemon_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    if _fill(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _fill(rolling, "maxUnavailable", 1)
        _fill(rolling, "maxSurge", 0)
    _fill(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _stateful_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _fill(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        _fill(strategy, "rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        _fill(strategy["rollingUpdate"], "partition", 0)
    _fill(spec, "replicas", 1)
    _fill(spec, "revisionHistoryLimit", 10)
    retention = _fill(spec, "persistentVolumeClaimRetentionPolicy", {})
    _fill(retention, "whenDeleted", "Retain")
    _fill(retention, "whenScaled", "Retain")
    _template(spec)


# ---- batch/v1 --------------------------------------------------------------------------------------------------
def _job(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _fill(spec, "parallelism", 1)
    _fill(spec, "backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    meta = _sub(obj, "metadata")
    if labels is not None and not meta.get("labels"):
        meta["labels"] = dict(labels)
    _fill(spec, "completionMode", "NonIndexed")
    _fill(spec, "suspend", False)
    _template(spec)


def _cron_job(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _fill(spec, "concurrencyPolicy", "Allow")
    _fill(spec, "suspend", False)
    _fill(spec, "successfulJobsHistoryLimit", 3)
    _fill(spec, "failedJobsHistoryLimit", 1)
    _template(_sub(_sub(spec, "jobTemplate"), "spec"))  # only the pod template: Job's own defaults are per Job


# ---- autoscaling/v2, scheduling/v1 -----------------------------------------------------------------------------
_SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _hpa(obj: Obj) -> None:
    """autoscaling/v2 (the stored version; an autoscaling/v1 body is converted first)."""
    spec = _sub(obj, "spec")
    _fill(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):  # only a behavior that is there is completed
        for key, rules in (("scaleUp", _SCALE_UP), ("scaleDown", _SCALE_DOWN)):
            given: Obj = behavior[key] if isinstance(behavior.get(key), dict) else {}
            behavior[key] = {**copy.deepcopy(rules), **{k: v for k, v in given.items() if v is not None}}


def _priority_class(obj: Obj) -> None:
    _fill(obj, "preemptionPolicy", "PreemptLowerPriority")


# ---- discovery/v1 ----------------------------------------------------------------------------------------------
def _endpoint_slice(obj: Obj) -> None:
    """``SetDefaults_EndpointPort`` (pkg/apis/discovery/v1/defaults.go): every port gets a name (``""`` when the
    Service port has none) and a protocol. kubectl 1.31+ dereferences both when it describes a Service
    (``formatEndpointSlices``) and crashes on a slice that lacks them."""
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            if port.get("name") is None:
                port["name"] = ""
            _fill(port, "protocol", "TCP")


_BY_RESOURCE: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "pods"): _pod,
    ("", "services"): _service,
    ("", "secrets"): _secret,
    ("", "replicationcontrollers"): _replica_set,
    ("apps", "deployments"): _deployment,
    ("apps", "replicasets"): _replica_set,
    ("apps", "daemonsets"): _daemon_set,
    ("apps", "statefulsets"): _stateful_set,
    ("batch", "jobs"): _job,
    ("batch", "cronjobs"): _cron_job,
    ("autoscaling", "horizontalpodautoscalers"): _hpa,
    ("scheduling.k8s.io", "priorityclasses"): _priority_class,
    ("discovery.k8s.io", "endpointslices"): _endpoint_slice,
}
# Defaulted when a scenario is loaded too: a real server serves nothing it has not defaulted, and a scenario's
# objects stand for what etcd holds (only where a client crashes on the missing default, so scenarios keep their
# shape otherwise).
ON_LOAD = frozenset({("discovery.k8s.io", "endpointslices")})


def apply(key: tuple[str, str], obj: Obj) -> Obj:
    """A copy of a stored-version object of resource key (group, plural) with the server's defaults filled in."""
    fill = _BY_RESOURCE.get(key)
    if fill is None:
        return obj
    out = copy.deepcopy(obj)
    fill(out)
    return out


__all__ = ["ON_LOAD", "apply", "pod_spec"]
