"""The TUI's pure parts: the filter, the rows each kind shows, the log follower's de-duplication, the CLI's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubesim import load as load_scenario
from tui import cli, filtering, rows
from tui.screens.logs import wrapped


def row(ns: str, name: str, text: str, labels: dict[str, str] | None = None, cells: tuple[Any, ...] = ()) -> Any:
    return {"ns": ns, "name": name, "text": text, "labels": labels or {}, "cells": cells or (ns, name)}


ROWS = [
    row("a", "web-1", "a web-1 running", {"app": "web", "tier": "front"}, ("a", "web-1", 3)),
    row("a", "db-0", "a db-0 crashloopbackoff", {"app": "db"}, ("a", "db-0", 12)),
    row("b", "web-2", "b web-2 pending", {"app": "web", "tier": "back"}, ("b", "web-2", "x")),
]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", ["db-0", "web-1", "web-2"]),
        ("WEB", ["web-1", "web-2"]),
        ("crash|pend", ["db-0", "web-2"]),
        ("!web", ["db-0"]),
        ("-l app=web", ["web-1", "web-2"]),
        ("-l app=web,tier!=back", ["web-1"]),
        ("-l tier in (front,back)", ["web-1", "web-2"]),
        ("-l !tier", ["db-0"]),
    ],
)
def test_filter_regex_inverse_and_label_selector(text: str, names: list[str]) -> None:
    assert sorted(r["name"] for r in filtering.select(ROWS, filtering.parse(text))) == names


def test_a_bad_regex_is_matched_literally_and_a_bad_selector_reported() -> None:
    literal = filtering.parse("web-(")
    assert "matched literally" in literal.error and filtering.select(ROWS, literal) == []
    bad = filtering.parse("-l app in (")
    assert "label selector" in bad.error and filtering.select(ROWS, bad) == []


def test_sort_by_column_mixed_types_and_namespace() -> None:
    by_third = filtering.select(ROWS, filtering.parse(""), sort_column=2)
    assert [r["name"] for r in by_third] == ["web-1", "db-0", "web-2"]  # 3 < 12, numbers before text
    assert [r["name"] for r in filtering.select(ROWS, filtering.parse(""), sort_column=2, reverse=True)] == [
        "web-2",
        "db-0",
        "web-1",
    ]
    assert [r["name"] for r in filtering.select(ROWS, filtering.parse(""), namespace="b")] == ["web-2"]


def scenario_objects(name: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in load_scenario(name).objects if o.get("kind") == kind]


def test_pod_rows_match_what_kubectl_shows() -> None:
    pods = {o["metadata"]["name"]: rows.project_pod(o) for o in scenario_objects("workshop", "Pod")}
    crash = pods["app-7d4b9c6f5-x2x7k"]
    ns, name, ready, status, restarts, created, node = crash["cells"]
    assert (ns, ready, status, node) == ("q1", "0/1", "CrashLoopBackOff", "node-1") and restarts == 5
    assert created > 0 and crash["trouble"] == "crashing" and crash["style"] == "red"
    assert pods["writer-b-79d4b8c6f-rlhmz"]["trouble"] == "pending"
    healthy = [p for p in pods.values() if not p["trouble"]]
    assert healthy and all(p["cells"][3] == "Running" for p in healthy if p["ns"] == "kube-system")


def test_node_rows_carry_conditions_and_pressure() -> None:
    nodes = {o["metadata"]["name"]: rows.project_node(o) for o in scenario_objects("workshop", "Node")}
    assert nodes["node-3"]["problem"].startswith("NotReady") and nodes["node-1"]["problem"] == ""
    pressured = rows.project_node(
        {
            "metadata": {"name": "n"},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "DiskPressure", "status": "True"},
                    {"type": "MemoryPressure", "status": "False"},
                ]
            },
        }
    )
    assert pressured["pressure"] == ["DiskPressure"] and pressured["cells"][2] == "DiskPressure"


def test_events_are_dated_by_their_real_last_sighting() -> None:
    old = {
        "metadata": {"name": "e", "namespace": "x", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "lastTimestamp": None,
        "eventTime": "2024-01-01T00:00:05.000000Z",
        "series": {"count": 4, "lastObservedTime": "2024-01-01T01:00:00.123456Z"},
        "type": "Warning",
        "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "x"},
    }
    projected = rows.project_event(old)
    assert projected["cells"][1] == rows.timestamp("2024-01-01T01:00:00.123456Z")
    assert projected["cells"][5] == 4 and projected["warning"] and projected["involved"] == ("Pod", "x", "p")
    assert rows.age(0.0) == "<unknown>" and rows.age(100.0, now=100.0 + 3 * 3600 + 5) == "3h"


def test_long_log_lines_wrap_at_the_width() -> None:
    assert wrapped(["short", "x" * 25], 10) == ["short", "x" * 10, "  " + "x" * 8, "  " + "x" * 7]
    assert wrapped(["a" * 30], 5) == ["a" * 30]  # too narrow to wrap: unchanged


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--demo", "--snapshot", "x.yaml"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert cli.main(["--demo", "--scenario", "no-such-scenario"], environ={"HOME": str(tmp_path)}) == 2
    err = capsys.readouterr().err
    assert err.startswith("k8stui: the demo cluster did not start") and "Traceback" not in err
    assert cli.main(["--snapshot", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file or directory" in capsys.readouterr().err
    assert cli.main(["--prometheus", "ftp://x"], environ={"HOME": str(tmp_path)}) == 2
    assert "--prometheus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "required"),
    [
        ("WEB-1", "web-1"),
        ("team-03.*crash", "team-03"),
        ("ab*c", "a"),
        ("ab{2}", "a"),
        ("web(", "web("),
        ("^web", ""),
        ("web|db", ""),
        ("!web", ""),
        ("-l app=web", ""),
        ("", ""),
    ],
)
def test_the_text_every_match_contains(text: str, required: str) -> None:
    flt = filtering.parse(text)
    assert flt.required == required
    matched = filtering.narrow(ROWS, flt)
    assert filtering.narrow(filtering.containing(ROWS, required), flt) == matched


def test_error_advice_and_failed_checks_are_shown() -> None:
    from kubewhy.models.findings import CheckResult, Finding, Report
    from kubewhy.models.target import parse_target
    from tui.screens.error import advice
    from tui.screens.why import causes_markup, check_line

    assert "log in again" in advice("(401) Unauthorized: the token has expired")
    assert "permission" in advice("403 Forbidden")
    assert ":ctx" in advice("connection refused")
    failed = CheckResult("oom-killed.events", "timeout", 5000.0, "no answer within 5s", "timeout")
    report = Report(
        parse_target("pod/q1/x"),
        [Finding("oom-killed", "OOM", "critical", "killed [bold]", "pod/q1/x", "pod", ("exit 137",))],
        [CheckResult("oom-killed.pod", "ok", 1.0), failed],
    )
    text = causes_markup(report)
    assert "1. [red]CRITICAL[/] OOM" in text and "killed \\[bold]" in text  # cluster text is escaped
    assert "check oom-killed.events did not complete (timeout): no answer within 5s" in text
    assert check_line(failed).startswith("⌛ oom-killed.events") and "no answer" in check_line(failed)
