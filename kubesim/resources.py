"""The API resources the simulator serves, and the discovery documents kubectl builds its RESTMapper from.

Built-in resources are a static table; custom resources are added from the CRDs of a scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VERBS_RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
VERBS_RO = ["get", "list"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(VERBS_RW)
    # Where objects live in the store; events.k8s.io/v1 events share core/v1's storage.
    storage: tuple[str, str] | None = None
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: (group, plural)."""
        return self.storage or (self.group, self.plural)


def _r(group: str, version: str, kind: str, plural: str, **kw: Any) -> Resource:
    return Resource(group, version, kind, plural, **kw)


ALL = ("all",)

BUILTIN: tuple[Resource, ...] = (
    _r(
        "",
        "v1",
        "Pod",
        "pods",
        short_names=("po",),
        categories=ALL,
        subresources=("log", "status", "eviction", "exec", "attach", "portforward", "ephemeralcontainers"),
    ),
    _r("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), subresources=("status", "proxy")),
    _r("", "v1", "Event", "events", short_names=("ev",)),
    _r("", "v1", "Service", "services", short_names=("svc",), categories=ALL, subresources=("status", "proxy")),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), subresources=("status",)),
    _r(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        namespaced=False,
        short_names=("pv",),
        subresources=("status",),
    ),
    _r(
        "",
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        subresources=("status",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
    _r("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    _r("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), subresources=("status",)),
    _r(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        short_names=("rc",),
        categories=ALL,
        subresources=("status", "scale"),
    ),
    _r(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=ALL,
        subresources=("status", "scale"),
    ),
    _r(
        "apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=ALL, subresources=("status", "scale")
    ),
    _r(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=ALL,
        subresources=("status", "scale"),
    ),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=ALL, subresources=("status",)),
    _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _r("batch", "v1", "Job", "jobs", categories=ALL, subresources=("status",)),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=ALL, subresources=("status",)),
    _r(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        categories=ALL,
        subresources=("status",),
    ),
    _r(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        categories=ALL,
        subresources=("status",),
    ),  # the same objects, converted (kubesim/conversion.py)
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",), subresources=("status",)),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",)),
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
    _r("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", namespaced=False, subresources=("status",)),
    _r("storage.k8s.io", "v1", "CSIDriver", "csidrivers", namespaced=False),
    _r("events.k8s.io", "v1", "Event", "events", short_names=("ev",), storage=("", "events")),
    _r("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False, subresources=("status",)),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short_names=("crd", "crds"),
        subresources=("status",),
    ),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False, short_names=("pc",)),
    _r(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        namespaced=False,
        verbs=("create",),
    ),
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", namespaced=False, verbs=("create",)),
    _r(
        "authentication.k8s.io",
        "v1beta1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        namespaced=False,
        verbs=("create",),
    ),  # kubectl 1.27 asks v1beta1 for `auth whoami`
)

METRICS_GROUP = "metrics.k8s.io"
METRICS: tuple[Resource, ...] = (
    _r(METRICS_GROUP, "v1beta1", "PodMetrics", "pods", verbs=tuple(VERBS_RO)),
    _r(METRICS_GROUP, "v1beta1", "NodeMetrics", "nodes", namespaced=False, verbs=tuple(VERBS_RO)),
)

# Subresources whose kind is of another group/version, as discovery names them.
SUBRESOURCE_GROUP_VERSION = {
    "eviction": {"group": "policy", "version": "v1"},
    "token": {"group": "authentication.k8s.io", "version": "v1"},
    "scale": {"group": "autoscaling", "version": "v1"},
}

# The order groups are listed in /apis, as a real 1.30 API server does (preferred first).
GROUP_ORDER = [
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
]


def crd_resources(crd: dict[str, Any]) -> list[Resource]:
    """The resources a CustomResourceDefinition object declares (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subres = tuple(k for k in (version.get("subresources") or {}) if k in ("status", "scale"))
        out.append(
            Resource(
                group=group,
                version=version["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subres,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            )
        )
    return out


class ResourceCatalog:
    """Lookup of served resources by path segments or by apiVersion+kind."""

    def __init__(self, resources: Iterable[Resource] = BUILTIN):
        self._by_path: dict[tuple[str, str, str], Resource] = {}
        self._by_kind: dict[tuple[str, str], Resource] = {}
        self._kind_any_version: dict[tuple[str, str], Resource] = {}
        for res in resources:
            self.add(res)

    def add(self, res: Resource) -> None:
        self._by_path[(res.group, res.version, res.plural)] = res
        self._by_kind[(res.group_version, res.kind)] = res
        self._kind_any_version.setdefault((res.group, res.kind), res)

    def remove_group_resources(self, group: str, plural: str) -> None:
        for key in [k for k in self._by_path if k[0] == group and k[2] == plural]:
            res = self._by_path.pop(key)
            self._by_kind.pop((res.group_version, res.kind), None)
            if self._kind_any_version.get((res.group, res.kind)) is res:
                del self._kind_any_version[(res.group, res.kind)]

    def by_path(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        res = self._by_kind.get((api_version, kind))
        if res is None:
            group = api_version.split("/")[0] if "/" in api_version else ""
            res = self._kind_any_version.get((group, kind))
        return res

    def by_kind_name(self, kind: str) -> Resource | None:
        """Find a resource from a bare kind (``Pod``) — used by scenario timelines."""
        for res in self._by_path.values():
            if res.kind == kind and res.storage is None:
                return res
        return None

    def all(self) -> list[Resource]:
        return list(self._by_path.values())

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for res in self._by_path.values():
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return out

    # ---- discovery documents -------------------------------------------------------------------------------
    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        items = [r for (g, v, _), r in self._by_path.items() if g == group and v == version]
        if not items:
            return None
        resources: list[dict[str, Any]] = []
        for r in sorted(items, key=lambda r: r.plural):
            entry: dict[str, Any] = {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            resources.append(entry)
            for sub in r.subresources:
                sub_kind = {
                    "log": "Pod",
                    "eviction": "Eviction",
                    "scale": "Scale",
                    "exec": "PodExecOptions",
                    "token": "TokenRequest",
                    "attach": "PodAttachOptions",
                    "portforward": "PodPortForwardOptions",
                    "proxy": f"{r.kind}ProxyOptions",
                }.get(sub, r.kind)
                sub_verbs = {
                    "log": ["get"],
                    "eviction": ["create"],
                    "token": ["create"],
                    "exec": ["create", "get"],
                    "attach": ["create", "get"],
                    "portforward": ["create", "get"],
                    "proxy": ["create", "delete", "get", "patch", "update"],
                }.get(sub, ["get", "patch", "update"])
                resources.append(
                    {
                        "name": f"{r.plural}/{sub}",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": sub_kind,
                        "verbs": sub_verbs,
                        **SUBRESOURCE_GROUP_VERSION.get(sub, {}),
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": items[0].group_version,
            "resources": resources,
        }

    def group_names(self) -> list[str]:
        """The named groups, in the order /apis lists them."""
        gv = self.group_versions()
        return [g for g in GROUP_ORDER if g in gv] + sorted(g for g in gv if g and g not in GROUP_ORDER)

    def group_list(self) -> dict[str, Any]:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self.group(g) for g in self.group_names()]}

    def group(self, name: str) -> dict[str, Any] | None:
        versions = self.group_versions().get(name)
        if not versions or not name:
            return None
        vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": vs, "preferredVersion": vs[0]}
