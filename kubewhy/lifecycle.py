"""One fix lifecycle for every front-end: propose → dry run → pre-check → apply, each step in the audit log.

The bot's "Apply fix…" modal and the TUI's confirm dialog used to write this sequence twice. Now both call
:class:`kubewhy.app.Kubewhy`, which calls these functions. An :class:`Action` carries everything a later policy
needs, so the governed-fixes work fills in policies instead of rebuilding the lifecycle:

- the **target's UID**, read at the dry run: the pre-check refuses to patch an object that was deleted and
  re-created since (same name, different object) — the patch would land on something nobody looked at;
- the **precondition** it checks before applying, in words, for the audit log and the confirmation screen;
- the **acting identity**: the CLI and the TUI act with the user's own kubeconfig credentials; the bot, through
  its identity map (:mod:`kubewhy.identity`), as the approving person: ``kind="person"``, whose dry run, access
  review and patch impersonate their Kubernetes user and groups, so that the API server's RBAC decides. The
  apply uses the identity the approver's dry run was made as. An identity of kind ``service-account`` (kubewhy's
  own, in the cluster, for a person nobody mapped) may read and dry-run, but :func:`apply` refuses it: a fix is
  never made with kubewhy's own rights (the bot refuses first; this is the second line);
- an **approval policy**: ``none``, or ``two-person`` where configured (:attr:`Action.two_person`: namespaces and
  label selectors of the patched object): there, whoever asked for the fix (:attr:`Action.requested_by`) cannot
  approve it. ``allowlist`` is the front-end's (the bot checks it before anything reaches here), and refused
  here rather than silently treated as ``none``;
- its **audit records**: the proposal's key and the key of every event recorded since.

An action is applied at most once: a second ``apply`` (a double click, a replayed Slack submit) is refused with
:class:`AlreadyApplied` and nothing is sent to the API server.

An approval is **pinned** (:class:`Pin`) to what the approver's dry run saw: the sha256 of the patch, the fix, the
namespace, the target's UID, its ``metadata.generation`` and a hash of the fields the patch touches. Apply is
refused when the pin no longer matches (the object changed where it matters, or was re-created), when the
approval is older than its TTL (``KUBEWHY_APPROVAL_TTL``, 15 minutes), or when no dry run was shown to the
approver. The resourceVersion is not pinned: a crash-looping pod or a Deployment's status moves it every few
seconds. It is used only between a final re-run of the dry run and the patch, as the patch's precondition
(``metadata.resourceVersion``, or a ``test`` operation of a JSON patch): a change in between is a 409, not a
silent overwrite.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from . import actions
from .access import may
from .errors import KubewhyError, UsageError
from .fixes import PatchResult, apply_patch, describe_patch
from .models.findings import Fix, Patch
from .models.target import Target

if TYPE_CHECKING:
    from .adapters.ports import Capabilities
    from .audit.records import FixEventKind
    from .service import Deps

ApprovalPolicy = Literal["none", "allowlist", "two-person"]
State = Literal["proposed", "dry_run", "approved", "applied", "failed", "declined"]
POLICIES: tuple[ApprovalPolicy, ...] = ("none", "allowlist", "two-person")
APPROVAL_TTL = timedelta(minutes=15)  # how long a dry run shown to a person stays approvable


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Pin:
    """What an approval covers (see the module docstring); ``digest`` is compared at apply."""

    digest: str
    uid: str | None
    generation: int | None
    fields: str  # sha256 of the values the patch touches, as the dry run saw them
    resource_version: str | None = None  # informational: never compared (see the module docstring)

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "uid": self.uid, "generation": self.generation, "fields": self.fields}


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _touched(patch: Patch) -> list[tuple[str, ...]]:
    """The paths a patch writes: a JSON patch's operation paths; a merge patch's leaves (a list is one leaf); none
    for a deletion (it removes the whole object: its UID and generation are pinned)."""
    if patch.type == "delete":
        return []
    if patch.type == "json":
        out = []
        for op in patch.body if isinstance(patch.body, list) else []:
            path = str(op.get("path", "")) if isinstance(op, dict) else ""
            out.append(tuple(p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]))
        return out

    def leaves(value: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        if isinstance(value, dict) and value:
            return [leaf for k, v in value.items() for leaf in leaves(v, (*prefix, str(k)))]
        return [prefix]

    return leaves(patch.body, ())


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def pin(action: Action, obj: dict[str, Any] | None) -> Pin:
    """The pin of ``action`` against the live object ``obj`` (None: it does not exist)."""
    meta = (obj or {}).get("metadata") or {}
    uid = str(meta.get("uid") or "") or None
    generation = meta.get("generation") if isinstance(meta.get("generation"), int) else None
    fields = _sha([[list(p), _at(obj, p)] for p in _touched(action.patch)])
    patch = action.patch
    digest = _sha(
        {
            "patch": _sha({"type": patch.type, "body": patch.body}),
            "fix": action.finding_id + ":" + action.fix.title,
            "kind": patch.kind,
            "namespace": patch.namespace,
            "name": patch.name,
            "uid": uid,
            "generation": generation,
            "fields": fields,
        }
    )
    return Pin(digest, uid, generation, fields, str(meta.get("resourceVersion") or "") or None)


def _stale(was: Pin, now: Pin) -> str:
    """Why an approval pinned to ``was`` no longer covers the object (``now``), or ""."""
    if was.digest == now.digest:
        return ""
    if now.uid is None:
        return "it was deleted since the dry run"
    if was.uid != now.uid:
        return f"it was re-created since the dry run (UID {now.uid})"
    if was.fields != now.fields:
        return "the fields the fix changes were changed since the dry run: look again before applying"
    if was.generation != now.generation:
        return f"its spec changed since the dry run (generation {was.generation} → {now.generation})"
    return "the approval does not match this fix any more"


def with_precondition(patch: Patch, resource_version: str) -> Patch:
    """``patch`` that the API server applies only to ``resource_version`` (409 or 422 otherwise); a deletion
    carries it as a DeleteOptions precondition."""
    if patch.type == "delete":
        options = copy.deepcopy(patch.body) if isinstance(patch.body, dict) else {}
        options.setdefault("preconditions", {})["resourceVersion"] = resource_version
        return Patch(patch.kind, patch.name, patch.namespace, patch.type, options)
    if patch.type == "json":
        test = {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}
        return Patch(patch.kind, patch.name, patch.namespace, patch.type, [test, *list(patch.body or [])])
    body = copy.deepcopy(patch.body) if isinstance(patch.body, dict) else {}
    body.setdefault("metadata", {})["resourceVersion"] = resource_version
    return Patch(patch.kind, patch.name, patch.namespace, patch.type, body)


@dataclass(frozen=True)
class Review:
    """What one person was shown before approving: the dry run's outcome (the access review ran before it)."""

    ok: bool
    at: datetime
    identity: Identity | None = None  # whom the dry run and the access review were made as
    pin: Pin | None = None  # what the dry run saw (the approval covers exactly this)


