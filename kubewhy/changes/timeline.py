"""``kubewhy changes TARGET``: the timeline of what changed around one object, from what the API still holds.

The reads, concurrent through one single-flight cache: the target, its owners (Pod → ReplicaSet → Deployment), their
revision history (ReplicaSets, ControllerRevisions), the ConfigMaps it references (Secrets only when asked: the
default RBAC has no Secrets, and only their managedFields are used, never their data), its node, the Services and
HorizontalPodAutoscalers of its namespace that select or scale it, the PodDisruptionBudgets and NetworkPolicies that
select its pods and the RoleBindings of its service account, and the events about each of these.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from .. import kinds, selectors
from ..adapters.cache import CachedKube
from ..engine.related import ref_of
from ..errors import AdapterError
from .diff import references
from .model import Change, Timeline
from .read import event_changes, managed_changes, node_changes, owned_by, rollout_changes
from .stored import subjects_of
from .touch import POLICY_KINDS, touching

Obj = dict[str, Any]


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


async def _owners(kube: CachedKube, obj: Obj) -> list[Obj]:
    chain = []
    current = obj
    for _ in range(4):
        meta = _d(current.get("metadata"))
        ref = next((r for r in meta.get("ownerReferences") or [] if _d(r).get("controller")), None)
        if ref is None or ref.get("kind") not in kinds.CONTROLLERS:
            break
        owner = await kube.get(ref["kind"], meta.get("namespace"), ref.get("name", ""))
        if owner is None:
            break
        owner = {**owner, "kind": ref["kind"]}
        chain.append(owner)
        current = owner
    return chain


async def _history(kube: CachedKube, workload: Obj) -> list[Change]:
    kind = {"Deployment": "ReplicaSet", "StatefulSet": "ControllerRevision", "DaemonSet": "ControllerRevision"}
    if workload.get("kind") not in kind:
        return []
    try:
        text = selectors.to_text(_d(workload.get("spec")).get("selector")) or ""
    except selectors.SelectorError:
        return []
    if not text:
        return []
    ns = _d(workload.get("metadata")).get("namespace")
    found = await kube.list(kind[str(workload["kind"])], ns, label_selector=text)
    items = [{**h, "kind": kind[str(workload["kind"])]} for h in found]
    return rollout_changes(workload, [h for h in items if owned_by(h, workload)])


def _name(obj: Obj) -> str:
    return str(_d(obj.get("metadata")).get("name", ""))


async def _events(kube: CachedKube, objects: list[Obj]) -> list[list[Obj]]:
    """The events about ``objects``: one LIST per namespace (filtered here), and one field-selected LIST per
    cluster-scoped object (a node's events), rather than a request per object."""
    wanted = {(str(o.get("kind", "")), _name(o)) for o in objects}
    namespaces = sorted({ns for o in objects if (ns := _d(o.get("metadata")).get("namespace"))})
    scoped = [o for o in objects if not _d(o.get("metadata")).get("namespace")]
    calls = [kube.list("Event", ns) for ns in namespaces] + [
        kube.list(
            "Event",
            None,
            field_selector=f"involvedObject.kind={o.get('kind', '')},involvedObject.name={_name(o)}",
        )
        for o in scoped
    ]
    found = await asyncio.gather(*calls)
    return [
        [
            e
            for e in group
            if (str(_d(e.get("involvedObject")).get("kind", "")), str(_d(e.get("involvedObject")).get("name", "")))
            in wanted
        ]
        for group in found
    ]


async def _policies(kube: CachedKube, ns: str, workloads: list[Obj], notes: list[str]) -> list[Obj]:
    """The PDBs and NetworkPolicies that select the workloads' pods and the RoleBindings of their service
    account (:func:`~kubewhy.changes.touch.touching`): one LIST per kind, a refused one a note."""
    found = await asyncio.gather(*(kube.list(k, ns) for k in POLICY_KINDS), return_exceptions=True)
    policies: list[Obj] = []
    for kind, got in zip(POLICY_KINDS, found, strict=True):
        if isinstance(got, AdapterError):
            notes.append(f"{kinds.info(kind).plural} not read: {got}")
        elif isinstance(got, BaseException):
            raise got
        else:
            policies += [{**p, "kind": kind} for p in got]
    return touching(workloads, policies)


async def _around(kube: CachedKube, obj: Obj, pods: list[Obj], secrets: bool, notes: list[str]) -> list[Obj]:
    """The referenced ConfigMaps (and Secrets when asked), the node, the selecting Services, the HPAs, and the
    PDBs, NetworkPolicies and RoleBindings that touch it."""
    ns = _d(obj.get("metadata")).get("namespace")
    refs = sorted(r for o in [obj, *pods] for r in references(o) if secrets or not r.startswith("Secret/"))
    gets = [kube.get(r.split("/", 1)[0], ns, r.split("/", 1)[1]) for r in refs]
    node_name = _d(obj.get("spec")).get("nodeName") if obj.get("kind") == "Pod" else None
    if node_name:
        gets.append(kube.get("Node", None, node_name))
    labels = {k: v for p in pods for k, v in _d(_d(p.get("metadata")).get("labels")).items()}
    if obj.get("kind") in ("Pod", *kinds.POD_SELECTING, "CronJob") and ns:
        services, scalers, policies, got = await asyncio.gather(
            kube.list("Service", ns),
            kube.list("HorizontalPodAutoscaler", ns),
            _policies(kube, ns, pods, notes),
            asyncio.gather(*gets),
        )
    else:
        services, scalers, policies, got = [], [], [], await asyncio.gather(*gets)
    kinds_of = [r.split("/", 1)[0] for r in refs] + (["Node"] if node_name else [])
    out = [{**o, "kind": k} for o, k in zip(got, kinds_of, strict=True) if o]
    for svc in services:
        sel = _d(_d(svc.get("spec")).get("selector"))
        if sel and labels and all(labels.get(k) == v for k, v in sel.items()):
            out.append({**svc, "kind": "Service"})
    names = {_d(o.get("metadata")).get("name") for o in [obj, *pods] if o.get("kind") != "Pod"}
    for hpa in scalers:
        ref = _d(_d(hpa.get("spec")).get("scaleTargetRef"))
        if ref.get("name") in names:
            out.append({**hpa, "kind": "HorizontalPodAutoscaler"})
    return out + policies


def _read(results: list[Any], what: str, notes: list[str]) -> list[Any]:
    """The lists a gather returned, joined; a read the API refused becomes a note, any other error is raised."""
    out: list[Any] = []
    for r in results:
        if isinstance(r, AdapterError):
            notes.append(f"{what} not read: {r}")
        elif isinstance(r, BaseException):
            raise r
        else:
            out += r
    return out


async def timeline(kube: CachedKube, obj: Obj, since: datetime, until: datetime, *, secrets: bool = False) -> Timeline:
    """The changes to ``obj`` (kind set) and what it depends on between ``since`` and ``until``, oldest first."""
    tl = Timeline(ref_of(obj), since, until)
    owners = await _owners(kube, obj)
    chain = [obj, *owners]
    templates = [o for o in chain if o.get("kind") != "Pod"] or [obj]
    around = await _around(kube, obj, [obj] if obj.get("kind") == "Pod" else templates, secrets, tl.notes)
    everything = {ref_of(o): o for o in [*chain, *around]}
    tl.subjects = subjects_of([*chain, *around])
    histories, event_lists = await asyncio.gather(
        asyncio.gather(*(_history(kube, o) for o in chain), return_exceptions=True),
        asyncio.gather(_events(kube, list(everything.values())), return_exceptions=True),
    )
    changes: list[Change] = _read(histories, "revision history", tl.notes)
    for o in everything.values():
        changes += managed_changes(o)
        if o.get("kind") == "Node":
            changes += node_changes(o)
    changes += event_changes([e for group in _read(list(event_lists), "events", tl.notes) for e in group])
    seen = set()
    for c in sorted(changes, key=lambda c: (c.at, c.operation == "event", c.subject, c.summary)):
        key = (c.at, c.subject, c.summary)
        if since <= c.at <= until and key not in seen:
            seen.add(key)
            tl.changes.append(c)
    if not secrets and any(r.startswith("Secret/") for o in chain for r in references(o)):
        tl.notes.append("Secrets it references were not read (--secrets reads their managedFields, never their data)")
    tl.notes.append(
        "From what the API still holds: revisions up to the history limit, each manager's last write, about an "
        "hour of events."
    )
    return tl


def as_lines(tl: Timeline) -> list[str]:
    """The timeline as a table (``kubewhy changes``, Slack's "What changed"), oldest first; each change's
    differences indented under it."""
    span = f"{tl.since.strftime('%Y-%m-%d %H:%M')} to {tl.until.strftime('%Y-%m-%d %H:%M')} UTC"
    lines = [f"What changed around {tl.target}, {span}: {len(tl.changes) or 'no'} change(s)"]
    if tl.changes:
        width = max(len(c.subject) for c in tl.changes)
        lines.append(f"{'TIME':<19}  {'OBJECT':<{width}}  WHAT")
        for c in tl.changes:
            who = f"  [{c.who}{' ' + c.operation if c.operation and c.source == 'managedFields' else ''}]"
            lines.append(
                f"{c.at.strftime('%Y-%m-%d %H:%M:%S')}  {c.subject:<{width}}  {c.summary}{who if c.who else ''}"
            )
            pad = " " * (21 + width + 2)
            if c.source in ("ReplicaSet", "ControllerRevision", "watch"):
                lines += [f"{pad}{d}" for d in c.details[3:]] if len(c.details) > 3 else []
            if c.cause:
                lines.append(f"{pad}change-cause: {c.cause}")
    lines += [f"note: {n}" for n in tl.notes]
    return lines
