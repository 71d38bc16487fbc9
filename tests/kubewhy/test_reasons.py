"""Kubernetes' reason vocabulary (kubewhy/reasons): the data is valid, docs/reasons.md is current, and every entry,
carried by a minimal object or event built from its own example, gets its mapped finding — with evidence quoting
the field or message that carries it, and a next step — with no cluster.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.models.findings import Report
from kubewhy.models.target import Target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.reasons import docs, vocabulary
from kubewhy.reasons.vocabulary import Entry, VocabularyError, load, problems
from kubewhy.service import Deps, diagnose

ROOT = Path(__file__).resolve().parents[2]
VOCAB = vocabulary.bundled()
CATALOG = load_dirs([])
NS = "shop"
NAME = "subject-0"


def _meta(name: str = NAME, namespaced: bool = True) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "uid": f"uid-{name}"} if namespaced else {"name": name, "uid": f"uid-{name}"}


def _event(kind: str, example: dict[str, Any], namespaced: bool) -> dict[str, Any]:
    return {
        "kind": "Event",
        "metadata": {"name": f"{NAME}.1", "namespace": NS if namespaced else "default"},
        "involvedObject": {"kind": kind, "name": NAME, "namespace": NS if namespaced else None, "uid": f"uid-{NAME}"},
        "reason": example.get("reason", ""),
        "message": example.get("message", ""),
        "type": example.get("type", "Warning"),
        "count": 3,
    }


def objects_for(entry: Entry) -> tuple[Target, list[dict[str, Any]]]:
    """The smallest objects that carry ``entry`` as Kubernetes writes it: the example in its place, nothing else."""
    ex = entry.example
    kind = entry.kinds[0] if entry.kinds else ("Node" if entry.where == "taint" else "Pod")
    namespaced = kind not in ("Node", "PersistentVolume", "Namespace")
    obj: dict[str, Any] = {"kind": kind, "metadata": _meta(namespaced=namespaced)}
    extra: list[dict[str, Any]] = []
    container = {"name": "app", "image": "registry.example/app:1"}
    if entry.where == "pod.reason":
        obj["status"] = {"phase": ex.get("phase", "Failed"), "reason": ex["reason"], "message": ex.get("message", "")}
    elif entry.where in ("pod.condition", "condition"):
        cond = {k: ex[k] for k in ("type", "status", "reason", "message") if ex.get(k) is not None}
        obj["status"] = {"conditions": [cond]}
        if kind == "Pod":
            obj["status"]["phase"] = "Pending" if cond["type"] == "PodScheduled" else "Running"
    elif entry.where == "container.waiting":
        obj["spec"] = {"containers": [container]}
        waiting = {k: ex[k] for k in ("reason", "message") if ex.get(k)}
        obj["status"] = {
            "phase": ex.get("phase", "Pending"),
            "containerStatuses": [{"name": "app", "ready": False, "restartCount": 0, "state": {"waiting": waiting}}],
        }
    elif entry.where == "container.terminated":
        obj["spec"] = {"containers": [container], "restartPolicy": "Never"}
        terminated = {k: ex[k] for k in ("reason", "exitCode", "message") if ex.get(k) is not None}
        obj["status"] = {
            "phase": "Failed",
            "containerStatuses": [
                {"name": "app", "ready": False, "restartCount": 0, "state": {"terminated": terminated}}
            ],
        }
    elif entry.where in ("event", "message"):
        extra.append(_event(kind, ex, namespaced))  # the object as a paste gives it: no status, its events
    elif entry.where == "taint":
        obj["spec"] = {"taints": [{"key": ex["key"], "effect": ex.get("effect", "NoSchedule")}]}
    elif entry.where == "phase":
        obj["status"] = {"phase": ex["phase"]}
    return Target(kind, NAME, NS if namespaced else None), [obj, *extra]


def _diagnose(target: Target, objects: list[dict[str, Any]]) -> Report:
    kube = SnapshotKube([], objects=objects, endpoint="test")
    return asyncio.run(diagnose(target, Deps(kube=kube, catalog=CATALOG, clock=kube.clock)))


def _carriers(entry: Entry) -> list[str]:
    """The words of the example that the evidence must quote: the reason, the key, the fragment."""
    ex = entry.example
    if entry.where == "message":
        return [str(ex["message"])[:40]]
    for key in ("reason", "key", "phase", "type"):
        if ex.get(key):
            return [str(ex[key])]
    return [str(ex.get("message", ""))[:40]]


MAPPED = [e for e in VOCAB.entries if e.finding]


@pytest.mark.parametrize("entry", MAPPED, ids=[e.id for e in MAPPED])
def test_each_entry_names_its_finding_quotes_it_and_gives_a_next_step(entry: Entry) -> None:
    target, objects = objects_for(entry)
    report = _diagnose(target, objects)
    ids = [f.id for f in report.findings]
    assert ids and ids[0] == entry.finding, f"{entry.id} (line {entry.line}): got {ids}"
    finding = report.findings[0]
    quoted = " | ".join(finding.evidence)
    assert any(word in quoted for word in _carriers(entry)), f"{entry.id}: evidence {finding.evidence}"
    assert finding.fixes and all(f.command for f in finding.fixes), entry.id


def test_the_bundled_vocabulary_is_valid_and_fully_classified() -> None:
    assert problems(VOCAB, {p.id for p in CATALOG.playbooks}) == []
    assert all(bool(e.finding) != bool(e.informational) for e in VOCAB.entries)
    assert len(VOCAB.commit) == 40 and VOCAB.version.startswith("v1.")


def test_docs_reasons_md_is_generated_from_the_vocabulary() -> None:
    page = docs.render(VOCAB, {p.id: p.title for p in CATALOG.playbooks})
    committed = (ROOT / "docs" / "reasons.md").read_text(encoding="utf-8")
    assert committed == page, "docs/reasons.md is stale: python -m kubewhy.reasons docs > docs/reasons.md"
    assert VOCAB.version in committed and VOCAB.commit in committed


def test_a_healthy_pod_with_an_old_warning_event_gets_no_vocabulary_finding() -> None:
    """History is not a diagnosis: a running, ready pod is not named by a warning event it once had."""
    entry = next(e for e in MAPPED if e.where in ("event", "message") and "Pod" in e.kinds)
    target, objects = objects_for(entry)
    objects[0]["spec"] = {"containers": [{"name": "app", "image": "x"}]}
    objects[0]["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}],
    }
    report = _diagnose(target, objects)
    assert not [f for f in report.findings if f.source.startswith(VOCAB.source)], report.findings


BAD = """apiVersion: kubewhy.io/v1
kind: ReasonVocabulary
kubernetes: {version: v1.33.1, commit: 0123456789abcdef0123456789abcdef01234567, repository: kubernetes/kubernetes}
findings:
  image-pull:
    next_step: {title: t, command: "kubectl -n {namespace} describe pod {name}"}
