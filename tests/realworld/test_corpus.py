"""The real-world corpus: objects from public bug reports and test fixtures (tests/realworld/cases), and raw
``kubectl describe`` pastes (tests/realworld/describe/*.txt, each with its expected finding in SOURCES.md).

Scored by ``kubewhy eval`` (top-1/top-2 accuracy, the unexplained rate, false alarms on healthy cases); the
cases are then mutated — no spec, no events, no status — and renamed, and diagnosed again through the core's own
snapshot reader.

A *mode* is a distinct primary cause on a distinct kind: the first expected finding id and the target's kind
(``pending-unschedulable`` on a Pod and on a Deployment are two modes; two Pods OOM-killed are one).
"""

from __future__ import annotations

import asyncio
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.evaluate import CaseResult, EvalResult, evaluate, paste_expectations, scenario_sources
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

CASES = Path(__file__).resolve().parent / "cases"
FILES = sorted(CASES.glob("*.yaml"))
PASTES = sorted((Path(__file__).resolve().parent / "describe").glob("*.txt"))
LISTING = Path(__file__).resolve().parent / "describe" / "SOURCES.md"


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    catalog = load_dirs([])
    assert not catalog.errors, catalog.errors
    return catalog


@pytest.fixture(scope="module")
def result(catalog) -> EvalResult:  # type: ignore[no-untyped-def]
    return asyncio.run(evaluate(scenario_sources([CASES, *PASTES]), catalog, "snapshot", "off"))


KIND_ALIASES = {
    "deploy": "deployment",
    "svc": "service",
    "pvc": "persistentvolumeclaim",
    "rs": "replicaset",
    "sts": "statefulset",
    "ds": "daemonset",
    "cj": "cronjob",
    "hpa": "horizontalpodautoscaler",
    "ing": "ingress",
    "po": "pod",
    "no": "node",
}


def kind_of(target: str) -> str:
    """A target's kind, spelled one way (``deploy/x`` and ``deployment/x`` are one kind), without asking the
    product: a kind it cannot diagnose yet still counts."""
    word = target.split("/")[0].lower()
    return KIND_ALIASES.get(word, word)


def modes(cases: list[CaseResult]) -> set[tuple[str, str]]:
    """The distinct (primary cause, target kind) pairs of the unhealthy cases."""
    return {(c.expected[0], kind_of(c.target)) for c in cases if c.expected}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _scenario(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d.get("kind") == "Scenario")


def _source(path: Path) -> str:
    """The issue, pull request or fixture a case or a paste comes from."""
    if path.suffix == ".txt":
        row = next(line for line in LISTING.read_text(encoding="utf-8").splitlines() if f"| `{path.name}` |" in line)
        return row.split("|")[2].strip()
    return str(_scenario(_docs(path))["metadata"]["annotations"]["kubewhy.io/source"])


def test_every_case_names_its_source_licence_and_fidelity() -> None:
    assert len(FILES) >= 60
    for f in FILES:
        meta = _scenario(_docs(f))["metadata"]
        notes = meta.get("annotations") or {}
        assert re.match(r"https://github\.com/[^/]+/[^/]+/", notes.get("kubewhy.io/source", "")), f
        assert notes.get("kubewhy.io/licence"), f
        assert notes.get("kubewhy.io/fidelity"), f


def test_every_paste_is_listed_with_its_source_and_expected_finding() -> None:
    expected = paste_expectations(LISTING)
    assert sorted(expected) == [p.name for p in PASTES]
    for paste in PASTES:
        assert re.match(r"https://github\.com/[^/]+/[^/]+/(issues|pull)/\d+$", _source(paste)), paste.name


def test_no_thread_is_used_twice() -> None:
    """Breadth, not copies: each issue or pull request thread gives one case of objects and at most one paste (the
    paste may be the text the objects were transcribed from); a fixture file may hold several fixtures."""
    for group in (FILES, PASTES):
        sources = [s for s in (_source(p).rstrip("/") for p in group) if re.search(r"/(issues|pull)/\d+$", s)]
        assert not [s for s in set(sources) if sources.count(s) > 1]


def test_no_case_comes_from_the_sources_reserved_for_the_independent_evaluation() -> None:
    reserved_repos = (
        "replicatedhq/troubleshoot",
        "argoproj/gitops-engine",
        "pulumi/pulumi-kubernetes",
        "newrelic/nri-kubernetes",
        "bergerx/kubectl-status",
        "backstage/backstage",
    )
    reserved_threads = (
        "k3s-io/k3s/issues/8287",
        "rootless-containers/usernetes/issues/155",
        "spring-cloud/spring-cloud-deployer-kubernetes/issues/336",
        "nds-org/jupyter-et/issues/13",
        "canonical/microk8s/issues/29",
        "digitalocean/csi-digitalocean/issues/111",
        "kubernetes/kubernetes/issues/62451",
        "kubernetes/kubernetes/issues/47711",
    )
    for f in [*FILES, *PASTES]:
        source = _source(f).removeprefix("https://github.com/")
        assert not source.startswith(reserved_repos), f
        assert not any(source.rstrip("/") == t or source.startswith(t + "/") for t in reserved_threads), f