@dataclass(frozen=True)
class Identity:
    """Whose credentials a change is made with: ``user`` (the person's own kubeconfig) or ``service-account``
    (the bot's, in the cluster). ``name`` is what the audit log shows."""

    kind: Literal["user", "service-account", "person"]
    name: str
    groups: tuple[str, ...] = ()  # a person's Kubernetes groups (impersonated with ``name``)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.groups:
            out["groups"] = list(self.groups)
        return out

    @classmethod
    def person(cls, user: str, groups: tuple[str, ...] = ()) -> Identity:
        """A person's Kubernetes identity, impersonated by the connection."""
        return cls("person", user, groups)


OWN_RIGHTS = (
    "{actor} is not mapped to a Kubernetes user, and kubewhy never applies a fix with its own service account: "
    "map them in the identity map (KUBEWHY_SLACK_IDENTITIES, docs/security.md)"
)


class AlreadyApplied(UsageError):
    """The action was approved once already: it is never applied twice."""

    def __init__(self, by: str):
        super().__init__(f"this fix was already submitted by {by}; it is applied once")
        self.by = by


@dataclass(frozen=True)
class Precheck:
    """What the pre-check found; ``ok`` False says why in ``reason`` (shown to the person, recorded)."""

    ok: bool
    reason: str = ""
    rbac: bool | None = None  # the API server's SelfSubjectAccessReview answer (None: it could not say)


