"""One label-selector implementation: the grammar, LabelSelectors with matchExpressions, and the related pods
they pick, through the simulator and through a snapshot of the same file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubewhy import selectors
from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.ports import KubeReader
from kubewhy.engine.related import related_subjects
from kubewhy.errors import UsageError

LABELS = {"app": "web", "tier": "front", "release": "r1"}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("env!=prod", True),
        ("tier in (front, edge)", True),
        ("tier notin (front)", False),
        ("tier notin (back),app", True),
        ("release", True),
        ("!release", False),
        ("!canary", True),
        ("canary", False),
        ("app=web,tier in (front),!canary,release", True),
        ("example.com/owner=team-a", False),
        ("", True),
    ],
)
def test_label_selector_text(text: str, expected: bool) -> None:
    assert selectors.matches(text, LABELS) is expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("tier in (front", "unclosed '(' in selector 'tier in (front'"),
        ("tier in ()", "in needs at least one value in 'tier in ()'"),
        ("app=web,,tier=x", "empty requirement in selector 'app=web,,tier=x'"),
        ("app web", "cannot parse label selector requirement 'app web': expected key=value"),
        ("app=we b", "cannot parse label selector requirement 'app=we b'"),
        ("app=-web", "invalid label value '-web' in 'app=-web'"),
        ("a)b", "unbalanced ')'"),
    ],
)
def test_label_selector_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(selectors.SelectorError) as info:
        selectors.parse(text)
    assert message in str(info.value)


def test_a_label_selector_becomes_text_with_its_match_expressions() -> None:
    sel = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "track", "operator": "NotIn", "values": ["canary"]},
            {"key": "release", "operator": "Exists"},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    text = selectors.to_text(sel)
    assert text == "app=web,tier in (front,edge),track notin (canary),release,!canary"
    assert selectors.matches(text, LABELS) and selectors.selector_matches(sel, LABELS)
    assert not selectors.selector_matches(sel, {**LABELS, "canary": "yes"})
    assert selectors.to_text({"app": "web", "tier": "front"}) == "app=web,tier=front"  # a Service's plain map
    assert selectors.to_text({}) is None and selectors.to_text(None) is None
    assert selectors.selector_matches({}, LABELS) and not selectors.selector_matches(None, LABELS)
    with pytest.raises(selectors.SelectorError, match=r"matchExpressions\[0\] has unknown operator 'Near'"):
        selectors.to_text({"matchExpressions": [{"key": "a", "operator": "Near", "values": ["b"]}]})
    with pytest.raises(selectors.SelectorError, match=r"matchExpressions\[0\] \(a In\) needs values"):
        selectors.to_text({"matchExpressions": [{"key": "a", "operator": "In"}]})


def test_field_selectors_are_checked_per_kind_like_the_api_server() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running"},
    }
    pred = selectors.field_predicate("spec.nodeName=n1,status.phase!=Pending,metadata.name==p", "Pod")
    assert pred is not None and pred(pod)
    event = {"involvedObject": {"kind": "Pod", "name": "p"}, "reason": "BackOff", "source": {"component": "kubelet"}}
    pred = selectors.field_predicate("involvedObject.kind=Pod,involvedObject.name=p,source=kubelet", "Event")
    assert pred is not None and pred(event)
    with pytest.raises(selectors.SelectorError, match="field label 'spec.nodeName' is not supported for Service"):
        selectors.parse_fields("spec.nodeName=n1", "Service")
    with pytest.raises(selectors.SelectorError, match="cannot parse field selector requirement 'phase'"):
        selectors.parse_fields("phase", "Pod")


def _pod(name: str, labels: dict[str, str], *, crashing: bool = False) -> str:
    state = "waiting: {reason: CrashLoopBackOff}" if crashing else 'running: {startedAt: "2024-06-14T09:00:00Z"}'
    label_text = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return f"""---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: sel, labels: {{{label_text}}}}}
