"""Who is asking and what they may do: the scenario's ``users``, and the reviews behind ``kubectl auth``.

A caller is named by its bearer token or by ``Impersonate-User``; a token the scenario does not list is the
cluster admin (the kubeconfig ``kubewhy sim serve`` writes uses one).
A ``readOnly`` user may get, list and watch; any write, dry-run included, answers 403 as RBAC's ``view`` role
would. ``SelfSubjectAccessReview`` (``kubectl auth can-i``), ``SelfSubjectRulesReview`` (``can-i --list``) and
``SelfSubjectReview`` (``kubectl auth whoami``) answer from the same rule.
"""

from __future__ import annotations

from typing import Any

from .scenario import ADMIN, Identity

READ_VERBS = frozenset({"get", "list", "watch"})
REVIEW_KINDS = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io",
                                                                       "selfsubjectrulesreviews"),
                ("authentication.k8s.io", "selfsubjectreviews")}


def identity(users: dict[str, Identity], authorization: str | None, impersonate: str | None = None) -> Identity:
    """The caller: the user its bearer token names, or the one it impersonates (``kubectl --as NAME``, or ``as:``
    in a kubeconfig: kubectl sends no token to a plain-http server, but does send ``Impersonate-User``). A name the
    scenario does not list gets read-only rights; the admin impersonates at will."""
    if impersonate:
        return next((u for u in users.values() if u.name == impersonate),
                    Identity(impersonate, ("system:authenticated",), read_only=True))
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() in users:
        return users[token.strip()]
    return ADMIN


def allowed(who: Identity, verb: str) -> bool:
    return not who.read_only or verb in READ_VERBS


def forbidden_message(who: Identity, verb: str, plural: str, group: str, name: str | None,
                      namespace: str | None, sub: str | None = None) -> str:
    """The API server's words for an RBAC denial (``resource "serviceaccounts/token"`` for a subresource)."""
    subject = f'{plural}{"." + group if group else ""}' + (f' "{name}"' if name else "")
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    resource = f"{plural}/{sub}" if sub else plural
    return (f'{subject} is forbidden: User "{who.name}" cannot {verb} resource "{resource}" in API group '
            f'"{group}"{where}')


def review(who: Identity, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to a self-review POST: the request echoed with its ``status`` filled in."""
    out = dict(body)
    out.setdefault("metadata", {})
    if plural == "selfsubjectaccessreviews":
        attrs = ((body.get("spec") or {}).get("resourceAttributes")
                 or (body.get("spec") or {}).get("nonResourceAttributes") or {})
        verb = str(attrs.get("verb") or "")
        ok = allowed(who, verb)
        out["status"] = {"allowed": ok, **({} if ok else {"reason": f"user {who.name} is read-only in this "
                                                                     f"simulated cluster"})}
    elif plural == "selfsubjectrulesreviews":
        verbs = sorted(READ_VERBS) if who.read_only else ["*"]
        out["status"] = {"resourceRules": [{"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]},
                                           {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                                            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}],
                         "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["*"]}], "incomplete": False}
    else:
        out["status"] = {"userInfo": {"username": who.name, "groups": list(who.groups)}}
    return out


__all__ = ["REVIEW_KINDS", "allowed", "forbidden_message", "identity", "review"]
