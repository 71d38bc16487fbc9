"""What changed: template diffs, managedFields, the onset and the blame rules, the ``what-changed`` evidence of a
diagnosis (no request of its own) and ``kubewhy changes``, on snapshots and against the simulator."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.changes.diff import template_diff
from kubewhy.changes.evidence import ID, before_onset
from kubewhy.changes.model import Change
from kubewhy.changes.onset import Onset, blame, rank
from kubewhy.changes.read import managed_changes, node_changes
from kubewhy.cli import main
from kubewhy.models.findings import Finding, Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import Catalog, load_dirs
from kubewhy.render.text import to_json, to_text
from kubewhy.service import Deps, diagnose

from .objects import ENV_NEW, ENV_OLD, SECRET_PLAIN, cluster, container, event, managed

POD = "pod/app/web-bbb222-x1"


@functools.cache
def _catalog() -> Catalog:
    return load_dirs([])


def _diagnose(case: str, target: str = POD) -> Report:
    kube = SnapshotKube([], objects=cluster(case))
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=_catalog(), clock=kube.clock)))


def _changed(report: Report) -> Finding:
    found = [f for f in report.findings if f.id == ID]
    assert len(found) == 1, [f.id for f in report.findings]
    return found[0]


def _never_secret(text: str) -> None:
    """Neither a Secret's value nor a literal env value appears: not in plain text, base64 or unkeyed sha256."""
    for plain in (SECRET_PLAIN, ENV_OLD, ENV_NEW):
        for form in (plain, base64.b64encode(plain.encode()).decode(), hashlib.sha256(plain.encode()).hexdigest()):
            assert form not in text, f"{form!r} leaked"


def test_a_template_diff_names_what_changed_and_never_an_env_value() -> None:
    old = {"containers": [container("web:1", "512Mi", ENV_OLD)]}
    new_c = container("web:2", "256Mi", ENV_NEW)
    new_c["env"].append({"name": "EXTRA", "value": "x"})
    new_c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    new_c["command"] = ["/bin/web", f"--token={ENV_NEW}"]
    lines, areas, lowered = template_diff(old, {"containers": [new_c]})
    text = "\n".join(lines)
    assert "web: image web:1 → web:2" in lines
    assert "web: env added: EXTRA" in lines and "web: env changed: API_TOKEN" in lines
    assert "web: memory limit 512Mi → 256Mi" in lines and lowered == ["memory limit of container web"]
    assert "web: readinessProbe added" in lines and "web: command changed" in lines
    assert {"image", "env", "resources", "probes", "command"} <= areas
    _never_secret(text)


def test_managed_fields_say_who_wrote_which_fields_when_without_status_writes() -> None:
    deploy = cluster("image")[0]
    changes = managed_changes(deploy)
    assert [(c.who, c.operation) for c in changes] == [
        ("kubectl-client-side-apply", "Update"),
        ("kubectl-set", "Update"),
        ("kubectl-label", "Update"),
    ]  # the controller's status write is no change
    assert changes[1].areas == ("image",) and "containers[web].image" in changes[1].summary
    assert changes[2].areas == ("metadata",) and changes[2].summary.endswith("metadata.labels.team")
    secret = next(o for o in cluster("image") if o["kind"] == "Secret")
    (edit,) = managed_changes(secret)
    assert edit.details == ("data key(s)",)  # not even the key's name of a Secret


@pytest.mark.parametrize(
    ("case", "blamed", "words"),
    [
        ("image", "deploy/app/web", "the image changed, then ImagePullBackOff"),
        ("memory", "deploy/app/web", "the memory limit was lowered, then OOMKilled"),
        ("config", "configmap/app/web-config", "then CreateContainerConfigError"),
    ],
)
def test_the_change_that_explains_the_failure_comes_first_and_the_decoy_is_listed_not_blamed(
    case: str, blamed: str, words: str
) -> None:
    finding = _changed(_diagnose(case))
    first = finding.evidence[0]
    assert first.startswith("likely cause, ") and words in first and blamed in first, finding.evidence
    assert words in finding.summary
    # The label edit came closer to the onset (30 s) than the rollout (90 s): listed, never blamed.
    decoy = [e for e in finding.evidence if "kubectl-label" in e]
    assert decoy and not decoy[0].startswith("likely cause"), finding.evidence
    assert (
        finding.severity == "info"
        and finding.fixes[-1].command == f"kubewhy changes {POD.replace('/app/', '/')} -n app --since 2h"
    )


