"""Who is asking and what they may do: the scenario's ``users``, RBAC, and the reviews behind ``kubectl auth``.

A caller is named by its bearer token or by ``Impersonate-User`` (and ``Impersonate-Group``). A token the
scenario lists is its user; a service account token from ``kubectl create token`` is that service account (and
401 once expired); any other token is the cluster admin (the kubeconfig ``kubewhy sim serve`` writes uses one),
who may do anything, as ``system:masters`` may. Everyone else gets what RBAC gives them (kubesim/rbac.py): the
bindings in the scenario, plus the default ``view`` ClusterRole for a ``readOnly`` user. ``SelfSubjectAccessReview``
(``kubectl auth can-i``), ``SelfSubjectRulesReview`` (``can-i --list``) and ``SelfSubjectReview``
(``kubectl auth whoami``) answer from the same rules.
"""

from __future__ import annotations

from typing import Any

from . import tokens
from .rbac import DEFAULT_CLUSTER_ROLES, Attributes, allows, rules_for
from .scenario import ADMIN, Identity
from .store import Store

SUPERUSER_GROUP = "system:masters"
REVIEW_KINDS = {
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
}


class Unauthorized(Exception):
    """A bearer token the API server cannot authenticate (a service account token that is expired, or not signed
    by this cluster): 401, as from a real API server."""


def identity(
    users: dict[str, Identity],
    authorization: str | None,
    impersonate: str | None = None,
    impersonate_groups: tuple[str, ...] = (),
    store: Store | None = None,
) -> Identity:
    """The caller: the user its bearer token names, or the one it impersonates (``kubectl --as NAME``, or ``as:``
    in a kubeconfig: kubectl sends no token to a plain-http server, but does send ``Impersonate-User``). A listed
    name takes the scenario's groups for it; ``--as-group`` adds groups, as the API server does. The admin may
    impersonate anyone; anyone else needs RBAC's ``impersonate`` verb on ``users`` (and ``groups``) of the core
    group, each name allowed (``resourceNames``), as the API server checks (given ``store``, the RBAC objects).
    A group without a user is a 400 (``Impersonate-Group`` needs ``Impersonate-User``)."""
    caller = _authenticate(users, authorization)
    if not impersonate:
        if impersonate_groups:
            raise BadImpersonation("requested impersonation of groups without a user")
        return caller
    if not is_superuser(caller):
        wanted = [("users", impersonate)] + [("groups", g) for g in impersonate_groups]
        for resource, name in wanted:
            attrs = Attributes("impersonate", "", resource, "", name, "")
            if store is None or not authorize(store, caller, attrs):
                raise Forbidden(
                    f'{resource} "{name}" is forbidden: User "{caller.name}" cannot impersonate resource '
                    f'"{resource}" in API group "" at the cluster scope'
                )
    listed = next((u for u in users.values() if u.name == impersonate), None)
    groups = (listed.groups if listed else ()) + impersonate_groups
    if "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return Identity(impersonate, groups, read_only=listed.read_only if listed else False)


def _authenticate(users: dict[str, Identity], authorization: str | None) -> Identity:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if token in users:
        return users[token]
    if tokens.looks_like_jwt(token):  # a service account token (``kubectl create token``)
        claims = tokens.verify(token)
        if claims is None:
            raise Unauthorized("Unauthorized")
        namespace = str((claims.get("kubernetes.io") or {}).get("namespace") or "")
        return Identity(
            str(claims.get("sub") or ""),
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        )
    return ADMIN


class Forbidden(Exception):
    """A request RBAC refuses before it reaches a resource (impersonation): 403."""


class BadImpersonation(Exception):
    """An impersonation request the API server cannot read (groups without a user): 400."""


def is_superuser(who: Identity) -> bool:
    return who == ADMIN or SUPERUSER_GROUP in who.groups


def authorize(store: Store, who: Identity, attrs: Attributes) -> bool:
    """Whether RBAC lets ``who`` make the request ``attrs`` describes."""
    if is_superuser(who):
        return True
    return allows(_rules(store, who, attrs.namespace), attrs)


def _rules(store: Store, who: Identity, namespace: str) -> list[dict[str, Any]]:
    extra = DEFAULT_CLUSTER_ROLES["view"] if who.read_only else []
    return rules_for(store, who.name, who.groups, namespace, extra)


def forbidden_message(who: Identity, attrs: Attributes, plural: str) -> str:
    """The API server's words for an RBAC denial."""
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    subject = f"{plural}{'.' + attrs.group if attrs.group else ''}" + (f' "{attrs.name}"' if attrs.name else "")
    where = f' in the namespace "{attrs.namespace}"' if attrs.namespace else " at the cluster scope"
    return (
        f'{subject} is forbidden: User "{who.name}" cannot {attrs.verb} resource "{resource}" in API group '
        f'"{attrs.group}"{where}'
    )


def review(store: Store, who: Identity, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to a self-review POST: the request echoed with its ``status`` filled in."""
    out = dict(body)
    out.setdefault("metadata", {})
    spec = body.get("spec") or {}
    if plural == "selfsubjectaccessreviews":
        attrs = Attributes.from_review(spec)
        ok = authorize(store, who, attrs)
        out["status"] = {"allowed": ok}  # as RBAC answers: a denial gives no reason, kubectl prints "no"
    elif plural == "selfsubjectrulesreviews":
        rules = (
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
            if is_superuser(who)
            else _rules(store, who, str(spec.get("namespace") or ""))
        )
        out["status"] = {
            "resourceRules": [
                {k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if k in r}
                for r in rules
                if "nonResourceURLs" not in r
            ],
            "nonResourceRules": [
                {"verbs": r["verbs"], "nonResourceURLs": r["nonResourceURLs"]} for r in rules if "nonResourceURLs" in r
            ],
            "incomplete": False,
        }
    else:
        out["status"] = {"userInfo": {"username": who.name, "groups": list(who.groups)}}
    return out


__all__ = [
    "REVIEW_KINDS",
    "Attributes",
    "BadImpersonation",
    "Forbidden",
    "Unauthorized",
    "authorize",
    "forbidden_message",
    "identity",
    "is_superuser",
    "review",
]