# Issue 23: top-2 >= 90 % and unexplained <= 5 % over the unhealthy cases; the floors per input (objects, pastes) are
# the levels reached, to raise as kubewhy improves. Each miss is listed by
# `kubewhy eval tests/realworld/cases tests/realworld/describe --mode snapshot --prometheus off`.
TOP2_FLOOR = 0.95
TOP2_FLOOR_CASES = 0.95
TOP2_FLOOR_PASTES = 0.90
UNEXPLAINED_CEILING = 0.05


def test_the_corpus_is_broad(result: EvalResult) -> None:
    ranking = result.ranking()
    assert ranking["cases"] >= 120, ranking
    assert len(modes(result.cases)) >= 40, sorted(modes(result.cases))
    assert ranking["pastes"] >= 30, ranking
    assert sum(kind_of(c.target) != "pod" for c in result.cases) >= 30
    assert ranking["healthy_cases"] >= 5, ranking


def test_corpus_scores_top2_with_few_unexplained_and_no_false_alarm(result: EvalResult) -> None:
    ranking = result.ranking()
    misses = [
        (Path(c.scenario).name, c.expected[0], c.ranked, c.error) for c in result.cases if c.expected and not c.top(2)
    ]
    assert ranking["top2"] >= TOP2_FLOOR, misses
    for pastes, floor in ((False, TOP2_FLOOR_CASES), (True, TOP2_FLOOR_PASTES)):
        diagnosed = [c for c in result.cases if c.expected and c.paste == pastes]
        assert sum(c.top(2) for c in diagnosed) / len(diagnosed) >= floor, misses
    assert ranking["unexplained"] <= UNEXPLAINED_CEILING, [Path(c.scenario).name for c in result.cases if c.unexplained]
    assert ranking["false_alarms"] == 0, [(c.scenario, c.alarms) for c in result.cases if c.healthy_case and c.alarms]


def test_every_case_is_read_and_nothing_forbidden_is_found(result: EvalResult) -> None:
    """A broken case file is an error here; a cause kubewhy misses is a miss, counted by the scores above."""
    assert not [c.error for c in result.cases if c.error.startswith("scenario error")]
    assert not [(Path(c.scenario).name, c.target, c.unwanted) for c in result.cases if c.unwanted]


# ---- mutations: the net under the playbooks ---------------------------------------------------------------


def _targets(docs: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(e["target"], list(e.get("findings") or [])) for e in _scenario(docs).get("expect") or []]


def _is_target(obj: dict[str, Any], target: str) -> bool:
    t = parse_target(target)
    meta = obj.get("metadata") or {}
    return (
        obj.get("kind") == t.kind
        and meta.get("name") == t.name
        and (t.namespace is None or (meta.get("namespace") or "default") == t.namespace)
    )


def _about(event: dict[str, Any], target: str) -> bool:
    t = parse_target(target)
    io = event.get("involvedObject") or {}
    return io.get("kind") == t.kind and io.get("name") == t.name


def _diagnose(docs: list[dict[str, Any]], target: str, tmp_path: Path, name: str, catalog: Any) -> Report:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    kube = SnapshotKube([path])
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=catalog, clock=kube.clock)))


def _evidence(docs: list[dict[str, Any]], target: str) -> set[str]:
    """Where a case's sign of trouble lives: its status, its warning events, or what its annotation
    ``kubewhy.io/evidence-in`` says (a node Ready again whose system OOM kills are only in events; an HPA whose
    missing CPU requests only its spec and its Deployment show; ``pods``: a workload whose cause is in its pods,
    which only its spec's selector leads to)."""
    notes = _scenario(docs)["metadata"].get("annotations") or {}
    if notes.get("kubewhy.io/evidence-in"):
        return set(notes["kubewhy.io/evidence-in"].split(","))
    parts = {"spec"}
    if any(_is_target(d, target) and d.get("status") for d in docs):
        parts.add("status")
    if any(d.get("kind") == "Event" and _about(d, target) and d.get("type") == "Warning" for d in docs):
        parts.add("events")
    return parts


def _mutants(docs: list[dict[str, Any]], target: str) -> dict[str, list[dict[str, Any]]]:
    """The case without its spec, without any event, without its status: each applied while some sign of trouble
    remains (removing the only evidence leaves nothing anyone could diagnose)."""

    def without(key: str) -> list[dict[str, Any]]:
        out = copy.deepcopy(docs)
        for d in out:
            if _is_target(d, target):
                d.pop(key, None)
        return out

    evidence = _evidence(docs, target)
    mutants = {}
    if evidence - {"spec", "pods"}:  # a workload's pods are reached through its spec's selector
        mutants["no-spec"] = without("spec")
    if evidence - {"events", "spec"}:
        mutants["no-events"] = [d for d in copy.deepcopy(docs) if d.get("kind") != "Event"]
    if evidence - {"status", "spec"} and any(_is_target(d, target) and "status" in d for d in docs):
        mutants["no-status"] = without("status")
    return mutants


