"""The bundled scenarios against the bundled playbooks: recall, no false positives, linked causes, coverage doc.

The catalogue is the packaged one (kubewhy/catalogue/CATALOGUE.md), so these tests run in any clone.

Snapshot mode (offline, deterministic); one live-mode test diagnoses a few scenarios through the simulator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kubelab.evaluate import (
    DEFAULT_CATALOGUE,
    EvalResult,
    coverage_command,
    coverage_markdown,
    evaluate,
    parse_catalogue,
    scenario_sources,
)
from kubelab.prometheus import default_setting
from kubesim.scenario import bundled_names
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.catalogue import catalogue_file, catalogue_text
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

REPO = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = REPO / "kubesim" / "scenarios" / "catalogue"
# Entries whose evidence is a metric: evaluated only with a Prometheus (the Prometheus issue's tests).
PROMETHEUS_ONLY = {"cpu-throttling", "memory-near-limit", "pvc-filling"}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    catalog = load_dirs([])
    assert not catalog.errors, catalog.errors
    return catalog


@pytest.fixture(scope="module")
def setting() -> str:
    return default_setting()


@pytest.fixture(scope="module")
def result(catalog, setting) -> EvalResult:  # type: ignore[no-untyped-def]
    return asyncio.run(evaluate(scenario_sources([]), catalog, "snapshot", setting))


def test_every_scenario_file_is_a_self_contained_member() -> None:
    names = bundled_names()
    files = sorted(CATALOGUE_DIR.glob("*.yaml"))
    assert files and not any(f.name.startswith("_") for f in files)
    for f in files:
        assert f"catalogue/{f.stem}" in names


def test_recall_and_no_false_positive(result: EvalResult) -> None:
    table = result.per_playbook()
    tp = sum(c["tp"] for pid, c in table.items() if pid not in PROMETHEUS_ONLY)
    fn = sum(c["fn"] for pid, c in table.items() if pid not in PROMETHEUS_ONLY)
    fp = sum(c["fp"] for c in table.values())
    assert tp + fn >= 100, "the bundled scenarios should carry the catalogue's expectations"
    assert tp / (tp + fn) >= 0.95, [(c.scenario, c.target, c.missing) for c in result.cases if c.missing]
    assert fp == 0, [(c.scenario, c.target, c.unwanted) for c in result.cases if c.unwanted]
    assert not [c for c in result.cases if c.error], [(c.scenario, c.error) for c in result.cases if c.error]


def test_healthy_targets_yield_no_findings(result: EvalResult) -> None:
    healthy = [c for c in result.cases if not c.expected and not c.absent]
    assert len([c for c in healthy if c.scenario == "healthy"]) >= 10
    assert {c.scenario for c in healthy} - {"healthy"}, "near-miss scenarios should carry healthy targets too"
    assert all(c.found == [] for c in healthy), [(c.scenario, c.target, c.found) for c in healthy if c.found]


def test_the_catalogue_is_packaged_and_the_default() -> None:
    """The catalogue ships in the core package (no file outside the repository is read), and eval defaults to it."""
    packaged = catalogue_file()
    assert packaged.is_file(), "kubewhy/catalogue/CATALOGUE.md is package data of kubewhy"
    assert Path(str(packaged)) == REPO / "kubewhy" / "catalogue" / "CATALOGUE.md"
    assert str(DEFAULT_CATALOGUE) == str(packaged)
    assert catalogue_text().startswith("# Failure-mode catalogue")


def test_every_catalogue_entry_has_a_playbook_and_a_positive_scenario(result: EvalResult, catalog) -> None:  # type: ignore[no-untyped-def]
    ids = [e.id for e in parse_catalogue(DEFAULT_CATALOGUE)]
    assert len(ids) >= 40
    assert [i for i in ids if catalog.by_id(i) is None] == []
    expected = {pid for c in result.cases for pid in c.expected}
    assert [i for i in ids if i not in expected] == []


def test_confusable_entries_have_near_misses(result: EvalResult) -> None:
    for pid in (
        "oom-killed",
        "app-crash",
        "liveness-throttled",
        "service-no-endpoints",
        "service-port-mismatch",
        "node-not-ready",
        "node-pleg",
        "node-system-oom",
        "evicted",
    ):
        near = [c for c in result.cases if pid in c.absent and c.scenario.endswith("--near-miss")]
        assert near, f"no near-miss scenario forbids {pid}"
        assert all(pid not in c.found for c in near)


def test_seed_002_cascade_links_every_cause(catalog) -> None:  # type: ignore[no-untyped-def]
    path = CATALOGUE_DIR / "seed-002-cascade.yaml"
    kube = SnapshotKube([path])
    evicted = next(
        p for p in asyncio.run(kube.list("Pod", "shop")) if (p.get("status") or {}).get("reason") == "Evicted"
    )
    target = parse_target(f"pod/shop/{evicted['metadata']['name']}")
    report = asyncio.run(diagnose(target, Deps(kube=kube, catalog=catalog, clock=kube.clock)))
    by_id = {f.id: f for f in report.findings}
    assert {"evicted", "node-not-ready", "node-system-oom", "no-limits"} <= set(by_id)
    assert {"node-not-ready", "node-system-oom", "no-limits"} <= set(by_id["evicted"].caused_by)
    assert "node-system-oom" in by_id["node-not-ready"].caused_by
    assert "no-limits" in by_id["node-system-oom"].caused_by
    assert "elastalert" in by_id["no-limits"].summary + " ".join(by_id["no-limits"].evidence)
    # causes come before their consequences
    order = [f.id for f in report.findings]
    assert order.index("node-system-oom") < order.index("evicted")
    assert order.index("node-not-ready") < order.index("evicted")


def test_coverage_doc_is_up_to_date(result: EvalResult, catalog, setting: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = REPO / "docs" / "coverage.md"
    command = coverage_command([], "snapshot", setting, "docs/coverage.md", "tests/realworld/cases")
    if command not in doc.read_text(encoding="utf-8"):
        pytest.skip(f"docs/coverage.md was generated with another Prometheus setting than {setting!r}")
    corpus_dir = REPO / "tests" / "realworld" / "cases"
    corpus = asyncio.run(evaluate(scenario_sources([corpus_dir]), catalog, "snapshot", "off"))
    fresh = tmp_path / "coverage.md"
    fresh.write_text(
        coverage_markdown(result, catalog, DEFAULT_CATALOGUE, command, corpus, "tests/realworld/cases"),
        encoding="utf-8",
    )
    assert fresh.read_text(encoding="utf-8") == doc.read_text(encoding="utf-8"), (
        f"docs/coverage.md is stale: run `{command}`"
    )
    for entry in parse_catalogue(DEFAULT_CATALOGUE):
        assert f"| {entry.id} |" in doc.read_text(encoding="utf-8")


def test_live_mode_agrees_on_a_few_scenarios(catalog) -> None:  # type: ignore[no-untyped-def]
    names = [
        str(CATALOGUE_DIR / f"{n}.yaml")
        for n in ("seed-002-cascade", "evicted--near-miss", "pvc-pending", "service-no-endpoints--near-miss")
    ]
    live = asyncio.run(evaluate(names, catalog, "live", "off"))
    assert live.cases and live.passed, [
        (c.scenario, c.target, c.missing, c.unwanted, c.error) for c in live.cases if not c.passed
    ]
