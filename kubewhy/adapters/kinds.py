"""Where each kind lives in the Kubernetes REST API (group, version, plural, namespaced)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

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


_TABLE = [
    KindInfo("Pod", "", "v1", "pods"), KindInfo("Node", "", "v1", "nodes", False),
    KindInfo("Event", "", "v1", "events"), KindInfo("Service", "", "v1", "services"),
    KindInfo("Endpoints", "", "v1", "endpoints"), KindInfo("ConfigMap", "", "v1", "configmaps"),
    KindInfo("Secret", "", "v1", "secrets"), KindInfo("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    KindInfo("PersistentVolume", "", "v1", "persistentvolumes", False),
    KindInfo("Namespace", "", "v1", "namespaces", False), KindInfo("LimitRange", "", "v1", "limitranges"),
    KindInfo("ResourceQuota", "", "v1", "resourcequotas"),
    KindInfo("Deployment", "apps", "v1", "deployments"), KindInfo("ReplicaSet", "apps", "v1", "replicasets"),
    KindInfo("StatefulSet", "apps", "v1", "statefulsets"), KindInfo("DaemonSet", "apps", "v1", "daemonsets"),
    KindInfo("Job", "batch", "v1", "jobs"), KindInfo("CronJob", "batch", "v1", "cronjobs"),
    KindInfo("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
    KindInfo("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    KindInfo("Ingress", "networking.k8s.io", "v1", "ingresses"),
    KindInfo("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    KindInfo("StorageClass", "storage.k8s.io", "v1", "storageclasses", False),
    KindInfo("APIService", "apiregistration.k8s.io", "v1", "apiservices", False),
    KindInfo("Lease", "coordination.k8s.io", "v1", "leases"),
    KindInfo("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    KindInfo("ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors"),
    KindInfo("Prometheus", "monitoring.coreos.com", "v1", "prometheuses"),
]
KINDS: dict[str, KindInfo] = {k.kind: k for k in _TABLE}


def info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"kubewhy does not read kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
