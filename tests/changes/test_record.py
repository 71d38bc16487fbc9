"""The change between two versions of an object, as the watchers' change log keeps it: template diffs, keys
added, removed or changed by keyed HMAC (never a value, its base64 or its plain sha256), and what is left out."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from kubewhy.changes.record import digest, version_change
from kubewhy.redact import redact_object

from .objects import cluster, managed

KEY = b"k" * 32
AT = datetime(2024, 6, 14, 10, tzinfo=UTC)
LOW_ENTROPY = "yes"  # a value a plain hash would give away: sha256("yes") is in every rainbow table


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "flags",
            "namespace": "app",
            "managedFields": [managed("kubectl-edit", "2024-06-14T10:00:05Z", {"f:data": {}})],
        },
        "data": data,
    }


def test_a_configmaps_keys_are_compared_by_keyed_hmac_and_no_value_is_kept() -> None:
    old = _configmap({"FEATURE_X": "no", "LOG_LEVEL": "info", "GONE": "1"})
    new = _configmap({"FEATURE_X": LOW_ENTROPY, "LOG_LEVEL": "info", "NEW": "2"})
    change = version_change(old, new, KEY, AT)
    assert change is not None
    assert change.details == ("data keys added: NEW", "data keys removed: GONE", "data keys changed: FEATURE_X")
    assert change.who == "kubectl-edit" and change.at == datetime(2024, 6, 14, 10, 0, 5, tzinfo=UTC)
    assert dict(change.digests) == {"FEATURE_X": digest(KEY, LOW_ENTROPY), "NEW": digest(KEY, "2")}
    assert digest(KEY, LOW_ENTROPY) != digest(b"another key", LOW_ENTROPY)
    text = json.dumps(change.to_dict())
    for form in (
        LOW_ENTROPY,
        base64.b64encode(LOW_ENTROPY.encode()).decode(),
        hashlib.sha256(LOW_ENTROPY.encode()).hexdigest(),
        hashlib.sha256(LOW_ENTROPY.encode()).hexdigest()[:32],
    ):
        assert form not in text, form
    assert "info" not in text  # an unchanged value: not even its digest


def test_a_secret_is_seen_redacted_so_only_its_keys_and_never_its_values_are_recorded() -> None:
    secret = next(o for o in cluster("image") if o["kind"] == "Secret")
    old = redact_object(copy.deepcopy(secret))
    new_raw = copy.deepcopy(secret)
    new_raw["data"]["api-key"] = base64.b64encode(b"s3cr3t-api-key").decode()
    new = redact_object(new_raw)
    change = version_change(old, new, KEY, AT)
    assert change is not None and change.details == ("data keys added: api-key",) and change.digests == ()
    text = json.dumps(change.to_dict())
    for plain in ("s3cr3t-api-key", "hunter2-plaintext-value"):
        for form in (plain, base64.b64encode(plain.encode()).decode(), hashlib.sha256(plain.encode()).hexdigest()):
            assert form not in text


def test_helm_release_secrets_and_service_account_tokens_are_not_recorded() -> None:
    for type_ in ("helm.sh/release.v1", "kubernetes.io/service-account-token"):
        secret = {"kind": "Secret", "type": type_, "metadata": {"name": "s", "namespace": "a"}, "data": {"a": "x"}}
        assert version_change(None, secret, KEY, AT) is None


def test_a_workload_template_change_and_a_scale_are_recorded_and_a_status_write_is_not() -> None:
    objects = cluster("memory")
    deploy = objects[0]
    old = copy.deepcopy(deploy)
    old["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "512Mi"
    old["spec"]["replicas"] = 3
    change = version_change(old, deploy, KEY, AT)
    assert change is not None
    assert "web: memory limit 512Mi → 256Mi" in change.details and "spec.replicas: 3 → 1" in change.details
    assert change.lowered == ("memory limit of container web",) and {"resources", "scale"} <= set(change.areas)
    assert change.cause == "deploy 1.5"
    status_only = copy.deepcopy(deploy)
    status_only["status"] = {"replicas": 9}
    assert version_change(deploy, status_only, KEY, AT) is None

    # read back from the change log (its row keeps the lines, not `lowered`), the lowered limit is still blamed
    from kubewhy.changes.onset import blame
    from kubewhy.changes.stored import from_row

    row = json.loads(json.dumps(change.to_dict()))
    assert from_row(row).lowered == ("memory limit of container web",)
    assert blame(from_row(row), {"OOMKilled"}) == "the memory limit was lowered, then OOMKilled"
    raised = version_change(deploy, old, KEY, AT)
    assert raised is not None and from_row(raised.to_dict()).lowered == ()  # 256Mi → 512Mi went up


def test_node_cordon_taints_and_hpa_limits_are_recorded() -> None:
    node = next(o for o in cluster("image") if o["kind"] == "Node")
    cordoned = copy.deepcopy(node)
    cordoned["spec"] = {
        "unschedulable": True,
        "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
    }
    change = version_change(node, cordoned, KEY, AT)
    assert change is not None and change.areas == ("node",)
    assert "spec.unschedulable: unset → true" in change.details and "spec.taints changed" in change.details
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"maxReplicas": 10},
    }
    lowered = copy.deepcopy(hpa)
    lowered["spec"]["maxReplicas"] = 3
    change = version_change(hpa, lowered, KEY, AT)
    assert change is not None and change.details == ("spec.maxReplicas: 10 → 3",) and change.areas == ("scale",)


def test_the_change_informers_cache_a_packed_projection_without_a_value() -> None:
    """What the watchers hold per object: its name, and the compared fields as compressed JSON; unpacked, the same
    change comes out as from the objects themselves. A ConfigMap's value is not in it, packed or unpacked."""
    import zlib

    from kubewhy.changes.recorder import mark, projection, unpack

    deploy = cluster("memory")[0]
    old = copy.deepcopy(deploy)
    old["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "512Mi"
    project = projection("Deployment", KEY)
    packed = project(deploy)
    assert set(packed) == {"kind", "metadata", "mark", "packed"}
    assert packed["metadata"] == {"name": "web", "namespace": "app"}
    assert packed["mark"] == mark("Deployment", deploy["metadata"])  # what the metadata-only item says
    assert project(copy.deepcopy(deploy)) == packed and project(old) != packed  # equal objects, equal bytes
    direct = version_change(old, deploy, KEY, AT)
    cached = version_change(unpack(project(old)), unpack(packed), KEY, AT)
    assert direct is not None and cached is not None and cached.details == direct.details
    cm = projection("ConfigMap", KEY)(_configmap({"answer": LOW_ENTROPY}))
    text = zlib.decompress(cm["packed"]).decode()
    assert f'"{LOW_ENTROPY}"' not in text and digest(KEY, LOW_ENTROPY) in text