spec:
  nodeName: node-1
  containers: [{{name: app, image: "web:1"}}]
status:
  phase: Running
  containerStatuses:
  - {{name: app, ready: {str(not crashing).lower()}, restartCount: {3 if crashing else 0}, image: "web:1", imageID: "",
     state: {{{state}}}}}
"""


SCENARIO = """apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: selectors}
capturedAt: "2024-06-14T10:00:00Z"
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
status:
  conditions: [{type: Ready, status: "True", lastTransitionTime: "2024-06-01T00:00:00Z"}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: sel}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [front, edge]}
    - {key: canary, operator: DoesNotExist}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers: [{name: app, image: "web:1"}]
status: {replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: front, namespace: sel}
spec:
  minAvailable: 1
  selector:
    matchExpressions:
    - {key: tier, operator: In, values: [front]}
    - {key: canary, operator: DoesNotExist}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: sel, labels: {team: a, env: prod}}
spec:
  selector: {app: web, tier: edge}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: picks-web, namespace: sel}
spec:
  selector:
    matchExpressions:
    - {key: env, operator: In, values: [prod, staging]}
    - {key: team, operator: NotIn, values: [b]}
  endpoints: [{port: http}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: not-prod, namespace: sel}
spec:
  selector:
    matchExpressions:
    - {key: env, operator: NotIn, values: [prod]}
  endpoints: [{port: http}]
""" + "".join(
    [
        _pod("web-a", {"app": "web", "tier": "front"}, crashing=True),
        _pod("web-b", {"app": "web", "tier": "edge"}),
        _pod("web-canary", {"app": "web", "tier": "front", "canary": "'on'"}),
        _pod("web-back", {"app": "web", "tier": "back"}),
        _pod("other", {"app": "other", "tier": "front"}),
    ]
)


async def _related(kube: KubeReader) -> dict[str, list[str]]:
    cached = CachedKube(kube)
    out: dict[str, list[str]] = {}
    for kind, name in (("Deployment", "web"), ("Service", "web")):
        obj = await cached.get(kind, "sel", name)
        assert obj is not None
        out[kind] = [s.ref for s in await related_subjects(cached, obj, [])]
    pdb = await cached.get("PodDisruptionBudget", "sel", "front")
    assert pdb is not None
    pods = await cached.list("Pod", "sel", label_selector=selectors.to_text(pdb["spec"]["selector"]))
    out["PodDisruptionBudget"] = [p["metadata"]["name"] for p in pods]
    return out


def test_match_expressions_pick_the_same_related_pods_live_and_offline(tmp_path: Path, start_sim: Any) -> None:
    path = tmp_path / "selectors.yaml"
    path.write_text(SCENARIO)
    sim = start_sim(path, timeline_mode="manual")
    live = asyncio.run(_related(LiveKube(build_api_client(str(sim.kubeconfig)))))
    offline = asyncio.run(_related(SnapshotKube([path])))
    assert live["Deployment"] == ["pod/sel/web-a", "pod/sel/web-b"]  # not web-canary, web-back or other
    assert live["Service"] == ["servicemonitor/sel/picks-web", "pod/sel/web-b"]
    assert sorted(live["PodDisruptionBudget"]) == ["other", "web-a"]
    assert offline == {**live, "PodDisruptionBudget": sorted(live["PodDisruptionBudget"])}


def test_a_bad_selector_in_a_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "selectors.yaml"
    path.write_text(SCENARIO)
    kube = SnapshotKube([path])
    with pytest.raises(UsageError, match=r"bad selector for Pod in snapshot .*: unclosed '\(' in selector"):
        asyncio.run(kube.list("Pod", "sel", label_selector="tier in (front"))
    with pytest.raises(UsageError, match="field label 'spec.color' is not supported for Pod"):
        asyncio.run(kube.list("Pod", "sel", field_selector="spec.color=blue"))
