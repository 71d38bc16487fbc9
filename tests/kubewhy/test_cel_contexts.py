"""The start-up and diagnosis shortcuts of issue 24 change no answer: expressions evaluated over a :class:`Bindings`
(the diagnosis's shared CEL contexts) answer exactly what a fresh context per evaluation answers, templates split
on first use render as those compiled at load, a pod's Deployment is asked for together with its ReplicaSet, and
the prefetched GET goes out while ``compose.build`` runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import load as load_scenario
from kubewhy import compose
from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.delegate import DelegatingKube
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.ports import Obj
from kubewhy.adapters.prefetch import PrefetchingKube
from kubewhy.engine.related import pod_relations
from kubewhy.expressions import Bindings, Compiler, Contexts, ExpressionError, compile_template
from kubewhy.settings import Flags, load

POD = {
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "256Mi"}}}]},
    "status": {"containerStatuses": [{"name": "app", "lastState": {"terminated": {"reason": "OOMKilled"}}}]},
}
EVENTS = [{"reason": "BackOff", "count": 3}, {"reason": "Pulled", "count": 1}]
EXPRESSIONS = [
    "target.metadata.name",
    "target.status.containerStatuses.exists(c, oomkilled(c))",
    'take(events.filter(e, e.reason == "BackOff"), 1)',
    "join(events.map(e, e.reason))",
    "target.metadata.labels.app.lower() + string(size(events))",
    "quantity(target.spec.containers[0].resources.limits.memory) > 1.0",
    "missing.field",
    "target.metadata.nope",
]


def outcome(source: str, activation: dict[str, Any]) -> Any:
    try:
        return Compiler().compile(source).evaluate(activation)
    except ExpressionError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_shared_contexts_answer_what_a_fresh_context_answers(source: str) -> None:
    plain = {"target": POD, "events": EVENTS, "now": "2026-01-01T00:00:00Z"}
    shared = Bindings(dict(plain), Contexts())
    assert outcome(source, shared) == outcome(source, plain)
    assert outcome(source, shared) == outcome(source, plain)  # again, from the context already built


def test_a_context_is_shared_by_the_same_values_and_never_changed() -> None:
    contexts = Contexts()
    first = Bindings({"target": POD, "events": EVENTS}, contexts)
    second = Bindings({"target": POD, "events": EVENTS, "extra": 1}, contexts)  # another playbook, same objects
    for source in ("target.metadata.name", "size(target.spec.containers)"):
        Compiler().compile(source).evaluate(first)
        Compiler().compile(source).evaluate(second)
    assert len(contexts) == 1
    Compiler().compile("size(events)").evaluate(first)
    assert len(contexts) == 2  # another set of values read: its own context
    # an entry replaced by another object is seen at once, through a context of its own
    first["events"] = [{"reason": "Killing"}]
    assert Compiler().compile("size(events)").evaluate(first) == 1
    assert len(contexts) == 3
    # an entry removed is absent again, as in a fresh context
    del first["events"]
    with pytest.raises(ExpressionError):
        Compiler().compile("size(events)").evaluate(first)


def test_an_each_element_shares_the_contexts() -> None:
    contexts = Contexts()
    base = Bindings({"target": POD}, contexts)
    names = [
        compile_template(None, "{{ e.reason }} on {{ target.metadata.name }}").render(base.with_("e", e))
        for e in EVENTS
    ]
    assert names == ["BackOff on web-1", "Pulled on web-1"]
    assert "e" not in base


@pytest.mark.parametrize(
    "source",
    [
        "plain text",
        "{{ target.metadata.name }}",
        "{{ target.spec.containers.map(c, c.name) }}",
        "pod {{ target.metadata.name }} in {{ target.metadata.namespace }}: {{ size(events) }} event(s)",
    ],
)
def test_a_template_split_on_first_use_renders_as_one_compiled_at_load(source: str) -> None:
    activation = {"target": POD, "events": EVENTS}
    lazy, eager = compile_template(None, source), compile_template(Compiler(), source)
    assert lazy == eager
    assert lazy.is_single == eager.is_single
    assert lazy.render(activation) == eager.render(activation)
    assert lazy.render_text(activation) == eager.render_text(activation)


def test_a_bad_hole_fails_when_the_template_is_first_rendered() -> None:
    with pytest.raises(ExpressionError):
        compile_template(None, "x {{ target.( }}").render({"target": POD})


class Recording(DelegatingKube):
    """The snapshot reader, with the order its gets were asked in and whether the ReplicaSet had answered."""

    def __init__(self, inner: SnapshotKube):
        super().__init__(inner)
        self.asked: list[tuple[str, str, bool]] = []
        self.replicaset_answered = False

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        self.asked.append((kind, name, self.replicaset_answered))
        await asyncio.sleep(0)
        obj = await super().get(kind, namespace, name)
        if kind == "ReplicaSet":
            self.replicaset_answered = True
        return obj


def owner_of(tmp_path: Path, objects: list[dict[str, Any]], pod: dict[str, Any]) -> tuple[Any, Recording]:
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    reader = Recording(SnapshotKube([path]))
    relations = pod_relations(CachedKube(reader), pod)
    owner = asyncio.run(relations[1])
    for other in relations[:1] + relations[2:]:
        other.close()
    return owner, reader


def _obj(kind: str, name: str, owner: tuple[str, str] | None = None, api: str = "apps/v1") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True, "uid": f"uid-{owner[1]}"}]
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": {}}


def _pod(rs: str, template_hash: str | None) -> dict[str, Any]:
    pod = _obj("Pod", f"{rs}-x1", ("ReplicaSet", rs), api="v1")
    if template_hash is not None:
        pod["metadata"]["labels"] = {"pod-template-hash": template_hash}
    return pod


def test_the_deployment_is_asked_for_with_its_replicaset(tmp_path: Path) -> None:
    pod = _pod("web-5d8f7b9c4", "5d8f7b9c4")
    objects = [_obj("ReplicaSet", "web-5d8f7b9c4", ("Deployment", "web")), _obj("Deployment", "web"), pod]
    owner, reader = owner_of(tmp_path, objects, pod)
    assert (owner["kind"], owner["metadata"]["name"]) == ("Deployment", "web")
    assert ("Deployment", "web", False) in reader.asked  # asked before the ReplicaSet answered
    assert len(reader.asked) == 2


def test_a_replicaset_without_that_deployment_above_it_is_the_owner(tmp_path: Path) -> None:
    pod = _pod("web-5d8f7b9c4", "5d8f7b9c4")
    objects = [_obj("ReplicaSet", "web-5d8f7b9c4"), _obj("Deployment", "web"), pod]
    owner, _ = owner_of(tmp_path, objects, pod)
    assert (owner["kind"], owner["metadata"]["name"]) == ("ReplicaSet", "web-5d8f7b9c4")
    # another Deployment named in the ReplicaSet's references is read after it, as before
    objects = [_obj("ReplicaSet", "web-5d8f7b9c4", ("Deployment", "shop-web")), _obj("Deployment", "shop-web"), pod]
    owner, reader = owner_of(tmp_path, objects, pod)
    assert (owner["kind"], owner["metadata"]["name"]) == ("Deployment", "shop-web")
    assert ("Deployment", "shop-web", True) in reader.asked


def test_no_guess_without_the_template_hash_label(tmp_path: Path) -> None:
    pod = _pod("web-5d8f7b9c4", None)
    objects = [_obj("ReplicaSet", "web-5d8f7b9c4", ("Deployment", "web")), _obj("Deployment", "web"), pod]
    owner, reader = owner_of(tmp_path, objects, pod)
    assert owner["metadata"]["name"] == "web"
    assert reader.asked == [("ReplicaSet", "web-5d8f7b9c4", False), ("Deployment", "web", True)]


async def test_the_prefetched_get_goes_out_before_build_loads_the_catalogue(tmp_path: Path) -> None:
    """``kubewhy why``'s prefetch is a task: ``compose.build`` lets it send its GET before its own synchronous work
    (imports, the catalogue), so the round trip overlaps them rather than following them."""
    sources = [Path(p) for p in load_scenario("workshop/q01-app-crash").sources]
    reader = Recording(SnapshotKube(sources))
    ahead = PrefetchingKube(reader, "Pod", "q1", "app-7d4b9c6f5-x2x7k")
    settings = load(
        {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}, Flags(snapshot=[str(s) for s in sources])
    )
    deps = await compose.build(settings, kube=ahead, audit=False)
    assert reader.asked[:1] == [("Pod", "app-7d4b9c6f5-x2x7k", False)]  # asked while build ran, not after it
    assert deps.kube is ahead
    assert (await ahead.get("Pod", "q1", "app-7d4b9c6f5-x2x7k")) is not None