@dataclass
class Action:
    """One proposed fix and what became of it (see the module docstring)."""

    id: str
    target: Target  # what was diagnosed
    finding_id: str  # the playbook whose finding proposed it
    fix: Fix
    patch: Patch
    acting_as: Identity
    policy: ApprovalPolicy = "none"
    source: str = "cli"
    channel: str | None = None
    incident: str | None = None
    target_uid: str | None = None  # the patched object's UID, read at the dry run
    state: State = "proposed"
    approved_by: str | None = None
    audit_key: uuid.UUID | None = None  # the proposal's record; events link to it
    records: list[uuid.UUID] = field(default_factory=list)  # every event recorded since
    reviews: dict[str, Review] = field(default_factory=dict)  # who was shown a dry run, and when
    requested_by: str | None = None  # who asked for the fix (the diagnosis' asker): not its approver, with two-person
    two_person: tuple[str, ...] = ()  # where two people are needed: namespaces, "selector:" label selectors
    applied_as: Identity | None = None  # the identity the patch was sent as (the approver's, when mapped)
    ttl: timedelta = APPROVAL_TTL

    @property
    def verb(self) -> str:
        """The API verb the action needs (RBAC): ``patch``, or ``delete`` for a deletion."""
        return "delete" if self.patch.type == "delete" else "patch"

    @property
    def precondition(self) -> str:
        """The condition checked just before the patch is sent, in words."""
        what = describe_patch(self.patch).split(" patch of ", 1)[-1].removeprefix("deletion of ")
        may = f"may be {self.verb}d by {self.acting_as.name}"
        if self.target_uid is None:
            return f"{what} exists and {may}"
        return f"{what} is still the object with UID {self.target_uid} and {may}"


def propose(
    deps: Deps,
    fix: Fix,
    *,
    target: Target,
    finding_id: str,
    acting_as: Identity,
    source: str,
    channel: str | None = None,
    incident: str | None = None,
    policy: ApprovalPolicy = "none",
    requested_by: str | None = None,
    two_person: tuple[str, ...] = (),
) -> Action:
    """Record that ``fix`` was offered to a person; :class:`UsageError` when it has no patch to apply."""
    if fix.patch is None:
        raise UsageError(f"{fix.title!r} has no patch to apply: run its command yourself")
    if policy not in POLICIES:
        raise UsageError(f"unknown approval policy {policy!r} (one of: {', '.join(POLICIES)})")
    key = actions.propose_fix(
        deps, fix, playbook_id=finding_id, source=source, channel=channel, proposed_by="kubewhy", incident=incident
    )
    return Action(
        id=uuid.uuid4().hex[:16],
        target=target,
        finding_id=finding_id,
        fix=fix,
        patch=fix.patch,
        acting_as=acting_as,
        policy=policy,
        source=source,
        channel=channel,
        incident=incident,
        audit_key=key,
        requested_by=requested_by,
        two_person=two_person,
    )


def _event(
    deps: Deps,
    action: Action,
    event: FixEventKind,
    actor: str,
    result: dict[str, Any],
    identity: Identity | None = None,
) -> None:
    result = {**result, "acting_as": (identity or action.acting_as).to_dict(), "policy": action.policy}
    if action.target_uid is not None:
        result["target_uid"] = action.target_uid
    key = actions.fix_event(deps, action.audit_key, event, actor=actor, source=action.source, result=result)
    if key is not None:
        action.records.append(key)


async def _object(deps: Deps, patch: Patch) -> dict[str, Any] | None:
    return await deps.kube.get(patch.kind, patch.namespace, patch.name)


async def _uid(deps: Deps, patch: Patch) -> str | None:
    obj = await _object(deps, patch)
    if obj is None:
        return None
    return str((obj.get("metadata") or {}).get("uid") or "") or None


def _capabilities(deps: Deps, identity: Identity) -> Capabilities:
    """The connection's writer and object sides, as ``identity`` (a person: impersonated)."""
    caps = deps.kube.capabilities
    if identity.kind != "person":
        return caps
    if caps.impersonate is None:
        raise UsageError("this cluster connection cannot act as another user (impersonation)")
    return caps.impersonate.impersonating(identity.name, identity.groups)


