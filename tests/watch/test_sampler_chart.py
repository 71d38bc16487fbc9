"""The chart grants nodes/proxy only when the kubelet sampler can be on (no Prometheus URL, or "discover"), and
hands its settings to k8sbot as kubewhy.settings reads them."""

from __future__ import annotations

from typing import Any

import pytest

from kubewhy.settings import SettingsError, load
from tests.test_helm_chart import render, settings_of


def _proxy_granted(docs: list[dict[str, Any]]) -> bool:
    return any(
        "nodes/proxy" in rule.get("resources", [])
        for d in docs
        if d["kind"] == "ClusterRole"
        for rule in d.get("rules", [])
    )


@pytest.mark.parametrize(
    "values, granted, sampler",
    [
        ({}, True, None),  # the default: no Prometheus, the sampler on
        ({"prometheus": {"url": "discover"}}, True, None),  # on when discovery finds none
        ({"prometheus": {"url": "http://prometheus-operated.monitoring:9090"}}, False, None),  # Prometheus: off
        ({"watch": {"sampler": {"enabled": False}}}, False, False),  # turned off: no nodes/proxy
        ({"watch": {"sampler": {"enabled": True, "interval": "1m", "requestsPerSecond": 2.5}}}, True, True),
    ],
    ids=["default", "discover", "prometheus", "off", "tuned"],
)
def test_nodes_proxy_is_granted_only_when_the_sampler_can_run(
    values: dict[str, Any], granted: bool, sampler: bool | None
) -> None:
    docs = render(values)
    assert _proxy_granted(docs) is granted
    watch = load({k: v for k, v in settings_of(docs).items() if v != "*"}).watch
    assert watch.sampler is sampler
    tuned = (values.get("watch") or {}).get("sampler") or {}
    assert watch.sampler_interval == (60.0 if tuned.get("interval") == "1m" else 30.0)
    assert watch.sampler_rate == tuned.get("requestsPerSecond", 10.0)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"KUBEWHY_SAMPLER": "maybe"}, "KUBEWHY_SAMPLER='maybe': expected true or false"),
        ({"KUBEWHY_SAMPLER_INTERVAL": "soon"}, "KUBEWHY_SAMPLER_INTERVAL='soon': expected a duration"),
        ({"KUBEWHY_SAMPLER_INTERVAL": "0"}, "KUBEWHY_SAMPLER_INTERVAL='0': must be more than 0"),
        ({"KUBEWHY_SAMPLER_RATE": "-1"}, "KUBEWHY_SAMPLER_RATE='-1': must be more than 0"),
    ],
)
def test_a_bad_sampler_setting_names_itself(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load(env)
