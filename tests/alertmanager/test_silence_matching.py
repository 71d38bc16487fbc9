"""The label set a watcher incident is matched on, and Alertmanager's matcher semantics (docs/alertmanager.md)."""

from __future__ import annotations

from dataclasses import dataclass

from kubewhy.silences import incident_labels, matches, snooze_matchers


@dataclass(frozen=True)
class R:
    id: str
    detect: str


@dataclass(frozen=True)
class S:
    namespace: str | None
    target_kind: str
    target_name: str
    node: str | None


def m(name: str, value: str, *, regex: bool = False, equal: bool = True) -> dict[str, object]:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


CRASH = incident_labels(
    R("crash-loop", "crash-loop"), "deploy/shop/cart", S("shop", "Pod", "cart-5c8d7f9b6d-abcde", "node-1")
)


def test_a_workload_incident_carries_the_labels_kube_prometheus_alerts_do() -> None:
    assert CRASH == {
        "alertname": "KubePodCrashLooping",
        "kubewhy_rule": "crash-loop",
        "namespace": "shop",
        "deployment": "cart",
        "pod": "cart-5c8d7f9b6d-abcde",
        "node": "node-1",
    }
    node = incident_labels(R("node-pressure", "node-pressure"), "node/node-2:memory", None)
    assert node == {"alertname": "KubeNodePressure", "kubewhy_rule": "node-pressure", "node": "node-2"}


def test_matchers_as_alertmanager_applies_them() -> None:
    assert matches({"matchers": [m("alertname", "KubePodCrashLooping"), m("namespace", "shop")]}, CRASH)
    assert not matches({"matchers": [m("alertname", "KubePodCrashLooping"), m("namespace", "prod")]}, CRASH)
    assert matches({"matchers": [m("namespace", "sh.*", regex=True)]}, CRASH)
    assert not matches({"matchers": [m("namespace", "sh", regex=True)]}, CRASH)  # anchored
    assert matches({"matchers": [m("namespace", "prod", equal=False)]}, CRASH)
    assert not matches({"matchers": [m("statefulset", "x")]}, CRASH)  # an absent label is ""
    assert matches({"matchers": [m("statefulset", "")]}, CRASH)
    assert not matches({"matchers": []}, CRASH)
    assert not matches({"matchers": [m("pod", "(", regex=True)]}, CRASH)  # a broken regex silences nothing


def test_a_snooze_silences_the_subject_for_the_watchers_and_alertmanager_alike() -> None:
    silence = {"matchers": snooze_matchers("deploy/shop/cart")}
    assert matches(silence, CRASH)
    alert = {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "cart-5c8d7f9b6d-zzzzz"}
    assert matches(silence, alert)
    assert not matches(silence, {**alert, "pod": "cartographer-5c8d7f9b6d-zzzzz"})
    assert snooze_matchers("node/node-2:memory") == [m("node", "node-2")]
