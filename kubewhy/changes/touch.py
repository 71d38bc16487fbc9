"""The policies that touch a workload without being referenced by it: the PodDisruptionBudgets and NetworkPolicies
whose selectors pick its pods, and the RoleBindings that bind its service account. A change to one of them (a
default-deny policy added, a binding's role swapped, a budget that blocks every eviction) is a change to the
workload's world, so ``kubewhy changes`` and the diagnoses' evidence cover them. These functions make no request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import selectors

Obj = dict[str, Any]
POLICY_KINDS = ("PodDisruptionBudget", "NetworkPolicy", "RoleBinding")


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _template(obj: Obj) -> Obj:
    spec = _d(obj.get("spec"))
    if obj.get("kind") == "CronJob":
        spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    return _d(spec.get("template"))


def pod_labels(obj: Obj) -> dict[str, str]:
    """The labels of ``obj``'s pods: a pod's own, a workload's template's."""
    meta = _d(obj.get("metadata")) if obj.get("kind") == "Pod" else _d(_template(obj).get("metadata"))
    return {str(k): str(v) for k, v in _d(meta.get("labels")).items()}


def service_account(obj: Obj) -> str:
    """The service account ``obj``'s pods run as (``default`` when the spec names none)."""
    spec = _d(obj.get("spec")) if obj.get("kind") == "Pod" else _d(_template(obj).get("spec"))
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def _selects(policy: Obj, labels: dict[str, str]) -> bool:
    spec = _d(policy.get("spec"))
    selector = spec.get("podSelector") if policy.get("kind") == "NetworkPolicy" else spec.get("selector")
    if not isinstance(selector, dict):
        return False  # none: nothing (an empty one, {}, selects every pod of the namespace)
    try:
        return selectors.selector_matches(selector, labels)
    except selectors.SelectorError:
        return False


def _binds(binding: Obj, namespace: str, account: str) -> bool:
    for s in binding.get("subjects") or []:
        s = _d(s)
        if s.get("kind") == "ServiceAccount" and s.get("name") == account:
            if (s.get("namespace") or _d(binding.get("metadata")).get("namespace")) == namespace:
                return True
    return False


def touching(workloads: Iterable[Obj], policies: Iterable[Obj]) -> list[Obj]:
    """The ``policies`` (kind set; PDBs, NetworkPolicies, RoleBindings of the workloads' namespace) that select
    the pods of one of ``workloads`` or bind their service account."""
    targets = [
        (str(_d(w.get("metadata")).get("namespace") or ""), pod_labels(w), service_account(w)) for w in workloads
    ]
    out: dict[tuple[str, str, str], Obj] = {}
    for p in policies:
        meta = _d(p.get("metadata"))
        ns = str(meta.get("namespace") or "")
        for wns, labels, account in targets:
            if ns != wns:
                continue
            hit = _binds(p, wns, account) if p.get("kind") == "RoleBinding" else labels and _selects(p, labels)
            if hit:
                out[(str(p.get("kind")), ns, str(meta.get("name")))] = p
                break
    return list(out.values())


__all__ = ["POLICY_KINDS", "pod_labels", "service_account", "touching"]
