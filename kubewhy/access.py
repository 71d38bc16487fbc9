"""May kubewhy's own identity do this? A ``SelfSubjectAccessReview`` asked of the API server before a fix is
offered for approval, so that a read-only install (the Helm chart's default) says so plainly instead of failing
halfway through a dry run or an apply."""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.ports import ObjectWriter
from .errors import KubewhyError
from .kinds import info


@dataclass(frozen=True)
class Access:
    allowed: bool | None  # None: the API server could not say (the apply then goes on and reports its own error)
    reason: str = ""


async def may(
    objects: ObjectWriter | None, verb: str, kind: str, namespace: str | None, name: str | None = None
) -> Access:
    """``objects``: the connection's ``capabilities.objects`` (None: it cannot ask, and the answer is unknown)."""
    if objects is None:
        return Access(None, "this cluster connection cannot ask")
    create = objects.create
    k = info(kind)
    attrs = {"verb": verb, "group": k.group, "resource": k.plural, "namespace": namespace or "", "name": name or ""}
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs},
    }
    try:
        answer = await create("SelfSubjectAccessReview", None, body)
    except KubewhyError as exc:
        return Access(None, str(exc))
    status = answer.get("status") or {}
    return Access(bool(status.get("allowed")), str(status.get("reason") or ""))


__all__ = ["Access", "may"]