def _original(docs: list[dict[str, Any]], target: str, tmp_path: Path, catalog: Any) -> Report:
    """The unmutated case's report; a case kubewhy cannot diagnose at all (a kind it does not take as a target yet,
    or no finding) is a miss the corpus scores count, and is marked xfail here rather than tested for robustness."""
    from kubewhy.errors import KubewhyError

    try:
        report = _diagnose(docs, target, tmp_path, "original", catalog)
    except KubewhyError as exc:
        pytest.xfail(f"{target}: kubewhy cannot diagnose it yet ({exc})")
    return report


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_unhealthy_cases_keep_a_finding_without_spec_events_or_status(path: Path, catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = _docs(path)
    for target, expected in _targets(docs):
        if not expected:
            continue
        if not _original(docs, target, tmp_path, catalog).findings:
            pytest.xfail(f"{path.name} {target}: no finding even unmutated (a miss of the corpus score)")
        for name, mutant in _mutants(docs, target).items():
            report = _diagnose(mutant, target, tmp_path, name, catalog)
            assert report.findings, f"{path.name} {target} {name}: no finding (checks: {report.checks})"
            assert not report.healthy


def test_the_playbooks_still_name_the_cause_of_most_mutated_cases(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Status alone (events expired) and events alone (status missing) are each enough for most causes; the
    unexplained net catches the rest. Floors per mutation: the primary cause among the first two findings, over the
    cases whose unmutated report has it there (a mutation cannot keep a cause that was never named)."""
    from kubewhy.errors import KubewhyError

    floors = {"no-spec": 0.85, "no-status": 0.85, "no-events": 0.65}
    hits: dict[str, list[bool]] = {}
    for path in FILES:
        docs = _docs(path)
        for target, expected in _targets(docs):
            if not expected:
                continue
            try:
                original = [f.id for f in _diagnose(docs, target, tmp_path, "original", catalog).findings]
            except KubewhyError:
                continue
            if expected[0] not in original[:2]:
                continue
            for name, mutant in _mutants(docs, target).items():
                ids = [f.id for f in _diagnose(mutant, target, tmp_path, name, catalog).findings]
                hits.setdefault(name, []).append(expected[0] in ids[:2])
    shares = {name: sum(h) / len(h) for name, h in hits.items()}
    assert all(shares[name] >= floor for name, floor in floors.items()), shares


def test_the_mutations_really_remove_what_they_say(tmp_path: Path) -> None:
    docs = _docs(CASES / "jaconi-50-secret-volume-events-only.yaml")
    target = _targets(docs)[0][0]
    mutants = _mutants(docs, target)
    assert set(mutants) == {"no-spec"}  # no status to start with: the events are its only evidence
    assert all("spec" not in d for d in mutants["no-spec"] if _is_target(d, target))
    docs = _docs(CASES / "kuill-83-secret-volume-missing.yaml")
    target = _targets(docs)[0][0]
    mutants = _mutants(docs, target)
    assert set(mutants) == {"no-spec", "no-events", "no-status"}
    assert not any(d.get("kind") == "Event" for d in mutants["no-events"])
    assert all("status" not in d for d in mutants["no-status"] if _is_target(d, target))


# ---- renaming: names never decide ---------------------------------------------------------------------------


def _names(docs: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for d in docs:
        if d.get("kind") in ("Scenario",):
            continue
        meta = d.get("metadata") or {}
        names.add(str(meta.get("name", "")))
        if meta.get("namespace"):
            names.add(str(meta["namespace"]))
    names.add("default")
    return {n for n in names if n}


def _rename(docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every object and namespace name replaced, wherever it appears (references, selectors, messages)."""
    mapping = {n: f"obj{i}-{abs(hash(n)) % 9973}" for i, n in enumerate(sorted(_names(docs), key=len, reverse=True))}
    pattern = re.compile(r"(?<![A-Za-z0-9_.-])(" + "|".join(re.escape(n) for n in mapping) + r")(?![A-Za-z0-9_-])")

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {walk(k) if isinstance(k, str) and "/" in k else k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return pattern.sub(lambda m: mapping[m.group(1)], value)
        return value

    return [walk(d) for d in docs], mapping


def _rename_target(target: str, mapping: dict[str, str]) -> str:
    kind, *rest = target.split("/")
    return "/".join([kind, *[mapping.get(p, p) for p in rest]])


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_renaming_every_object_and_namespace_keeps_the_findings(path: Path, catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = _docs(path)
    renamed, mapping = _rename(docs)
    for target, _ in _targets(docs):
        before = _original(docs, target, tmp_path, catalog)
        new_target = _rename_target(target, mapping)
        assert new_target != target
        after = _diagnose(renamed, new_target, tmp_path, "renamed", catalog)
        assert [(f.id, f.severity) for f in after.findings] == [(f.id, f.severity) for f in before.findings], (
            f"{path.name}: {target} → {new_target}"
        )


def test_renaming_replaces_names_in_references_and_messages() -> None:
    docs = _docs(CASES / "kuill-83-secret-volume-missing.yaml")
    renamed, mapping = _rename(docs)
    text = yaml.safe_dump_all(renamed)
    assert "kuill-5b7bd6c875-lsbqc" not in text and "kube-system" not in text
    assert mapping["kube-system"] in text