def test_the_window_before_the_onset_is_configurable_and_a_bad_one_is_a_clear_error() -> None:
    """KUBEWHY_CHANGES_WINDOW=1m: the rollout 90 s before the onset is left out, the label edit 30 s before stays
    (listed, not blamed); the fix reads the timeline over the same span."""
    from kubewhy.errors import KubewhyError
    from kubewhy.settings import load

    kube = SnapshotKube([], objects=cluster("image"))
    settings = load({"KUBEWHY_CHANGES_WINDOW": "1m"})
    assert settings.changes_window == 60 and load({}).changes_window == 7200
    deps = Deps(kube=kube, catalog=_catalog(), clock=kube.clock, settings=settings)
    finding = _changed(asyncio.run(diagnose(parse_target(POD), deps)))
    assert not any("revision" in e or e.startswith("likely cause") for e in finding.evidence), finding.evidence
    assert any("kubectl-label" in e for e in finding.evidence) and "in the 1m before" in finding.summary
    assert finding.fixes[-1].command.endswith("--since 1m")
    for bad in ("0s", "soon"):
        with pytest.raises(KubewhyError, match="KUBEWHY_CHANGES_WINDOW"):
            load({"KUBEWHY_CHANGES_WINDOW": bad})


def test_an_unrelated_change_is_listed_but_not_blamed() -> None:
    # An image that cannot be pulled: neither a ConfigMap's edit nor a label's explains it.
    start = Onset(datetime(2024, 6, 14, 9, 41, 30, tzinfo=UTC), "x")
    cm = Change(
        datetime(2024, 6, 14, 8, 50, tzinfo=UTC), "configmap/app/other", "kubectl-edit wrote data.X", ("config",)
    )
    label = Change(datetime(2024, 6, 14, 9, 41, tzinfo=UTC), "deploy/app/web", "labels", ("metadata",))
    ranked = rank([cm, label], start, {"ImagePullBackOff", "ErrImagePull"})
    assert [(r.change.subject, r.blamed) for r in ranked] == [("deploy/app/web", ""), ("configmap/app/other", "")]


def test_a_change_after_the_onset_or_before_the_window_is_left_out() -> None:
    start = Onset(datetime(2024, 6, 14, 10, tzinfo=UTC), "x")
    late = Change(datetime(2024, 6, 14, 10, 0, 1, tzinfo=UTC), "deploy/a/b", "late", ("image",))
    old = Change(datetime(2024, 6, 14, 7, 59, tzinfo=UTC), "deploy/a/b", "old", ("image",))
    assert rank([late, old], start, {"ImagePullBackOff"}) == []


def test_a_taint_then_pending_and_a_lowered_hpa_maximum_then_saturation_are_blamed() -> None:
    node = {
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule", "timeAdded": "2024-06-14T09:00:00Z"}]},
        "status": {"conditions": []},
    }
    (taint,) = node_changes(node)
    assert taint.summary == "taint gpu:NoSchedule added"
    assert blame(taint, {"FailedScheduling", "Pending"}).startswith("the node changed")
    hpa = Change(
        datetime(2024, 6, 14, 9, tzinfo=UTC),
        "hpa/app/web",
        "kubectl-edit wrote spec.maxReplicas",
        ("scale",),
        source="managedFields",
    )
    assert blame(hpa, {"ScalingLimited"}) == "the autoscaler changed, then ScalingLimited"
    assert blame(hpa, {"OOMKilled"}) == ""


