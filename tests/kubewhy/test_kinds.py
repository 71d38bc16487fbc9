"""The one kinds table: what the rest of the core derives from it, and that it agrees with the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.resources import BUILTIN
from kubewhy import kinds
from kubewhy.engine import related
from kubewhy.engine.runner import _kind
from kubewhy.models import playbook, playbook_format, target
from kubewhy.playbooks.loader import load_dirs


def test_rest_locations_agree_with_the_simulator() -> None:
    """The simulator is the oracle: every kind both know lives at the same group/version/plural and scope."""
    served = {(r.group, r.version, r.kind): r for r in BUILTIN}
    missing = []
    for row in kinds.TABLE:
        res = served.get((row.group, row.version, row.kind))
        if res is None:
            missing.append(row.kind)
            continue
        assert (row.plural, row.namespaced) == (res.plural, res.namespaced), row.kind
    # served only when a scenario holds their CRD (or, for CRDs, the simulator's own group)
    assert set(missing) <= {"ServiceMonitor", "Prometheus", "CustomResourceDefinition"}, missing


def test_target_aliases_short_names_and_applies_to_come_from_the_table() -> None:
    assert target.KINDS["deploy"] == target.KINDS["deployments"] == target.KINDS["deployment"] == "Deployment"
    assert target.KINDS["smon"] == "ServiceMonitor" and target.KINDS["po"] == "Pod"
    assert "configmap" not in target.KINDS  # ConfigMaps are read, never diagnosed
    assert set(target.KINDS.values()) == set(kinds.TARGETS) == set(playbook.KIND_NAMES)
    assert target.SHORT["PersistentVolumeClaim"] == "pvc" and target.CLUSTER_SCOPED == {"Node"}
    assert str(target.parse_target("hpa/q7/php")) == "hpa/php"
    assert (
        related.ref_of({"kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "a"}})
        == "poddisruptionbudget/a/p"
    )
    # a fix's patch target may name any kind the table knows, by any spelling
    assert _kind("deploy") == "Deployment" and _kind("cm") == "ConfigMap" and _kind("Widget") == "Widget"
    assert kinds.CONTROLLERS >= {"ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def test_unknown_target_kind_lists_the_known_ones() -> None:
    with pytest.raises(Exception, match=r"unknown kind 'widget' in 'widget/x': use one of pod, node, svc, pvc"):
        target.parse_target("widget/x")


PLAYBOOK = """id: custom-thing
title: A custom cause
applies_to: [Pod, Foo]
stage: pod
severity: warning
symptom: "true"
summary: "custom"
apiVersion: kubewhy.io/v1
"""


def test_unknown_kind_in_applies_to_is_a_clear_error_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAYBOOK)
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert not catalog.playbooks
    messages = [str(e) for e in catalog.errors]
    known = ", ".join(kinds.TARGETS)
    assert f"{tmp_path / 'p.yaml'}:3: applies_to.1: unknown kind 'Foo' in applies_to; known: {known}" in messages, (
        messages
    )
    (tmp_path / "p.yaml").write_text(PLAYBOOK.replace("Pod, Foo", "Pod, StatefulSet, Ingress"))
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert [p.applies_to for p in catalog.playbooks] == [("Pod", "StatefulSet", "Ingress")], catalog.errors


def test_the_playbook_schema_lists_the_kinds() -> None:
    schema = playbook_format.PlaybookModel.model_json_schema()
    assert schema["properties"]["applies_to"]["items"]["enum"] == list(kinds.TARGETS)