async def dry_run(deps: Deps, action: Action, *, actor: str, identity: Identity | None = None) -> PatchResult:
    """The server-side dry run shown before approval, as ``identity`` (default: the action's). It also reads the
    object's UID: the precondition."""
    identity = identity or action.acting_as
    seen: Pin | None = None
    try:
        obj = await _object(deps, action.patch)
        seen = pin(action, obj)
        action.target_uid = seen.uid
    except KubewhyError:
        action.target_uid = None  # the dry run says what is wrong
    result = await apply_patch(_capabilities(deps, identity).writer, action.patch, dry_run=True)
    action.reviews[actor] = Review(result.ok and seen is not None, _now(), identity, seen)
    if action.state == "proposed":
        action.state = "dry_run"
    _event(deps, action, "dry_run", actor, {"ok": result.ok, "message": result.message}, identity)
    return result


def needs_two(action: Action, obj: dict[str, Any] | None) -> bool:
    """Whether the two-person rule covers the patched object (its namespace, or a selector matching its labels)."""
    from .selectors import matches

    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    for rule in action.two_person:
        if rule.startswith("selector:"):
            if obj is not None and matches(rule.removeprefix("selector:"), labels):
                return True
        elif rule == action.patch.namespace:
            return True
    return False


async def precheck(deps: Deps, action: Action, identity: Identity | None = None, actor: str | None = None) -> Precheck:
    """Before anything is sent: the approval policy allows ``actor`` (two-person: not whoever asked for the fix),
    ``identity`` (default: the action's) may patch the object (RBAC, asked of the API server as them), and the
    object is still the one the dry run saw."""
    if action.two_person and action.policy == "none":
        try:
            if needs_two(action, await _object(deps, action.patch)):
                action.policy = "two-person"
        except KubewhyError as exc:
            return Precheck(False, f"cannot read it to apply the two-person rule: {exc}")
    if action.policy == "two-person":
        if action.requested_by is None:
            return Precheck(False, "the two-person rule applies, and nobody is recorded as having asked for this fix")
        if actor is not None and actor == action.requested_by:
            return Precheck(
                False, f"two people are needed here: {actor} asked for this fix, so someone else must approve it"
            )
    elif action.policy != "none":
        return Precheck(False, f"the {action.policy} approval policy is not available here")
    identity = identity or action.acting_as
    patch = action.patch
    verb = action.verb
    access = await may(_capabilities(deps, identity).objects, verb, patch.kind, patch.namespace, patch.name)
    if access.allowed is False:
        return Precheck(False, f"{identity.name} may not {verb} it (RBAC): {access.reason}".rstrip(": "), False)
    if action.target_uid is not None:
        try:
            uid = await _uid(deps, patch)
        except KubewhyError as exc:
            return Precheck(False, f"cannot read it before applying: {exc}", access.allowed)
        if uid != action.target_uid:
            now = "it was deleted" if uid is None else f"it was re-created (UID {uid})"
            return Precheck(False, f"{describe_patch(patch)}: {now} since the dry run", access.allowed)
    return Precheck(True, "", access.allowed)