def test_a_healthy_target_gets_no_change_evidence() -> None:
    objects = [o for o in cluster("image") if o["kind"] == "Node"]
    kube = SnapshotKube([], objects=objects)
    report = asyncio.run(diagnose(parse_target("node/node-1"), Deps(kube=kube, catalog=_catalog(), clock=kube.clock)))
    assert not [f for f in report.findings if f.id == ID]


def _snapshot(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump_all(cluster(case)), encoding="utf-8")
    return path


def test_kubewhy_changes_shows_the_timeline_as_text_and_json(tmp_path: Path, capsys: Any) -> None:
    path = _snapshot(tmp_path, "image")
    assert main(["changes", "deploy/web", "-n", "app", "--snapshot", str(path), "-o", "json", "--since", "1d"]) == 0
    data = json.loads(capsys.readouterr().out)
    summaries = [c["summary"] for c in data["changes"]]
    rollout = next(c for c in data["changes"] if c["operation"] == "rollout" and "revision 3" in c["summary"])
    assert "web: image registry.example/web:1.4.0 → registry.example/web:1.5.0x" in rollout["details"]
    assert rollout["cause"] == "deploy 1.5" and rollout["source"] == "ReplicaSet"
    assert any(s.startswith("ScalingReplicaSet: Scaled up") for s in summaries)
    assert any(c["who"] == "kubectl-label" for c in data["changes"])
    assert any(c["subject"] == "configmap/app/web-config" for c in data["changes"])
    assert not any(c["subject"].startswith("secret/") for c in data["changes"])  # Secrets only with --secrets
    assert [c["at"] for c in data["changes"]] == sorted(c["at"] for c in data["changes"])
    assert main(["changes", "deploy/web", "-n", "app", "--snapshot", str(path), "--since", "30m"]) == 0
    text = capsys.readouterr().out
    assert "revision 3: web: image" in text and "change-cause: deploy 1.5" in text
    assert "kubectl-client-side-apply" not in text  # 2024-06-01: before --since


def test_a_bad_since_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    path = _snapshot(tmp_path, "image")
    assert main(["changes", "deploy/web", "-n", "app", "--snapshot", str(path), "--since", "soon"]) != 0
    err = capsys.readouterr().err
    assert "--since" in err and "Traceback" not in err


@pytest.mark.parametrize("case", ["image", "memory", "config"])
def test_secret_values_never_appear_in_a_timeline_or_a_diagnosis(tmp_path: Path, capsys: Any, case: str) -> None:
    path = _snapshot(tmp_path, case)
    for target in ("deploy/web", "pod/web-bbb222-x1"):
        for output in ("json", "text"):
            args = ["changes", target, "-n", "app", "--snapshot", str(path), "--secrets", "-o", output, "--since", "4w"]
            assert main(args) == 0
            out = capsys.readouterr().out
            assert "secret/app/web-creds" in out  # read with --secrets: who wrote it, when
            _never_secret(out)
    report = _diagnose(case)
    _never_secret(to_json(report) + to_text(report, verbose=True))


def test_the_change_evidence_makes_no_request(tmp_path: Path) -> None:
    """It reads what the diagnosis fetched; a reader that fetched nothing sees no change and asks for nothing."""
    inner = SnapshotKube([], objects=cluster("image"))
    kube = CachedKube(inner)
    pod = next(o for o in cluster("image") if o["kind"] == "Pod")
    before = inner.requests
    assert asyncio.run(before_onset(kube, POD, [pod])) is None  # nothing held: no change seen
    assert inner.requests == before


def _revision(n: int, image: str, created: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"db-{n}",
            "namespace": "app",
            "creationTimestamp": created,
            "labels": {"app": "db"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}],
        },
        "revision": n,
        "data": {"spec": {"template": {"spec": {"containers": [{"name": "db", "image": image}]}}}},
    }


