"""The container-status helpers playbooks share instead of restating ``lastState.terminated`` conditions."""

from __future__ import annotations

from typing import Any

import pytest

from kubewhy.expressions import Compiler

OOM = {"name": "app", "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, "state": {"running": {}}}
CRASH_NOW = {"name": "app", "lastState": {}, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
EXEC = {"name": "app", "lastState": {"terminated": {"exitCode": 127, "reason": "Error"}}, "state": {"waiting": {}}}
BOTH = {
    "name": "app",
    "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
    "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
}
RUNNING = {"name": "app", "state": {"running": {}}}


def ev(source: str, status: dict[str, Any]) -> Any:
    return Compiler().compile(source).evaluate({"c": status})


@pytest.mark.parametrize(
    "status,crashed,oom",
    [
        (OOM, False, True),
        (CRASH_NOW, True, False),
        (EXEC, False, False),
        (BOTH, True, True),
        (RUNNING, False, False),
    ],
)
def test_crashed_and_oomkilled_look_at_both_runs(status: dict[str, Any], crashed: bool, oom: bool) -> None:
    assert ev("crashed(c)", status) is crashed
    assert ev("oomkilled(c)", status) is oom


def test_terminated_prefers_the_previous_run_and_terminations_lists_both() -> None:
    assert ev("terminated(c).exitCode", BOTH) == 2
    assert ev("terminated(c).exitCode", CRASH_NOW) == 1
    assert ev("terminated(c)", RUNNING) == {}
    assert ev("terminations(c).map(t, t.exitCode)", BOTH) == [2, 137]
    assert ev("size(terminations(c))", RUNNING) == 0