async def apply(deps: Deps, action: Action, *, actor: str) -> PatchResult:
    """Apply after a person approved: ``approved`` then ``applied`` or ``failed`` in the audit log. Refused, and
    recorded as ``declined``, when the pre-check fails; :class:`AlreadyApplied` on a second call."""
    if action.approved_by is not None:
        raise AlreadyApplied(action.approved_by)
    unreviewed = _unreviewed(action, actor)
    if unreviewed:  # an approval without the dry run shown first (a hand-made submit): nothing is sent
        _event(deps, action, "declined", actor, {"reason": unreviewed, "precheck": False, "refused": True})
        return PatchResult(False, False, unreviewed)
    review = action.reviews[actor]
    identity = review.identity or action.acting_as  # as whom the approver's dry run was made
    if identity.kind == "service-account":  # a person acts as themselves, never with kubewhy's own rights
        reason = OWN_RIGHTS.format(actor=actor)
        _event(deps, action, "declined", actor, {"reason": reason, "precheck": False, "refused": True}, identity)
        return PatchResult(False, False, reason)
    action.approved_by = actor  # before any await: a concurrent submit sees it
    check = await precheck(deps, action, identity, actor)
    now: Pin | None = None
    stale = ""
    if check.ok and review.pin is not None:
        try:
            now = pin(action, await _object(deps, action.patch))
        except KubewhyError as exc:
            check = Precheck(False, f"cannot read it before applying: {exc}", check.rbac)
        else:
            stale = _stale(review.pin, now)
            if stale:
                check = Precheck(False, f"{describe_patch(action.patch)}: {stale}", check.rbac)
    if not check.ok:
        action.state = "declined"
        details = {"reason": check.reason, "precheck": False, **({"pin": review.pin.to_dict()} if review.pin else {})}
        _event(deps, action, "declined", actor, details, identity)
        if stale:  # nothing was sent: the approver may look again (a fresh dry run) and approve that
            action.approved_by = None
        return PatchResult(False, False, check.reason)
    action.state = "approved"
    action.applied_as = identity
    pinned = {"pin": review.pin.to_dict()} if review.pin else {}
    _event(deps, action, "approved", actor, {"precondition": action.precondition, **pinned}, identity)
    writer = _capabilities(deps, identity).writer
    patch = action.patch
    if now is not None and now.resource_version:  # the resourceVersion: only from here to the patch
        patch = with_precondition(patch, now.resource_version)
    try:
        final = await apply_patch(writer, patch, dry_run=True)  # the final re-run of the dry run
        result = final if not final.ok else await apply_patch(writer, patch, dry_run=False)
    except KubewhyError as exc:
        result = PatchResult(False, False, str(exc))
    action.state = "applied" if result.ok else "failed"
    _event(deps, action, action.state, actor, {"message": result.message}, identity)
    return result


def _unreviewed(action: Action, actor: str, at: datetime | None = None) -> str:
    """Why ``actor`` may not approve ``action`` yet (empty: they may): they were shown no successful dry run, or it
    is older than the approval's TTL."""
    review = action.reviews.get(actor)
    if review is None:
        return f"no dry run was shown to {actor} before approving"
    if not review.ok:
        return "the dry run shown before approving failed"
    if (at or _now()) - review.at > action.ttl:
        minutes = int(action.ttl.total_seconds() // 60)
        return f"the approval expired (a dry run is approvable for {minutes} minutes): run it again"
    return ""


@dataclass(frozen=True)
class Verification:
    """What the diagnosis said when it ran again after a fix: ``resolved`` when the finding that proposed the fix
    is gone."""

    resolved: bool
    summary: str
    findings: tuple[str, ...] = ()


async def verify(
    deps: Deps, target: Target, finding_id: str, *, source: str, proposal: uuid.UUID | None = None
) -> Verification:
    """Run the diagnosis of ``target`` again and say whether ``finding_id`` is gone; recorded (``fix_verified``)."""
    from .service import diagnose

    report = await diagnose(target, deps, actor="kubewhy", source=source)
    found = tuple(f.id for f in report.findings)
    resolved = finding_id not in found
    summary = (
        f"{finding_id} no longer found on {target.ref}"
        if resolved
        else f"{finding_id} still found on {target.ref}: "
        + next(f.summary for f in report.findings if f.id == finding_id)
    )
    actions.record_action(
        deps,
        "fix_verified",
        actor="kubewhy",
        source=source,
        target=target,
        details={
            "summary": ("resolved: " if resolved else "still failing: ") + summary,
            "resolved": resolved,
            "finding": finding_id,
            "findings": list(found),
            **({"proposal": str(proposal)} if proposal else {}),
        },
    )
    return Verification(resolved, summary, found)


def decline(deps: Deps, action: Action, *, actor: str, reason: str = "", **details: Any) -> None:
    """The person (or a policy) said no; nothing is applied."""
    action.state = "declined"
    _event(deps, action, "declined", actor, {"reason": reason, **details} if reason or details else {})


__all__ = [
    "APPROVAL_TTL",
    "POLICIES",
    "Action",
    "AlreadyApplied",
    "ApprovalPolicy",
    "Identity",
    "Pin",
    "Precheck",
    "Review",
    "Verification",
    "apply",
    "needs_two",
    "decline",
    "dry_run",
    "precheck",
    "pin",
    "propose",
    "verify",
    "with_precondition",
]
