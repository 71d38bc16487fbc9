"""The skeleton lint: every playbook run against its scenario objects with fields taken away (issue 23).

Real objects lack fields a playbook author expects (a container stub without ``image``, a pod without
``status``, an object from ``kubectl describe``). An expression that reads such a field without ``get()`` or
``has()`` fails, and the playbook then reports an error instead of a finding, or no finding at all. This lint
takes example clusters (the simulator's scenarios, in the tests; the product does not import the simulator),
derives skeletons of each object a playbook applies to — each top-level and second-level field removed in turn,
lists emptied, each container field removed, no ``spec``, no ``status`` — and runs the playbook on each through
the real runner: any expression error in the symptom, the variables and ``when``, or the rendered finding is a
problem.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.cache import CachedKube
from ..adapters.kube_snapshot import SnapshotKube
from ..checks.registry import CheckContext
from ..expressions import CLOCK, ExpressionError, truthy
from ..models.playbook import Playbook
from .runner import Subject, run_playbook, tolerant

Obj = dict[str, Any]

# Lists of containers (and their statuses) whose elements' fields are removed one at a time.
_CONTAINER_LISTS = (
    ("spec", "containers"),
    ("spec", "initContainers"),
    ("status", "containerStatuses"),
    ("status", "initContainerStatuses"),
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "initContainers"),
)
_IDENTITY = ("kind", "apiVersion")  # never removed: without them the object is not found at all
_NAME_KEYS = ("name", "namespace")  # metadata.name/namespace: the object's identity in a snapshot


@dataclass
class Cluster:
    """An example cluster: its objects, its containers' logs (``"ns/pod/container" -> {current, previous}``)
    and when it was captured (``since()`` is judged from then)."""

    objects: list[Obj]
    logs: dict[str, dict[str, str]] = field(default_factory=dict)
    captured_at: datetime | None = None
    name: str = ""


@dataclass(frozen=True)
class Problem:
    """A playbook that failed on a skeleton of an object (a field removed)."""

    playbook: str
    subject: str  # kind/namespace/name, and the cluster it came from
    variant: str  # the skeleton: "without spec.containers[*].image"
    where: str  # symptom, or the runner's check id (<playbook>.when, <playbook>.render, <playbook>.<check>)
    detail: str

    def __str__(self) -> str:
        return f"{self.playbook} on {self.subject} {self.variant}: {self.where}: {self.detail}"


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def skeletons(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """``(description, skeleton)`` pairs: the object as it is, then with one field (or one kind of field) gone."""
    yield "as is", obj
    for key in ("spec", "status"):
        if key in obj:
            yield f"without {key}", {k: v for k, v in obj.items() if k != key}
    for key, value in obj.items():
        if key in _IDENTITY:
            continue
        if key != "metadata" and key not in ("spec", "status"):
            yield f"without {key}", {k: v for k, v in obj.items() if k != key}
        if not isinstance(value, dict):
            if isinstance(value, list) and value:
                yield f"with {key}: []", {**obj, key: []}
            continue
        for sub, inner in value.items():
            if key == "metadata" and sub in _NAME_KEYS:
                continue
            yield f"without {key}.{sub}", {**obj, key: {k: v for k, v in value.items() if k != sub}}
            if isinstance(inner, list) and inner:
                yield f"with {key}.{sub}: []", {**obj, key: {**value, sub: []}}
            elif isinstance(inner, dict) and inner:
                yield f"with {key}.{sub}: {{}}", {**obj, key: {**value, sub: {}}}
    for path in _CONTAINER_LISTS:
        items = _dig(obj, path)
        if not isinstance(items, list):
            continue
        fields = sorted({f for c in items if isinstance(c, dict) for f in c if f != "name"})
        for name in fields:
            variant = copy.deepcopy(obj)
            holder = _dig(variant, path[:-1])
            holder[path[-1]] = [
                {k: v for k, v in c.items() if k != name} if isinstance(c, dict) else c for c in holder[path[-1]]
            ]
            yield f"without {'.'.join(path)}[*].{name}", variant


def _ref(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind', '?')}/{ns + '/' if ns else ''}{meta.get('name', '?')}"


def _same(a: Obj, b: Obj) -> bool:
    return (
        a.get("kind") == b.get("kind")
        and (a.get("metadata") or {}).get("name") == (b.get("metadata") or {}).get("name")
        and (a.get("metadata") or {}).get("namespace") == (b.get("metadata") or {}).get("namespace")
    )


def _snapshot(cluster: Cluster) -> SnapshotKube:
    kube = SnapshotKube([], objects=cluster.objects)
    kube._logs = cluster.logs  # a snapshot read from files has its logs; these clusters bring theirs
    if cluster.captured_at is not None:
        kube.captured_at = cluster.captured_at
    return kube


def _swap(kube: SnapshotKube, original: Obj, replacement: Obj | None) -> Obj | None:
    """Put ``replacement`` (normalized as the snapshot stores objects) where ``original`` is; return what was
    there. Building a snapshot of a large cluster for every skeleton would make the lint slow."""
    items = kube._objects.get(str(original.get("kind")), [])
    for i, stored in enumerate(items):
        if _same(stored, original):
            if replacement is None:
                return stored
            previous = items[i]
            items[i] = replacement
            return previous
    return None


async def _run_one(
    pb: Playbook, cluster: Cluster, kube: SnapshotKube, original: Obj, variant: str, skeleton: Obj
) -> list[Problem]:
    subject = f"{_ref(original)}{' in ' + cluster.name if cluster.name else ''}"
    stored = SnapshotKube([], objects=[skeleton])._objects[str(skeleton.get("kind"))][0]
    previous = _swap(kube, original, stored)
    try:
        return await _evaluate(pb, subject, kube, variant, skeleton)
    finally:
        if previous is not None:
            _swap(kube, original, previous)


async def _evaluate(pb: Playbook, subject: str, kube: SnapshotKube, variant: str, skeleton: Obj) -> list[Problem]:
    ctx = CheckContext(kube=CachedKube(kube), prom=None, clock=kube.clock)
    base = {"now": kube.clock().strftime("%Y-%m-%dT%H:%M:%SZ")}
    token = CLOCK.set(kube.clock)
    try:
        try:
            matched = truthy(pb.symptom.evaluate({**base, "target": tolerant(skeleton)}))
        except ExpressionError as exc:
            return [Problem(pb.id, subject, variant, "symptom", str(exc))]
        if not matched:
            return []
        outcome = await run_playbook(pb, Subject(_ref(skeleton), skeleton), ctx, base, 5.0)
    finally:
        CLOCK.reset(token)
    return [
        Problem(pb.id, subject, variant, r.id, r.detail)
        for r in outcome.checks
        if r.status == "error" and r.reason == "expression-error"
    ]


async def lint(
    playbooks: Iterable[Playbook], clusters: Iterable[Cluster], *, objects_per_playbook: int = 2
) -> list[Problem]:
    """Run each playbook on skeletons of up to ``objects_per_playbook`` objects of the kinds it applies to
    (those its symptom matches as they are come first: only they reach ``when`` and the finding)."""
    clusters = list(clusters)
    kubes: dict[int, SnapshotKube] = {}
    problems: list[Problem] = []
    for pb in playbooks:
        matching: list[tuple[Cluster, Obj]] = []
        others: list[tuple[Cluster, Obj]] = []
        for cluster in clusters:
            for obj in cluster.objects:
                if len(matching) >= objects_per_playbook:
                    break
                if obj.get("kind") not in pb.applies_to:
                    continue
                try:
                    matched = truthy(pb.symptom.evaluate({"now": "", "target": tolerant(obj)}))
                except ExpressionError:
                    matched = False
                (matching if matched else others).append((cluster, obj))
        candidates = (matching + others)[:objects_per_playbook]
        for cluster, obj in candidates:
            kube = kubes.setdefault(id(cluster), _snapshot(cluster))
            for variant, skeleton in skeletons(obj):
                problems += await _run_one(pb, cluster, kube, obj, variant, skeleton)
    return problems


def lint_sync(playbooks: Iterable[Playbook], clusters: Iterable[Cluster], **kw: Any) -> list[Problem]:
    return asyncio.run(lint(playbooks, clusters, **kw))


__all__ = ["Cluster", "Problem", "lint", "lint_sync", "skeletons"]
