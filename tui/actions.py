"""What the keys that change the cluster ask for, as fixes the core's one action lifecycle applies
(:mod:`kubewhy.lifecycle`: proposal, server-side dry run, RBAC pre-check, confirm, apply, each step audited).

Scale, rollout restart and edit are each a patch of the selected object, delete a deletion of it (a ``Patch`` of
type ``delete``), built here from the person's intent; :class:`tui.screens.confirm.ConfirmFix` then runs them
exactly like a diagnosed fix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from kubewhy.models.findings import Fix, Patch
from kubewhy.models.target import Target

SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")
RESTARTABLE = ("Deployment", "StatefulSet", "DaemonSet")
ACTION_ID = "k8stui"  # the "finding" an action of a person's own is recorded under
READ_ONLY = ("status",)  # what an edit never sends back
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")


class EditError(ValueError):
    """An edited text that cannot be applied (bad YAML, another object, redaction placeholders)."""


def _where(target: Target) -> str:
    return f"-n {target.namespace} " if target.namespace else ""


def scale_fix(target: Target, replicas: int) -> Fix:
    kind = target.kind.lower()
    return Fix(
        title=f"Scale {target.ref} to {replicas} replicas",
        command=f"kubectl {_where(target)}scale {kind}/{target.name} --replicas={replicas}",
        risk="medium",
        patch=Patch(target.kind, target.name, target.namespace, "merge", {"spec": {"replicas": replicas}}),
    )


def restart_fix(target: Target, now: datetime | None = None) -> Fix:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kind = target.kind.lower()
    body = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
    return Fix(
        title=f"Rollout restart {target.ref}",
        command=f"kubectl {_where(target)}rollout restart {kind}/{target.name}",
        risk="medium",
        patch=Patch(target.kind, target.name, target.namespace, "merge", body),
    )


def delete_fix(target: Target) -> Fix:
    """Delete the object: the lifecycle dry-runs the DELETE server-side, pre-checks the ``delete`` verb (RBAC)
    and the object's UID, and sends it with a resourceVersion precondition."""
    kind = target.kind.lower()
    return Fix(
        title=f"Delete {target.ref}",
        command=f"kubectl {_where(target)}delete {kind}/{target.name}",
        risk="high",
        patch=Patch(target.kind, target.name, target.namespace, "delete", {"propagationPolicy": "Background"}),
    )


def merge_patch(before: Any, after: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after``; None when they are equal."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None if before == after else after
    out: dict[str, Any] = {}
    for key in before.keys() - after.keys():
        out[key] = None
    for key, value in after.items():
        if key not in before:
            out[key] = value
        elif before[key] != value:
            out[key] = merge_patch(before[key], value) if isinstance(value, dict) else value
    return out or None


def editable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the editor shows it: without status and the fields the server owns."""
    shown = {k: v for k, v in obj.items() if k not in READ_ONLY}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    shown["metadata"] = meta
    return shown


def edit_text(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(editable(obj), sort_keys=False, default_flow_style=False)


def edit_fix(target: Target, obj: dict[str, Any], text: str, placeholders: tuple[str, ...] = ()) -> Fix | None:
    """The edit of ``obj`` into ``text`` as a merge patch; None when nothing changed. :class:`EditError` for text
    that is not YAML, names another object, or still holds a redaction placeholder (never written back)."""
    try:
        edited = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise EditError(f"the edited text is not YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(edited, dict):
        raise EditError("the edited text is not an object")
    meta = edited.get("metadata") or {}
    if meta.get("name") != target.name or (meta.get("namespace") or None) != target.namespace:
        raise EditError("the edit renames the object or moves it to another namespace: not applied")
    for placeholder in placeholders:
        if placeholder and placeholder in text:
            raise EditError(f"the edit holds the redaction placeholder {placeholder!r}: not written back")
    patch = merge_patch(editable(obj), editable(edited))
    if patch is None:
        return None
    kind = target.kind.lower()
    return Fix(
        title=f"Edit {target.ref}",
        command=f"kubectl {_where(target)}edit {kind}/{target.name}",
        risk="high",
        patch=Patch(target.kind, target.name, target.namespace, "merge", patch),
    )


def diff_text(obj: dict[str, Any], text: str) -> str:
    """A unified diff of the object as shown to the editor and as edited."""
    import difflib

    return "".join(
        difflib.unified_diff(
            edit_text(obj).splitlines(keepends=True), text.splitlines(keepends=True), "before", "after", n=2
        )
    )


__all__ = ["EditError", "delete_fix", "diff_text", "edit_fix", "edit_text", "merge_patch", "restart_fix", "scale_fix"]
