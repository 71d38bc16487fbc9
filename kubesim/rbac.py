"""RBAC as kube-apiserver's authorizer applies it, over the Roles, ClusterRoles and bindings in the store.

A scenario that wants a caller with limited rights binds it as a real cluster would: a RoleBinding or a
ClusterRoleBinding whose subjects name the ``User``, one of its ``Group``\\ s, or its ``ServiceAccount``, and whose
``roleRef`` names a Role or ClusterRole with ``rules``. A ClusterRole with an ``aggregationRule`` has the rules of
the ClusterRoles its selectors match, as the aggregation controller would fill in. The default ClusterRoles
``cluster-admin``, ``admin``, ``edit`` and ``view`` exist in every cluster; a stored ClusterRole of the same name
replaces one. The rules say what is allowed, nothing denies: a request no rule allows is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .selectors import match_labels
from .store import Store

RBAC = "rbac.authorization.k8s.io"
Rule = dict[str, Any]

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_VIEW_CORE = [
    "configmaps",
    "endpoints",
    "persistentvolumeclaims",
    "persistentvolumeclaims/status",
    "pods",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "serviceaccounts",
    "services",
    "services/status",
    "bindings",
    "events",
    "limitranges",
    "namespaces/status",
    "pods/log",
    "pods/status",
    "replicationcontrollers/status",
    "resourcequotas",
    "resourcequotas/status",
    "namespaces",
]
_VIEW_GROUPS: list[tuple[str, list[str]]] = [
    (
        "apps",
        [
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
    ),
    ("autoscaling", ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    ("batch", ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    ("discovery.k8s.io", ["endpointslices"]),
    ("networking.k8s.io", ["ingresses", "ingresses/status", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    ("metrics.k8s.io", ["pods", "nodes"]),
]
_EDIT_CORE = [
    "pods",
    "pods/attach",
    "pods/exec",
    "pods/portforward",
    "pods/proxy",
    "pods/eviction",
    "configmaps",
    "endpoints",
    "persistentvolumeclaims",
    "replicationcontrollers",
    "replicationcontrollers/scale",
    "secrets",
    "serviceaccounts",
    "serviceaccounts/token",
    "services",
    "services/proxy",
]
_EDIT_GROUPS: list[tuple[str, list[str]]] = [
    (
        "apps",
        [
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
    ),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("batch", ["cronjobs", "jobs"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets"]),
    ("discovery.k8s.io", ["endpointslices"]),
]


def _view_rules() -> list[Rule]:
    return [
        {"apiGroups": [""], "resources": _VIEW_CORE, "verbs": _READ},
        *({"apiGroups": [g], "resources": rs, "verbs": _READ} for g, rs in _VIEW_GROUPS),
    ]


def _edit_rules() -> list[Rule]:
    return [
        *_view_rules(),
        {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ},
        {"apiGroups": [""], "resources": _EDIT_CORE, "verbs": _WRITE},
        *({"apiGroups": [g], "resources": rs, "verbs": _WRITE} for g, rs in _EDIT_GROUPS),
    ]


DEFAULT_CLUSTER_ROLES: dict[str, list[Rule]] = {
    "cluster-admin": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ],
    "admin": [
        *_edit_rules(),
        {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
    ],
    "edit": _edit_rules(),
    "view": _view_rules(),
}
# What every authenticated caller may do (system:basic-user, system:discovery, system:public-info-viewer).
AUTHENTICATED_RULES: list[Rule] = [
    {
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        "verbs": ["create"],
    },
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
    {
        "nonResourceURLs": [
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/healthz",
            "/livez",
            "/readyz",
            "/version",
            "/version/",
            "/openapi",
            "/openapi/*",
        ],
        "verbs": ["get"],
    },
]


@dataclass(frozen=True)
class Attributes:
    """One request as the authorizer sees it."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""  # a non-resource request (``/healthz``) when set

    @classmethod
    def from_review(cls, spec: dict[str, Any]) -> Attributes:
        """The attributes a SelfSubjectAccessReview asks about."""
        res = spec.get("resourceAttributes")
        if isinstance(res, dict):
            return cls(
                str(res.get("verb") or ""),
                str(res.get("group") or ""),
                str(res.get("resource") or ""),
                str(res.get("subresource") or ""),
                str(res.get("name") or ""),
                str(res.get("namespace") or ""),
            )
        non = spec.get("nonResourceAttributes") or {}
        return cls(str(non.get("verb") or ""), path=str(non.get("path") or "/"))


def rules_for(
    store: Store, user: str, groups: Iterable[str], namespace: str = "", extra: Iterable[Rule] = ()
) -> list[Rule]:
    """Every rule that applies to the caller in ``namespace`` (``""``: the cluster-wide ones only)."""
    groups = set(groups)
    rules = [*AUTHENTICATED_RULES, *extra]
    for binding in store.all_objects((RBAC, "clusterrolebindings")):
        if _binds(binding, user, groups, ""):
            rules.extend(_role_rules(store, binding.get("roleRef") or {}, ""))
    if namespace:
        for _key, entry in store.entries((RBAC, "rolebindings"), namespace):
            if _binds(entry.obj, user, groups, namespace):
                rules.extend(_role_rules(store, entry.obj.get("roleRef") or {}, namespace))
    return rules


def allows(rules: Iterable[Rule], attrs: Attributes) -> bool:
    """Whether any rule allows the request, by the matching rules of Kubernetes' RBAC authorizer."""
    return any(_rule_allows(rule, attrs) for rule in rules)


def _rule_allows(rule: Rule, a: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and a.verb not in verbs:
        return False
    if a.path:
        return any(
            u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
            for u in rule.get("nonResourceURLs") or []
        )
    groups = rule.get("apiGroups")
    if groups is None or ("*" not in groups and a.group not in groups):
        return False
    wanted = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    resources = rule.get("resources") or []
    if not (
        "*" in resources
        or wanted in resources
        or (a.subresource and (f"*/{a.subresource}" in resources or f"{a.resource}/*" in resources))
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def _binds(binding: dict[str, Any], user: str, groups: set[str], namespace: str) -> bool:
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user or kind == "Group" and name in groups:
            return True
        if kind == "ServiceAccount" and user == f"system:serviceaccount:{subject.get('namespace') or namespace}:{name}":
            return True
    return False


def _role_rules(store: Store, ref: dict[str, Any], namespace: str) -> list[Rule]:
    name = str(ref.get("name") or "")
    if ref.get("kind") == "Role":
        role = store.get((RBAC, "roles"), namespace, name) if namespace else None
        return list((role or {}).get("rules") or [])
    return list(_cluster_role_rules(store, name, set()))


def _cluster_role_rules(store: Store, name: str, seen: set[str]) -> Iterator[Rule]:
    if name in seen:
        return
    seen.add(name)
    role = store.get((RBAC, "clusterroles"), "", name)
    if role is None:
        yield from DEFAULT_CLUSTER_ROLES.get(name, [])
        return
    yield from role.get("rules") or []
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    for other in store.all_objects((RBAC, "clusterroles")):
        labels = (other.get("metadata") or {}).get("labels") or {}
        if any(match_labels(sel, labels) for sel in selectors):
            yield from _cluster_role_rules(store, str(other["metadata"]["name"]), seen)


__all__ = ["AUTHENTICATED_RULES", "DEFAULT_CLUSTER_ROLES", "Attributes", "allows", "rules_for"]
