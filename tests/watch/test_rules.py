"""Watch rules: the bundled defaults, a user's file, and clear errors with file and line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kubewhy.watch.rules import RulesError, load_rules, parse_rules

BASE = """apiVersion: kubewhy.io/v1
kind: WatchRules
rules:
  - id: nodes
    detect: node-not-ready
    grace: 30s
"""


def kubewhy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubewhy", *args], capture_output=True, text=True, timeout=60, env=env)


def test_print_default_rules_is_a_valid_rules_file(tmp_path: Path) -> None:
    out = kubewhy("watch", "--print-default-rules")
    assert out.returncode == 0
    path = tmp_path / "rules.yaml"
    path.write_text(out.stdout)
    rules = load_rules(path)
    assert {r.detect for r in rules.rules} == {
        "node-not-ready",
        "node-pressure",
        "pod-evicted",
        "oom-killed",
        "crash-loop",
        "cpu-throttling",
        "memory-near-limit",
        "pvc-filling",
    }
    assert rules.rules == load_rules().rules


@pytest.mark.parametrize(
    "change, line, message",
    [
        (("grace: 30s", "grace: soon"), 6, "invalid duration 'soon'"),
        (("detect: node-not-ready", "detect: node-on-fire"), 5, "unknown detector 'node-on-fire'"),
        (("    grace: 30s", "    grace: 30s\n    severity: loud"), 7, "must be critical, warning or info"),
        (("    grace: 30s", "    grace: 30s\n    colour: red"), 7, "unknown field 'rules[0].colour'"),
        (("kind: WatchRules", "kind: Rules"), 2, "kind must be 'WatchRules'"),
        (("    grace: 30s", "    grace: 30s\n    threshold: 250%"), 7, "threshold"),
        (("    grace: 30s", "    grace: 30s\n    quiet_hours: {start: '22:00', end: '7am'}"), 7, "HH:MM"),
        (("    grace: 30s", "    grace: 30s\n  - id: nodes\n    detect: node-pressure"), 7, "duplicate rule id"),
        (("rules:", "rules: []\nx:"), 5, "unknown field 'x'"),
    ],
)
def test_a_bad_rules_file_names_file_line_and_problem(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    path = tmp_path / "my-rules.yaml"
    path.write_text(BASE.replace(*change, 1))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert message in str(err.value)
    # the command says the same, without a traceback, before it starts anything
    out = kubewhy("watch", "--stdout", "--rules", str(path), "--kubeconfig", str(tmp_path / "none"))
    assert out.returncode == 2 and f"{path}:{line}:" in out.stderr and "Traceback" not in out.stderr


def test_grace_overrides_every_rule_and_routes_and_quiet_hours_apply() -> None:
    rules = parse_rules(
        BASE.replace(
            "grace: 30s",
            """grace: 30s
    severity: warning
    channel: '#nodes'
    routes: [{channel: '#payments', namespaces: [pay], labels: {team: pay}}]
    quiet_hours: {start: '22:00', end: '07:00', timezone: Europe/Paris, page_severity: critical}""",
        ),
        "x.yaml",
    )
    rule = rules.rules[0]
    assert rule.channel_for("pay", {"team": "pay"}, "#default") == "#payments"
    assert rule.channel_for("pay", {"team": "web"}, "#default") == "#nodes"
    paris_night = datetime(2026, 12, 4, 23, 30, tzinfo=UTC) - timedelta(hours=1)  # 23:30 in Paris
    paris_noon = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    assert rule.holds(paris_night) and not rule.holds(paris_noon)
    assert rules.with_grace(timedelta(seconds=2)).rules[0].grace == timedelta(seconds=2)


def test_bad_grace_and_missing_channel_are_clear_errors(tmp_path: Path) -> None:
    out = kubewhy("watch", "--stdout", "--grace", "soon")
    assert out.returncode == 2 and "--grace='soon'" in out.stderr and "Traceback" not in out.stderr
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = kubewhy("watch", env=env)
    assert out.returncode == 2 and "SLACK_BOT_TOKEN" in out.stderr and "--stdout" in out.stderr