entries:
  - id: ok
    where: container.waiting
    match: {reason: ErrImagePull}
    emitted_at: [pkg/kubelet/images/image_manager.go]
    finding: image-pull
    why: w
    example: {reason: ErrImagePull}
"""


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("where: container.waiting", "where: container.sleeping"), 9, "where 'container.sleeping'"),
        (("{reason: ErrImagePull}\n    emitted", "{reason: 'Err[Image'}\n    emitted"), 10, "not a regular expression"),
        (("    why: w\n", "    why: w\n    informational: x\n"), 8, "exactly one of finding and informational"),
        (("finding: image-pull", "finding: image-pul"), 12, "has no next step"),
        (("    why: w\n", "    why: w\n    colour: red\n"), 14, "unknown key 'colour'"),
        (("{namespace} describe", "{ns} describe"), 6, "unknown placeholder {ns}"),
        (("commit: 0123", "commit: 123"), 3, "40-hex"),
    ],
)
def test_a_broken_vocabulary_says_what_and_where(edit: tuple[str, str], line: int, words: str) -> None:
    load(BAD, "v.yaml")  # the unedited text is valid
    with pytest.raises(VocabularyError) as err:
        load(BAD.replace(*edit), "v.yaml")
    assert err.value.location == f"v.yaml:{line}", str(err.value)
    assert words in str(err.value)


SOURCED = BAD.replace(
    "findings:\n",
    "sources:\n  pkg/kubelet/images/image_manager.go: 89abcdef0123456789abcdef0123456789abcdef\nfindings:\n",
)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (
            ("images/image_manager.go]", "images/types.go]"),
            10,
            "emitted_at path pkg/kubelet/images/types.go has no commit",
        ),
        (("go: 89abcdef", "go: 89ABCDEF"), 5, "is not a 40-hex commit id"),
        (("go: 89abcdef0123", "go: 89abcdef"), 5, "is not a 40-hex commit id"),
        (
            ("findings:\n", "  pkg/kubelet/kubelet.go: 0123456789abcdef0123456789abcdef01234567\nfindings:\n"),
            6,
            "sources: pkg/kubelet/kubelet.go is cited by no entry's emitted_at",
        ),
        (
            (
                "sources:\n  pkg/kubelet/images/image_manager.go: 89",
                "sources: [pkg/kubelet/images/image_manager.go]\n#",
            ),
            4,
            "sources must be a mapping",
        ),
    ],
)
def test_sources_name_the_commit_read_for_every_cited_path(edit: tuple[str, str], line: int, words: str) -> None:
    v = load(SOURCED, "v.yaml")  # the unedited text is valid, and its link is the file at the commit read
    assert v.commit_of("pkg/kubelet/images/image_manager.go").startswith("89abcdef")
    assert "blob/89abcdef0123456789abcdef0123456789abcdef/pkg/kubelet/images/image_manager.go" in docs.render(v, {})
    with pytest.raises(VocabularyError) as err:
        load(SOURCED.replace(*edit), "v.yaml")
    assert err.value.location == f"v.yaml:{line}", str(err.value)
    assert words in str(err.value)


def test_the_bundled_vocabulary_names_the_commit_read_for_every_path() -> None:
    cited = {p for e in VOCAB.entries for p in e.emitted_at}
    assert VOCAB.sources and set(VOCAB.sources) == cited
    assert VOCAB.unread < cited  # some files were read, so the page can say which were not


def test_unread_paths_and_unverified_entries_are_named_in_the_docs() -> None:
    text = SOURCED.replace("findings:\n", "unread: [pkg/kubelet/images/image_manager.go]\nfindings:\n").replace(
        "    why: w\n", "    why: w\n    unverified: the stored version predates this reason\n"
    )
    v = load(text, "v.yaml")
    page = docs.render(v, {})
    assert "image_manager.go) (not read)" in page
    assert "not confirmed in the version read: the stored version predates this reason" in page
    with pytest.raises(VocabularyError) as err:
        load(
            text.replace("unread: [pkg/kubelet/images/image_manager.go]", "unread: [pkg/kubelet/kubelet.go]"), "v.yaml"
        )
    assert err.value.location == "v.yaml:6" and "unread: pkg/kubelet/kubelet.go is not listed under sources:" in str(
        err.value
    )


def test_the_check_command_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text(BAD.replace("where: container.waiting", "where: nowhere"), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "kubewhy.reasons", "check", str(bad)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2 and f"{bad}:9:" in run.stderr and "Traceback" not in run.stderr


def test_a_cause_written_on_a_related_pod_names_the_workloads_cause() -> None:
    """A Deployment whose pod the kubelet rejected: the pod's own status names the cause, on the pod."""
    entry = next(e for e in MAPPED if e.where == "pod.reason")
    _, (pod,) = objects_for(entry)
    pod["metadata"].update(name="web-1", labels={"app": "web"})
    pod["spec"] = {"nodeName": "node-1", "containers": [{"name": "app", "image": "x"}]}
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS, "uid": "d1"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 1, "unavailableReplicas": 1},
    }
    report = _diagnose(Target("Deployment", "web", NS), [deployment, pod])
    named = [f for f in report.findings if f.id == entry.finding]
    assert named and named[0].subject == f"pod/{NS}/web-1", report.findings
    assert any(str(entry.example["reason"]) in line for line in named[0].evidence)


def test_the_cached_vocabulary_is_the_vocabulary(tmp_path: Path) -> None:
    """Kept as JSON in the cache directory and read back without YAML: the same entries, lines and matches."""
    first = vocabulary.bundled(tmp_path)
    assert list(tmp_path.glob("vocabulary-*.json"))
    vocabulary.bundled.cache_clear()
    again = vocabulary.bundled(tmp_path)
    assert again == first and [e.line for e in again.entries] == [e.line for e in first.entries]
    (next(tmp_path.glob("vocabulary-*.json"))).write_text("{not json", encoding="utf-8")
    vocabulary.bundled.cache_clear()
    assert vocabulary.bundled(tmp_path) == first  # a broken entry is a miss, never an error
