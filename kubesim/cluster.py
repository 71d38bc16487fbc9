"""One simulated cluster: the object store, the served resources, and the scenario's logs and usage.

It also does the little a real control plane does on its own that kubewhy's fixes and watchers rely on:
garbage collection of dependents, kubelet-style evictions, PVC expansion, events for what happened.
"""

from __future__ import annotations

import copy
import random
import string
import time
from datetime import UTC, datetime
from typing import Any

from . import conversion, defaults, serviceips
from .resources import METRICS, Resource, ResourceCatalog, crd_resources
from .scenario import Scenario, ScenarioError, format_time, object_uid
from .selectors import match_labels
from .store import AlreadyExists, NotFound, Store, now_rfc3339
from .usage import container_usages, node_metrics, pod_metrics, quantity

POD_KEY = ("", "pods")
EVENT_KEY = ("", "events")
SERVICE_KEY = ("", "services")
METRICS_APISERVICE = "v1beta1.metrics.k8s.io"


class InvalidObject(Exception):
    """A write the API server would refuse with 422 Invalid (or 403 Forbidden)."""

    def __init__(self, message: str, code: int = 422, reason: str = "Invalid"):
        super().__init__(message)
        self.code, self.reason = code, reason


class Cluster:
    def __init__(self, scenario: Scenario, *, history_size: int = 20_000, shift_time: bool = True):
        if shift_time:
            scenario = scenario.shifted(datetime.now(UTC))
        self.scenario = scenario
        self.catalog = ResourceCatalog()
        self.store = Store(history_size)
        self.logs: dict[str, dict[str, str]] = {k: dict(v) for k, v in scenario.logs.items()}
        self.started = time.monotonic()
        for crd in (o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"):
            for crd_res in crd_resources(crd):
                self.catalog.add(crd_res)
        for obj in scenario.objects:
            res = self.catalog.by_kind(obj["apiVersion"], obj["kind"])
            if res is None:
                raise ScenarioError(
                    scenario.name,
                    f"unknown kind {obj['kind']} ({obj['apiVersion']}) for "
                    f"{obj['metadata']['name']}: add its CustomResourceDefinition",
                )
            stored = conversion.to_storage(res, obj)
            self.store.load(res.key, defaults.apply(res.key, stored) if res.key in defaults.ON_LOAD else stored)
        for ns in self.store.all_objects(NAMESPACE_KEY):
            for obj in namespace_defaults(ns):
                if self.store.get(("", _PLURALS[obj["kind"]]), ns["metadata"]["name"], obj["metadata"]["name"]) is None:
                    self.store.load(("", _PLURALS[obj["kind"]]), obj)

    # ---- helpers ------------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def resource_of(self, obj: dict[str, Any]) -> Resource:
        res = self.catalog.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if res is None:
            raise InvalidObject(
                f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}"',
                code=404,
                reason="NotFound",
            )
        return res

    def resource_by_kind(self, kind: str) -> Resource:
        res = self.catalog.by_kind_name(kind)
        if res is None:
            raise InvalidObject(f"unknown kind {kind!r}", code=404, reason="NotFound")
        return res

    def metrics_available(self) -> bool:
        svc = self.store.get(("apiregistration.k8s.io", "apiservices"), "", METRICS_APISERVICE)
        if svc is None:
            return False
        conds = (svc.get("status") or {}).get("conditions") or []
        return not any(c.get("type") == "Available" and c.get("status") == "False" for c in conds)

    def served(self) -> ResourceCatalog:
        """The catalogue as discovery shows it: metrics.k8s.io only when its APIService is available."""
        if not self.metrics_available():
            return self.catalog
        cat = ResourceCatalog(self.catalog.all())
        for res in METRICS:
            cat.add(res)
        return cat

    def defaulted(self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
        """A created (old None) or updated object as the API server stores it: its defaults filled in
        (kubesim/defaults.py) and, for a Service, what the registry allocates (kubesim/serviceips.py)."""
        obj = defaults.apply(res.key, obj)
        if res.key == SERVICE_KEY:
            if old is None:
                serviceips.allocate(obj, self.store.all_objects(SERVICE_KEY))
            else:
                serviceips.keep_allocated(old, obj)
        return obj

    # ---- metrics API --------------------------------------------------------------------------------------
    def pod_metrics(self) -> list[dict[str, Any]]:
        pods = self.store.all_objects(POD_KEY)
        usages = container_usages(pods, self.scenario.pod_usage)
        index = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]): p for p in pods}
        return pod_metrics(usages, index, self.elapsed)

    def node_metrics(self) -> list[dict[str, Any]]:
        pods = self.store.all_objects(POD_KEY)
        usages = container_usages(pods, self.scenario.pod_usage)
        return node_metrics(self.store.all_objects(("", "nodes")), self.scenario.node_usage, usages, self.elapsed)

    # ---- logs ---------------------------------------------------------------------------------------------
    def log_text(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        entry = self.logs.get(f"{namespace}/{pod}/{container}", {})
        return entry.get("previous" if previous else "current", "")

    def append_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        entry = self.logs.setdefault(f"{namespace}/{pod}/{container}", {})
        current = entry.get("current", "")
        if current and not current.endswith("\n"):
            current += "\n"
        entry["current"] = current + text if text.endswith("\n") else current + text + "\n"

    # ---- events -------------------------------------------------------------------------------------------
    def record_event(
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str = "kubelet",
        host: str | None = None,
        field_path: str | None = None,
    ) -> None:
        meta = involved.get("metadata") or {}
        now = now_rfc3339()
        suffix = "".join(random.choices("0123456789abcdef", k=16))
        ref = {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if meta.get("namespace"):
            ref["namespace"] = meta["namespace"]
        if field_path:
            ref["fieldPath"] = field_path
        source = {"component": component}
        if host:
            source["host"] = host
        ev = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta.get('name')}.{suffix}",
                "namespace": meta.get("namespace") or "default",
                "creationTimestamp": now,
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": source,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        self.store.create(EVENT_KEY, ev)

    # ---- controller-like behaviour --------------------------------------------------------------------------
    def evict_pod(self, namespace: str, name: str, message: str | None = None) -> dict[str, Any]:
        """What the kubelet does under node pressure: the pod fails with reason Evicted."""
        pod = self.store.get(POD_KEY, namespace, name)
        if pod is None:
            raise NotFound(name)
        message = message or "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. "
        pod = copy.deepcopy(pod)
        status = pod.setdefault("status", {})
        now = now_rfc3339()
        status.update({"phase": "Failed", "reason": "Evicted", "message": message})
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"] + [
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "TerminationByKubelet",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": now,
            }
        ]
        for c in status.get("conditions"):
            if c.get("type") in ("Ready", "ContainersReady"):
                c.update({"status": "False", "reason": "PodFailed", "lastTransitionTime": now})
        for cs in status.get("containerStatuses") or []:
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
            cs["state"] = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "startedAt": started,
                    "finishedAt": now,
                    "message": "The container could not be located when the pod was terminated",
                }
            }
            cs["ready"] = False
            cs["started"] = False
        updated = self.store.update(POD_KEY, pod)
        self.record_event(updated, "Evicted", message, type_="Warning", host=(pod.get("spec") or {}).get("nodeName"))
        return updated

    def api_evict(self, namespace: str, name: str, dry_run: bool) -> None:
        """The Eviction subresource: respects PodDisruptionBudgets, then deletes the pod."""
        pod = self.store.get(POD_KEY, namespace, name)
        if pod is None:
            raise NotFound(name)
        labels = (pod.get("metadata") or {}).get("labels") or {}
        for pdb in self.store.all_objects(("policy", "poddisruptionbudgets")):
            if pdb["metadata"].get("namespace") != namespace:
                continue
            selector = (pdb.get("spec") or {}).get("selector")
            if selector is None:  # policy/v1: a null selector selects no pod
                continue
            if match_labels(selector, labels) and int((pdb.get("status") or {}).get("disruptionsAllowed", 0)) <= 0:
                raise InvalidObject(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    code=429,
                    reason="TooManyRequests",
                )
        if not dry_run:  # as the API server does (PodDisruptionConditions): a planned disruption, said so
            marked = copy.deepcopy(pod)
            status = marked.setdefault("status", {})
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
            status["conditions"].append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(),
                }
            )
            self.store.update(POD_KEY, marked)
        self.delete(self.catalog.by_path("", "v1", "pods"), namespace, name, dry_run=dry_run)  # type: ignore[arg-type]

    def delete(
        self, res: Resource, namespace: str, name: str, *, propagation: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        obj = self.store.delete(res.key, namespace, name, dry_run=dry_run)
        if dry_run:
            return obj
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            spec = obj.get("spec") or {}
            self.catalog.remove_group_resources(spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        self._collect_dependents(obj["metadata"].get("uid"), propagation or "Background")
        return obj

    def _collect_dependents(self, uid: str | None, propagation: str) -> None:
        if not uid:
            return
        for res in self.catalog.all():
            if res.storage is not None:
                continue
            for (ns, name), entry in list(self.store.entries(res.key)):
                refs = (entry.obj.get("metadata") or {}).get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if propagation == "Orphan":
                    orphan = copy.deepcopy(entry.obj)
                    orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid] or None
                    if orphan["metadata"]["ownerReferences"] is None:
                        del orphan["metadata"]["ownerReferences"]
                    self.store.update(res.key, orphan)
                else:
                    self.delete(res, ns, name, propagation=propagation)

    def validate_update(self, res: Resource, old: dict[str, Any], new: dict[str, Any]) -> None:
        """The API server's update validation for the fields kubewhy's fixes touch."""
        name = old["metadata"]["name"]
        if new.get("metadata", {}).get("name") != name:
            raise InvalidObject(
                f'{res.kind} "{name}" is invalid: metadata.name: Invalid value: '
                f'"{new.get("metadata", {}).get("name")}": field is immutable'
            )
        if res.key == ("", "pods") and _pod_spec_frozen(defaults.apply(res.key, old)) != _pod_spec_frozen(new):
            raise InvalidObject(
                f'Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields other than '
                "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds`"
            )
        if res.key == ("batch", "jobs"):
            old_tmpl = defaults.apply(res.key, old).get("spec", {}).get("template")
            if old_tmpl != defaults.apply(res.key, new).get("spec", {}).get("template"):
                raise InvalidObject(f'Job.batch "{name}" is invalid: spec.template: Invalid value: field is immutable')
        if res.key == ("apps", "statefulsets"):
            old = defaults.apply(res.key, old)  # as a real server reads it back: a scenario's may lack them
            allowed = {
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
                "revisionHistoryLimit",
            }
            old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
            changed = {k for k in set(old_spec) | set(new_spec) if old_spec.get(k) != new_spec.get(k)}
            if changed - allowed:
                raise InvalidObject(
                    f'StatefulSet.apps "{name}" is invalid: spec: Forbidden: updates to statefulset spec for '
                    f"fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                    f"'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
                )
        if res.key == ("", "persistentvolumeclaims"):

            def size(o: dict[str, Any]) -> float:
                return quantity((((o.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage"))

            if size(new) < size(old):
                raise InvalidObject(
                    f'PersistentVolumeClaim "{name}" is invalid: spec.resources.requests.storage: '
                    f"Forbidden: field can not be less than previous value"
                )
            if size(new) > size(old):
                sc_name = (new.get("spec") or {}).get("storageClassName")
                sc = self.store.get(("storage.k8s.io", "storageclasses"), "", sc_name or "")
                if not sc or not sc.get("allowVolumeExpansion"):
                    raise InvalidObject(
                        f'persistentvolumeclaims "{name}" is forbidden: only dynamically provisioned pvc can be '
                        f"resized and the storageclass that provisions the pvc must support resize",
                        code=403,
                        reason="Forbidden",
                    )

    def after_write(self, res: Resource, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """Reactions of controllers that a fix expects to see."""
        if res.key == NAMESPACE_KEY and old is None:  # the service-account and root-CA controllers
            for obj in namespace_defaults(new):
                try:
                    self.store.create(("", _PLURALS[obj["kind"]]), obj)
                except AlreadyExists:
                    pass
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            for r in crd_resources(new):
                self.catalog.add(r)
        if res.key == ("", "persistentvolumeclaims") and old is not None:
            want = (((new.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
            have = ((new.get("status") or {}).get("capacity") or {}).get("storage")
            if want and have and quantity(want) > quantity(have):
                grown = copy.deepcopy(new)
                grown["status"]["capacity"]["storage"] = want
                self.store.update(res.key, grown)
                key = f"{new['metadata'].get('namespace')}/{new['metadata']['name']}"
                if key in self.scenario.volume_usage:
                    self.scenario.volume_usage[key] = {**self.scenario.volume_usage[key], "capacity": want}


NAMESPACE_KEY = ("", "namespaces")
_PLURALS = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps"}
# A self-signed certificate stands for the cluster's root CA in every namespace's kube-root-ca.crt.
_ROOT_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwprdWJlcm5ldGVz\n"
    "-----END CERTIFICATE-----\n"
)


def namespace_defaults(namespace: dict[str, Any]) -> list[dict[str, Any]]:
    """What the controllers put in every namespace: the ``default`` ServiceAccount that every pod runs as, and
    the ``kube-root-ca.crt`` ConfigMap every pod's projected token volume mounts."""
    meta = namespace.get("metadata") or {}
    ns, created = meta.get("name", ""), meta.get("creationTimestamp")
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "default",
            "namespace": ns,
            "creationTimestamp": created,
            "uid": object_uid("v1", "ServiceAccount", ns, "default"),
        },
    }
    ca = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "kube-root-ca.crt",
            "namespace": ns,
            "creationTimestamp": created,
            "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to "
                "verify the kube-apiserver when using internal endpoints such as the "
                "internal service IP or kubernetes.default.svc. No other usage is "
                "guaranteed across distributions of Kubernetes clusters."
            },
            "uid": object_uid("v1", "ConfigMap", ns, "kube-root-ca.crt"),
        },
        "data": {"ca.crt": _ROOT_CA},
    }
    return [sa, ca]


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))


def to_rfc3339(ts: datetime) -> str:
    return format_time(ts)


def _pod_spec_frozen(pod: dict[str, Any]) -> Any:
    """A pod's spec without what an update may change (images, activeDeadlineSeconds, tolerations, grace)."""
    spec = copy.deepcopy(pod.get("spec") or {})
    for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"):
        spec.pop(key, None)
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                c.pop("image", None)
    spec.pop("ephemeralContainers", None)  # its own subresource
    return spec
