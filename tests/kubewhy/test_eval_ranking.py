"""``kubewhy eval``'s ranking: top-1, top-2, the unexplained rate, and ``kubectl describe`` pastes as cases."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kubelab.evaluate import CaseResult, EvalResult, evaluate, format_table, paste_expectations, scenario_sources
from kubesim.scenario import ScenarioError
from kubewhy.playbooks.loader import load_dirs

# A pod whose waiting reason no playbook knows: kubewhy sees trouble and names no cause.
UNKNOWN_REASON = """apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: odd}
capturedAt: "2024-06-14T10:00:00Z"
expect:
- target: pod/default/web-1
  findings: [app-crash]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, creationTimestamp: "2024-06-14T09:00:00Z"}
spec:
  containers: [{name: web, image: nginx}]
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - name: web
    ready: false
    restartCount: 0
    image: nginx
    state: {waiting: {reason: FrobnicationPending, message: "the frobnicator is not ready"}}
"""
PASTE = """Name:         web-1
Namespace:    prod
Status:       Pending
Containers:
  web:
    Image:      nginx
Conditions:
  Type           Status
  PodScheduled   False
Events:
  Type     Reason            Age                From               Message
  ----     ------            ----               ----               -------
  Warning  FailedScheduling  2m (x5 over 7m)    default-scheduler  0/3 nodes are available: 3 Insufficient memory.
"""
LISTING = """# pastes

| file | source | finding | what it shows |
|---|---|---|---|
| `web.txt` | https://github.com/example/example/issues/1 | `pending-unschedulable` | no memory |
"""


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    catalog = load_dirs([])
    assert not catalog.errors, catalog.errors
    return catalog


def _case(expected: list[str], ranked: list[str]) -> CaseResult:
    return CaseResult("s.yaml", "pod/default/x", expected, [], sorted(ranked), ranked=ranked)


def test_the_unexplained_rate_counts_unhealthy_cases_led_by_unexplained() -> None:
    result = EvalResult(
        [
            _case(["oom-killed"], ["unexplained"]),  # only unexplained
            _case(["oom-killed"], ["unexplained", "oom-killed"]),  # led by it: still unexplained
            _case(["oom-killed"], ["oom-killed", "unexplained"]),  # named first: explained
            _case(["oom-killed"], []),  # nothing at all is a miss, not unexplained
            _case([], ["unexplained"]),  # a healthy case is a false alarm, not in the rate
        ]
    )
    assert [c.unexplained for c in result.cases] == [True, True, False, False, False]
    r = result.ranking()
    assert (r["unhealthy_cases"], r["unexplained_cases"], r["unexplained"]) == (4, 2, 0.5)
    assert "unexplained 50% (2) over 4 unhealthy cases" in format_table(result)
    assert EvalResult([_case([], [])]).ranking()["unexplained"] == 0.0


def test_eval_reports_an_unexplained_case(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "odd.yaml").write_text(UNKNOWN_REASON, encoding="utf-8")
    result = asyncio.run(evaluate(scenario_sources([tmp_path]), catalog, "snapshot", "off"))
    (case,) = result.cases
    assert case.ranked == ["unexplained"] and case.unexplained
    assert result.ranking()["unexplained"] == 1.0
    assert f"UNEXPLAINED {tmp_path / 'odd.yaml'} pod/default/web-1: expected app-crash" in format_table(result)


def test_a_paste_is_a_case_scored_against_its_listed_finding(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "web.txt").write_text(PASTE, encoding="utf-8")
    (tmp_path / "SOURCES.md").write_text(LISTING, encoding="utf-8")
    (tmp_path / "odd.yaml").write_text(UNKNOWN_REASON, encoding="utf-8")
    sources = scenario_sources([tmp_path])
    assert sources == [str(tmp_path / "odd.yaml"), str(tmp_path / "web.txt")]
    result = asyncio.run(evaluate(sources, catalog, "snapshot", "off"))
    paste = result.cases[1]
    assert (paste.target, paste.expected, paste.paste) == ("pod/prod/web-1", ["pending-unschedulable"], True)
    assert paste.top(1) and paste.passed
    r = result.ranking()
    assert (r["cases"], r["pastes"], r["unexplained_cases"]) == (2, 1, 1)


def test_an_unlisted_paste_is_an_error_naming_the_listing(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "web.txt").write_text(PASTE, encoding="utf-8")
    result = asyncio.run(evaluate([str(tmp_path / "web.txt")], catalog, "snapshot", "off"))
    assert "no expected finding: list the paste in" in result.cases[0].error
    assert "SOURCES.md" in result.cases[0].error


def test_a_malformed_listing_names_its_line(tmp_path: Path) -> None:
    listing = tmp_path / "SOURCES.md"
    listing.write_text(LISTING.replace("`pending-unschedulable`", "Pending Unschedulable"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"SOURCES\.md: line 5: finding 'Pending Unschedulable'"):
        paste_expectations(listing)
    listing.write_text(LISTING + "| `b.txt` | x |\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"line 6: 2 cells in a table of 4 columns"):
        paste_expectations(listing)
    listing.write_text(LISTING.replace("`pending-unschedulable`", "—"), encoding="utf-8")
    assert paste_expectations(listing) == {"web.txt": []}


def test_the_eval_command_prints_the_rate_in_text_and_json(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_text(UNKNOWN_REASON, encoding="utf-8")
    command = [sys.executable, "-m", "kubewhy", "eval", str(tmp_path), "--mode", "snapshot", "--prometheus", "off"]
    text = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "unexplained 100% (1) over 1 unhealthy cases" in text.stdout, text.stderr
    out = subprocess.run([*command, "-o", "json"], capture_output=True, text=True, timeout=120)
    report = json.loads(out.stdout)
    assert report["ranking"]["unexplained"] == 1.0 and report["ranking"]["unexplained_cases"] == 1
    assert report["cases"][0]["unexplained"] is True
