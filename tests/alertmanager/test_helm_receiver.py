"""The chart wires k8sbot to an existing Alertmanager: the receiver's port on the pod and the Service, its token
from a Secret, the API URL in the settings; and what it sets is what kubewhy reads (docs/alertmanager.md)."""

from __future__ import annotations

from typing import Any

import pytest

from kubewhy.settings import SettingsError, load
from tests.test_helm_chart import container, one, render, settings_of

WIRED: dict[str, Any] = {
    "alertmanager": {
        "url": "http://alertmanager-operated.monitoring:9093",
        "receiver": {"enabled": True, "existingSecret": "kubewhy-alertmanager"},
    }
}


def test_the_receiver_is_wired_with_its_token_from_a_secret() -> None:
    docs = render(WIRED)
    env = settings_of(docs)
    assert env["KUBEWHY_ALERTMANAGER_URL"] == "http://alertmanager-operated.monitoring:9093"
    assert env["KUBEWHY_ALERTMANAGER_PORT"] == "9095"
    (token,) = [e for e in container(docs)["env"] if e["name"] == "KUBEWHY_ALERTMANAGER_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {"name": "kubewhy-alertmanager", "key": "token"}
    assert {"name": "alertmanager", "containerPort": 9095} in container(docs)["ports"]
    ports = one(docs, "Service")["spec"]["ports"]
    assert {"name": "alertmanager", "port": 9095, "targetPort": "alertmanager"} in ports
    settings = load({**env, "KUBEWHY_ALERTMANAGER_TOKEN": "t", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}).alertmanager
    assert settings.receiver and settings.host == "0.0.0.0" and settings.url.endswith(":9093")


def test_off_by_default_and_never_without_a_token() -> None:
    env = settings_of(render({}))
    assert "KUBEWHY_ALERTMANAGER_PORT" not in env and "KUBEWHY_ALERTMANAGER_URL" not in env
    import helm_python as helm

    with pytest.raises(helm.HelmError, match="existingSecret"):
        render({"alertmanager": {"receiver": {"enabled": True}}})
    with pytest.raises(SettingsError, match="never runs without authentication"):
        load({"KUBEWHY_ALERTMANAGER_PORT": "9095"})


def test_escalation_keys_come_from_a_secret() -> None:
    docs = render({"escalation": {"existingSecret": "kubewhy-oncall", "after": "10m;#payments=5m"}})
    assert {"secretRef": {"name": "kubewhy-oncall"}} in container(docs)["envFrom"]
    env = settings_of(docs)
    assert load(env).escalation.after_for("#payments") == 300
    assert "KUBEWHY_ESCALATE_AFTER" not in settings_of(render({}))