def test_a_statefulsets_controller_revisions_make_its_history(tmp_path: Path, capsys: Any) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "app", "creationTimestamp": "2024-06-01T08:00:00Z"},
        "spec": {
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "pg:16"}]},
            },
        },
    }
    other = _revision(7, "pg:15", "2024-06-14T09:00:00Z")
    other["metadata"]["ownerReferences"][0]["name"] = "db-other"  # another StatefulSet's, same labels
    clock = event("e", "Pod", "db-0", "Pulled", "Pulled", "2024-06-14T09:45:00Z", "Normal")  # the snapshot's time
    objects = [
        sts,
        _revision(1, "pg:15", "2024-06-01T08:00:00Z"),
        _revision(2, "pg:16", "2024-06-14T09:30:00Z"),
        other,
        clock,
    ]
    path = tmp_path / "sts.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    assert main(["changes", "sts/db", "-n", "app", "--snapshot", str(path), "--since", "1h", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["summary"], c["source"]) for c in data["changes"]] == [
        ("revision 2: db: image pg:15 → pg:16", "ControllerRevision")
    ]


def _node(name: str, fields: dict[str, Any], manager: str, time: str, taints: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": "2024-06-01T08:00:00Z",
            "managedFields": [managed(manager, time, fields)],
        },
        "spec": {"taints": taints},
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-06-01T08:00:00Z"}]},
    }


def test_a_taint_added_before_a_pod_went_pending_is_blamed_and_a_node_label_is_not_listed() -> None:
    taint = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
    nodes = [
        _node("node-1", {"f:spec": {"f:taints": {}}}, "kubectl-taint", "2024-06-14T09:30:00Z", [taint]),
        _node("node-2", {"f:metadata": {"f:labels": {"f:zone": {}}}}, "kubectl-label", "2024-06-14T09:39:00Z", []),
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "job-1", "namespace": "app", "uid": "p1", "creationTimestamp": "2024-06-14T09:35:00Z"},
        "spec": {"containers": [{"name": "job", "image": "job:1"}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "lastTransitionTime": "2024-06-14T09:35:01Z",
                }
            ],
        },
    }
    msg = "0/2 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 1 Insufficient cpu."
    warning = event("e1", "Pod", "job-1", "FailedScheduling", msg, "2024-06-14T09:35:01Z")
    kube = SnapshotKube([], objects=[*nodes, pod, warning])
    report = asyncio.run(diagnose(parse_target("pod/app/job-1"), Deps(kube=kube, catalog=_catalog(), clock=kube.clock)))
    finding = _changed(report)
    assert finding.evidence[0].startswith("likely cause, the node changed") and "kubectl-taint" in finding.evidence[0]
    assert "FailedScheduling" in finding.evidence[0]
    assert not any("node-2" in e for e in finding.evidence)  # a node's label edit is no scheduling change


def test_an_hpa_maximum_lowered_then_saturated_is_blamed() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": "web",
            "namespace": "app",
            "uid": "h1",
            "creationTimestamp": "2024-06-01T08:00:00Z",
            "managedFields": [
                managed("kubectl-edit", "2024-06-14T09:20:00Z", {"f:spec": {"f:maxReplicas": {}}}),
                managed("kubectl-annotate", "2024-06-14T09:29:00Z", {"f:metadata": {"f:annotations": {"f:x": {}}}}),
            ],
        },
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 3},
        "status": {
            "currentReplicas": 3,
            "desiredReplicas": 3,
            "conditions": [
                {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-06-01T08:00:00Z"},
                {
                    "type": "ScalingLimited",
                    "status": "True",
                    "reason": "TooManyReplicas",
                    "lastTransitionTime": "2024-06-14T09:30:00Z",
                },
            ],
        },
    }
    clock = event(
        "e", "HorizontalPodAutoscaler", "web", "SuccessfulRescale", "New size: 3", "2024-06-14T09:30:00Z", "Normal"
    )
    kube = SnapshotKube([], objects=[hpa, clock])
    report = asyncio.run(diagnose(parse_target("hpa/app/web"), Deps(kube=kube, catalog=_catalog(), clock=kube.clock)))
    finding = _changed(report)
    assert finding.evidence[0].startswith("likely cause, the autoscaler changed, then ScalingLimited")
    assert "spec.maxReplicas" in finding.evidence[0]
    annotate = [e for e in finding.evidence if "kubectl-annotate" in e]
    assert annotate and not annotate[0].startswith("likely cause")
