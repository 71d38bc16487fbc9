"""The one table of Kubernetes kinds kubewhy knows: where each lives in the REST API, how users spell it, how
a finding names it, and what kubewhy does with it.

Every other piece of kind knowledge (target aliases, playbook ``applies_to``, API paths, owner chains) is
derived from ``TABLE``; adding a kind is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    short: str = ""  # how refs and targets name it (pod/ns/name); defaults to the lower-case kind
    aliases: tuple[str, ...] = ()  # besides the lower-case kind, the plural and ``short``
    target: bool = False  # can be diagnosed (``kubewhy why KIND/NAME``) and named in a playbook's applies_to
    controller: bool = False  # followed through controller ownerReferences (Pod → ReplicaSet → Deployment)
    selects_pods: bool = False  # a workload whose spec.selector (a LabelSelector) picks its pods

    @property
    def ref_name(self) -> str:
        return self.short or self.kind.lower()

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling a user may type, lower-case: kind, plural, short name, aliases."""
        out = [self.kind.lower(), self.plural, self.ref_name, *self.aliases]
        return tuple(dict.fromkeys(out))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


K = KindInfo
TABLE: tuple[KindInfo, ...] = (
    K("Pod", "", "v1", "pods", short="pod", aliases=("po",), target=True),
    K("Node", "", "v1", "nodes", False, short="node", aliases=("no",), target=True),
    K("Event", "", "v1", "events", aliases=("ev",)),
    K("Service", "", "v1", "services", short="svc", target=True),
    K("Endpoints", "", "v1", "endpoints", aliases=("ep",)),
    K("ConfigMap", "", "v1", "configmaps", aliases=("cm",)),
    K("Secret", "", "v1", "secrets"),
    K("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", short="pvc", target=True),
    K("PersistentVolume", "", "v1", "persistentvolumes", False, aliases=("pv",)),
    K("Namespace", "", "v1", "namespaces", False, aliases=("ns",)),
    K("LimitRange", "", "v1", "limitranges", aliases=("limits",)),
    K("ResourceQuota", "", "v1", "resourcequotas", aliases=("quota",)),
    K("Deployment", "apps", "v1", "deployments", short="deploy", target=True, controller=True, selects_pods=True),
    K("ReplicaSet", "apps", "v1", "replicasets", short="rs", target=True, controller=True, selects_pods=True),
    K("StatefulSet", "apps", "v1", "statefulsets", short="sts", target=True, controller=True, selects_pods=True),
    K("DaemonSet", "apps", "v1", "daemonsets", short="ds", target=True, controller=True, selects_pods=True),
    K("Job", "batch", "v1", "jobs", short="job", target=True, controller=True, selects_pods=True),
    K("CronJob", "batch", "v1", "cronjobs", aliases=("cj",), target=True, controller=True),  # → its latest Jobs
    K("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", short="hpa", target=True),
    K("ControllerRevision", "apps", "v1", "controllerrevisions"),  # StatefulSet and DaemonSet history
    K("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", aliases=("pdb",)),
    K("Ingress", "networking.k8s.io", "v1", "ingresses", short="ingress", aliases=("ing",), target=True),
    K("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", short="netpol"),  # changes: selects pods
    K("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", short="rolebinding"),  # changes: binds SAs
    K("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    K("StorageClass", "storage.k8s.io", "v1", "storageclasses", False, aliases=("sc",)),
    K("APIService", "apiregistration.k8s.io", "v1", "apiservices", False),
    K("Lease", "coordination.k8s.io", "v1", "leases"),
    K("SelfSubjectAccessReview", "authorization.k8s.io", "v1", "selfsubjectaccessreviews", False),
    K("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False, aliases=("crd",)),
    K(
        "ServiceMonitor",
        "monitoring.coreos.com",
        "v1",
        "servicemonitors",
        short="servicemonitor",
        aliases=("smon",),
        target=True,
    ),
    K("Prometheus", "monitoring.coreos.com", "v1", "prometheuses"),
)
del K

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in TABLE}
TARGETS: tuple[str, ...] = tuple(k.kind for k in TABLE if k.target)  # in table order
CONTROLLERS: frozenset[str] = frozenset(k.kind for k in TABLE if k.controller)
POD_SELECTING: frozenset[str] = frozenset(k.kind for k in TABLE if k.selects_pods)
CLUSTER_SCOPED: frozenset[str] = frozenset(k.kind for k in TABLE if not k.namespaced)
# what a user may type for a target (``deploy``, ``deployments``, ``Deployment``...) → kind
TARGET_ALIASES: dict[str, str] = {name: k.kind for k in TABLE if k.target for name in k.names}
ALIASES: dict[str, str] = {name: k.kind for k in TABLE for name in k.names}  # every kind by every spelling


def info(kind: str) -> KindInfo:
    """The row of a kind, or a ValueError naming the kinds kubewhy reads."""
    try:
        return BY_KIND[kind]
    except KeyError:
        raise ValueError(f"kubewhy does not read kind {kind!r}; known: {', '.join(sorted(BY_KIND))}") from None


def short_name(kind: str) -> str:
    """How a ref names a kind (``deploy``, ``svc``); an unknown kind by its lower-case name."""
    row = BY_KIND.get(kind)
    return row.ref_name if row else kind.lower()


def is_namespaced(kind: str) -> bool:
    """Unknown kinds (custom resources without a row) count as namespaced, as most are."""
    row = BY_KIND.get(kind)
    return row.namespaced if row else True


def target_kind(alias: str) -> str | None:
    """The kind a user's spelling names, among the kinds that can be diagnosed (None when none)."""
    return TARGET_ALIASES.get(alias.lower())


def kind_named(alias: str) -> str | None:
    """The kind any spelling names (``cm``, ``configmaps``, ``ConfigMap``), diagnosable or not."""
    return ALIASES.get(alias.lower())
