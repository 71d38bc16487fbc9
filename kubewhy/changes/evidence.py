"""What changed before the trouble started, as evidence in every diagnosis, read from what the diagnosis already
fetched (the single-flight cache's finished reads, :meth:`CachedKube.held`): no request of its own, except the
GET of a ConfigMap a pod references when its containers cannot start for a key missing from it.

It covers the objects the diagnosis examined (the target, its owners, pods, node, autoscaler), the ReplicaSets a
Deployment's playbooks listed, the ConfigMaps and Secrets the target references when a playbook read them, the
Services of the namespace when they were listed, and the events read about any of these. A change within
:data:`~kubewhy.changes.onset.WINDOW` before the onset is listed; one that plausibly explains the failure (an image
changed, then ImagePullBackOff) comes first and says why; the others are listed, not blamed.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from .. import kinds, selectors
from ..adapters.cache import CachedKube
from ..engine.related import ref_of
from ..errors import AdapterError
from ..models.findings import Finding, Fix
from .diff import references
from .model import Change, Ranked
from .onset import WINDOW, failure_words, onset, rank
from .read import event_changes, managed_changes, node_changes, owned_by, rollout_changes
from .stored import Reader, merge, read, subjects_of
from .touch import POLICY_KINDS, touching

Obj = dict[str, Any]
ID = "what-changed"
MAX_LINES = 8


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def held_events(kube: CachedKube, obj: Obj) -> list[Obj]:
    """The events about ``obj`` the diagnosis read (the ``events`` check's request), else none."""
    meta = _d(obj.get("metadata"))
    if not meta.get("name"):
        return []
    fs = f"involvedObject.kind={obj.get('kind', '')},involvedObject.name={meta['name']}"
    found = kube.held(("list", "Event", meta.get("namespace"), None, fs))
    return list(found) if isinstance(found, list) else []


def _selector(obj: Obj) -> str:
    try:
        return selectors.to_text(_d(obj.get("spec")).get("selector")) or ""
    except selectors.SelectorError:
        return ""


def held_history(kube: CachedKube, workload: Obj) -> list[Obj]:
    """A Deployment's ReplicaSets or a StatefulSet's or DaemonSet's ControllerRevisions, when already listed."""
    kind = {"Deployment": "ReplicaSet", "StatefulSet": "ControllerRevision", "DaemonSet": "ControllerRevision"}
    if workload.get("kind") not in kind or not (text := _selector(workload)):
        return []
    ns = _d(workload.get("metadata")).get("namespace")
    found = kube.held(("list", kind[str(workload["kind"])], ns, text, None))
    return list(found) if isinstance(found, list) else []


def _services(kube: CachedKube, pods: list[Obj]) -> list[Obj]:
    out: dict[str, Obj] = {}
    for pod in pods:
        ns = _d(pod.get("metadata")).get("namespace")
        labels = _d(_d(pod.get("metadata")).get("labels"))
        for svc in kube.held(("list", "Service", ns, None, None)) or []:
            sel = _d(_d(svc.get("spec")).get("selector"))
            if sel and all(labels.get(k) == v for k, v in sel.items()):
                out[ref_of({**svc, "kind": "Service"})] = {**svc, "kind": "Service"}
    return list(out.values())


def held_policies(kube: CachedKube, objects: list[Obj]) -> list[Obj]:
    """The PDBs, NetworkPolicies and RoleBindings that touch the examined pods and workloads, from the LISTs the
    diagnosis made of their namespaces or of the whole cluster (a drain's PDBs), else none."""
    workloads = [o for o in objects if o.get("kind") == "Pod" or o.get("kind") in kinds.POD_SELECTING]
    namespaces = sorted({str(_d(o.get("metadata")).get("namespace") or "") for o in workloads} - {""})
    policies: dict[tuple[str, str, str], Obj] = {}
    for kind in POLICY_KINDS:
        for ns in [None, *namespaces]:
            for p in kube.held(("list", kind, ns, None, None)) or []:
                meta = _d(p.get("metadata"))
                policies[(kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = {**p, "kind": kind}
    return touching(workloads, list(policies.values())) if policies else []


def changes_of(kube: CachedKube, objects: list[Obj]) -> tuple[list[Change], list[Obj]]:
    """Every change the held reads show about ``objects`` and what they reference, and the events read."""
    changes: list[Change] = []
    events: list[Obj] = []
    seen: set[str] = set()
    extra: list[Obj] = []
    for obj in objects:
        ns = _d(obj.get("metadata")).get("namespace")
        for ref in sorted(references(obj)):
            kind, name = ref.split("/", 1)
            found = kube.held(("get", kind, ns, name))
            if isinstance(found, dict):
                extra.append({**found, "kind": kind})
    pods = [o for o in objects if o.get("kind") == "Pod"]
    for obj in [*objects, *extra, *_services(kube, pods), *held_policies(kube, objects)]:
        ref = ref_of(obj)
        if ref in seen:
            continue
        seen.add(ref)
        changes += managed_changes(obj)
        if obj.get("kind") == "Node":
            changes += node_changes(obj)
        history = held_history(kube, obj)
        if history:
            changes += rollout_changes(obj, [h for h in history if owned_by(h, obj)])
        events += held_events(kube, obj)
    changes += event_changes(events)
    changes += _node_spec_changes(kube, pods)
    return changes, events


def _node_spec_changes(kube: CachedKube, pods: list[Obj]) -> list[Change]:
    """For a Pending pod, the nodes' taints and cordons (from the node LIST pending-unschedulable made): a taint
    added before a pod stopped being scheduled. Their conditions and labels are left out (one line per node)."""
    if not any(_d(p.get("status")).get("phase") == "Pending" for p in pods):
        return []
    out: list[Change] = []
    for node in kube.held(("list", "Node", None, None, None)) or []:
        node = {**node, "kind": "Node"}
        out += [
            c for c in managed_changes(node) + node_changes(node) if "node" in c.areas and c.operation != "condition"
        ]
    return out


def line(r: Ranked) -> str:
    c = r.change
    ago = _human(r.before_s)
    who = f" by {c.who}" if c.who else ""
    cause = f" (change-cause: {c.cause})" if c.cause else ""
    head = f"likely cause, {r.blamed}: " if r.blamed else ""
    return f"{head}{c.at.strftime('%Y-%m-%dT%H:%M:%SZ')} ({ago} before the onset) {c.subject}: {c.summary}{who}{cause}"


def _human(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


_ROLLOUT_KINDS = {"deploy": "deployment", "sts": "statefulset", "ds": "daemonset"}


def span(window: timedelta) -> str:
    """A window as ``--since`` takes it: ``2h``, ``90m``, ``45s``."""
    s = int(window.total_seconds())
    return f"{s // 3600}h" if s % 3600 == 0 else f"{s // 60}m" if s % 60 == 0 else f"{s}s"


def _fixes(target_ref: str, top: Ranked, window: timedelta = WINDOW) -> tuple[Fix, ...]:
    """Undo a blamed rollout (medium risk), and read the whole timeline (low)."""
    kind, _, rest = target_ref.partition("/")
    ns, _, name = rest.rpartition("/")
    target = f"{kind}/{name}" + (f" -n {ns}" if ns else "")
    out = []
    c = top.change
    ckind, _, crest = c.subject.partition("/")
    cns, _, cname = crest.rpartition("/")
    if top.blamed and c.operation == "rollout" and ckind in _ROLLOUT_KINDS:
        out.append(
            Fix(
                title=f"Roll {c.subject} back while the change is examined",
                command=f"kubectl -n {cns} rollout undo {_ROLLOUT_KINDS[ckind]}/{cname}",
                risk="medium",
                why=f"The trouble started after this revision: {top.blamed}.",
                does_not_fix="the change itself: fix it before rolling forward again.",
            )
        )
    out.append(
        Fix(
            title="Read the whole timeline of what changed",
            command=f"kubewhy changes {target} --since {span(window)}",
            risk="low",
            why="Revisions, who wrote which fields and when, the node, the configuration and scaling, oldest first.",
        )
    )
    return tuple(out)


_KEY_MISSING = re.compile(r"couldn't find key \S+ in ConfigMap ([a-z0-9.-]+)/([a-z0-9.-]+)")


async def _read_configmaps(kube: CachedKube, objects: list[Obj]) -> None:
    """A ConfigMap a pod references that lacks a key its containers need (CreateContainerConfigError: "couldn't
    find key K in ConfigMap NS/NAME") is worth its GET: who wrote its data, and when. Nothing else is read (a
    ConfigMap not found has no history; a Secret is never read: the default RBAC has none)."""
    texts = [str(e.get("message", "")) for o in objects for e in held_events(kube, o) if e.get("type") == "Warning"]
    for o in objects:
        for cs in _d(o.get("status")).get("containerStatuses") or []:
            texts.append(str(_d(_d(_d(cs).get("state")).get("waiting")).get("message", "")))
    named = {m.groups() for t in texts for m in _KEY_MISSING.finditer(t)}
    referenced = {
        (_d(o.get("metadata")).get("namespace"), ref.split("/", 1)[1])
        for o in objects
        if o.get("kind") == "Pod"
        for ref in references(o)
        if ref.startswith("ConfigMap/")
    }
    wanted = sorted((ns, name) for ns, name in named if (ns, name) in referenced)
    try:
        await asyncio.gather(*(kube.get("ConfigMap", ns, name) for ns, name in wanted))
    except AdapterError:
        return  # unreadable: the evidence goes without them


async def before_onset(
    kube: CachedKube, target_ref: str, objects: list[Obj], window: timedelta = WINDOW, stored: Reader | None = None
) -> Finding | None:
    """The ``what-changed`` finding (info): the changes within ``window`` before the onset of the trouble the
    examined ``objects`` show, plausible causes first; None when nothing is wrong or nothing changed. ``stored``:
    the watchers' change log, merged in when it has rows about these objects (a removed ConfigMap key)."""
    await _read_configmaps(kube, objects)
    changes, events = changes_of(kube, objects)
    start = onset(objects, events)
    if start is None:
        return None
    logged = await read(stored, subjects_of(objects), start.at - window, start.at + timedelta(seconds=1))
    changes = merge(changes, logged) if logged else changes
    # The target's own condition transitions are its symptom, not a change that explains it.
    changes = [c for c in changes if not (c.subject == target_ref and c.operation == "condition")]
    ranked = rank(changes, start, failure_words(objects, events), window)
    if not ranked:
        return None
    top = ranked[0]
    blamed = sum(1 for r in ranked if r.blamed)
    summary = (
        f"{len(ranked)} change(s) in the {_human(window.total_seconds())} before the trouble started "
        f"({start.at.strftime('%Y-%m-%dT%H:%M:%SZ')}: {start.what}). "
        + (
            f"Most likely: {top.change.subject} {top.change.summary} ({top.blamed})."
            if top.blamed
            else "None of them plausibly explains the failure: listed, not blamed."
        )
    )
    lines = [line(r) for r in ranked[:MAX_LINES]]
    if len(ranked) > MAX_LINES:
        lines.append(f"{len(ranked) - MAX_LINES} more: kubewhy changes {target_ref}")
    return Finding(
        id=ID,
        fixes=_fixes(target_ref, top, window),
        title="What changed before the trouble started"
        + (f" ({blamed} plausible cause{'s' if blamed > 1 else ''})" if blamed else ""),
        severity="info",
        summary=summary,
        subject=target_ref,
        stage="owner",
        evidence=tuple(lines),
    )
