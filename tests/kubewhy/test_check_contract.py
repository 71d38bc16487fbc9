"""The check contract: a registry passed in, typed parameters checked at load and at run time, and any failure
inside a check kept to that check's result, so the rest of the diagnosis always comes back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubesim import load
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.checks import CheckContext, CheckRegistry, Param, check, default_registry
from kubewhy.errors import ClusterUnreachable
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

POD = "pod/q1/app-7d4b9c6f5-x2x7k"  # OOMKilled and liveness-throttled in workshop/q01-app-crash

HEAD = """apiVersion: kubewhy.io/v1
id: user-one
title: A user's playbook
applies_to: [Pod]
stage: pod
severity: info
symptom: "true"
when: "true"
summary: "user playbook ran"
checks:
"""


def write(directory: Path, checks: str, name: str = "user.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(HEAD + checks)
    return path


def diagnose_q01(catalog: Any) -> Report:
    kube = SnapshotKube([Path(p) for p in load("workshop/q01-app-crash").sources])
    return asyncio.run(diagnose(parse_target(POD), Deps(kube=kube, catalog=catalog, clock=kube.clock)))


def by_id(report: Report) -> dict[str, Any]:
    return {c.id: c for c in report.checks}


# ---- the registry is an object passed in -------------------------------------------------------------------


async def _hello(ctx: CheckContext, who: str) -> dict[str, str]:
    return {"greeting": f"hello {who}"}


def test_a_check_registers_in_the_registry_it_is_given_only(registry: CheckRegistry, tmp_path: Path) -> None:
    decorated = check(
        "hello", registry=registry, params={"who": Param("string", required=True)}, result={"greeting": "string"}
    )(_hello)
    assert decorated is _hello  # the plain function comes back, still callable on its own
    assert "hello" in registry and "hello" not in default_registry()
    assert default_registry() is not default_registry()
    path = write(tmp_path, "  - {id: hi, use: hello, with: {who: world}}\n")
    mine = load_dirs([tmp_path], include_bundled=False, registry=registry)
    assert not mine.errors and mine.playbooks[0].checks[0].definition.fn is _hello
    other = load_dirs([tmp_path], include_bundled=False)  # a fresh default registry: no 'hello' in it
    assert [e.location for e in other.errors] == [f"{path}:11"]
    assert "unknown check 'hello'" in other.errors[0].detail and "events" in other.errors[0].detail


# ---- parameters are typed, and checked when the playbook loads ----------------------------------------------


@pytest.mark.parametrize(
    "checks,line,words",
    [
        # the reported bug: a name where the check needs the object
        (
            '  - id: events\n    use: events\n    with: {of: "{{ target.metadata.name }}"}\n',
            13,
            "check 'events' parameter 'of' needs an object, but \"{{ target.metadata.name }}\" gives a string",
        ),
        (
            '  - id: ev\n    use: events\n    with:\n      of: "pod {{ target.metadata.name }}"\n',
            14,
            "parameter 'of' needs an object, but 'pod {{ target.metadata.name }}' gives text",
        ),
        (
            (
                '  - id: o\n    use: owner\n    with: {of: "{{ target }}"}\n  - id: p\n    use: pods_for\n'
                '    with: {of: "{{ o.name }}"}\n'
            ),
            16,
            "parameter 'of' needs an object, but \"{{ o.name }}\" gives a string",
        ),
        (
            '  - id: n\n    use: node_health\n    with: {pods: "{{ target }}"}\n',
            13,
            "parameter 'pods' needs a list of objects, but \"{{ target }}\" gives an object",
        ),
        (
            '  - id: l\n    use: logs\n    with: {pod: "{{ target }}", tail: many}\n',
            13,
            "parameter 'tail' needs an integer, but got a string",
        ),
        (
            '  - id: l\n    use: logs\n    with: {pod: "{{ target }}", previous: 3}\n',
            13,
            "parameter 'previous' needs true or false, but got an integer",
        ),
        (
            '  - id: e\n    use: events\n    with: {of: "{{ target }}", reason: "^(Back"}\n',
            13,
            "parameter 'reason' is not a valid regular expression",
        ),
        (
            "  - id: x\n    use: list\n    with: {kind: Gadget}\n",
            13,
            "names kind 'Gadget', which kubewhy does not read; known:",
        ),
        (
            "  - id: x\n    use: object\n    with: {kind: ConfigMap, name: null}\n",
            13,
            "parameter 'name' needs a string, but got null",
        ),
    ],
)
def test_a_parameter_of_the_wrong_type_is_refused_with_file_and_line(
    tmp_path: Path, checks: str, line: int, words: str
) -> None:
    path = write(tmp_path, checks)
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert not catalog.playbooks
    assert [e.location for e in catalog.errors] == [f"{path}:{line}"], [str(e) for e in catalog.errors]
    assert words in catalog.errors[0].detail, catalog.errors[0].detail


def test_playbooks_check_refuses_a_name_passed_as_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, '  - id: events\n    use: events\n    with: {of: "{{ target.metadata.name }}"}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "playbooks", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert f"{path}:13: error: check 'events' parameter 'of' needs an object" in proc.stdout


def test_well_typed_templates_load(tmp_path: Path) -> None:
    write(
        tmp_path,
        '  - {id: o, use: owner, with: {of: "{{ target }}"}}\n'
        '  - {id: p, use: pods_for, with: {of: "{{ o.top }}"}}\n'
        '  - {id: h, use: node_health, with: {pods: "{{ p }}"}}\n'
        '  - {id: l, use: logs, with: {pod: "{{ target }}", container: "{{ target.spec.nodeName }}"}}\n'
        '  - {id: x, use: list, with: {kind: Pod, selector: "{{ target.metadata.labels }}"}}\n',
    )
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert not catalog.errors, [str(e) for e in catalog.errors]


# ---- ... and again when the check runs ------------------------------------------------------------------------


def test_a_wrongly_typed_parameter_at_run_time_is_that_checks_error_only(tmp_path: Path) -> None:
    """The skeleton has no ``app`` label, so the load cannot tell; the pod's label is a string, which the run
    refuses for this check alone. Before, ``events`` raised AttributeError and the whole diagnosis was lost."""
    write(tmp_path, '  - id: events\n    use: events\n    with: {of: "{{ target.metadata.labels.app }}"}\n')
    catalog = load_dirs([tmp_path])
    assert not catalog.errors, [str(e) for e in catalog.errors]
    report = diagnose_q01(catalog)
    result = by_id(report)["user-one.events"]
    assert result.status == "error" and result.reason == "bad-parameter"
    assert "parameter 'of' needs an object, but got a string" in result.detail
    assert {"oom-killed", "liveness-throttled"} <= {f.id for f in report.findings}


# ---- any exception inside a check is that check's result -------------------------------------------------------


async def _sleepy(ctx: CheckContext, seconds: float) -> dict[str, float]:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'str' object has no attribute 'get'"),
        RuntimeError("the check blew up"),
        ValueError("bad value"),
        ClusterUnreachable("cannot reach the Kubernetes API at http://127.0.0.1:9"),
    ],
)
@pytest.mark.looptime  # the 30 s nap and its 0.2 s deadline run on the event loop's virtual clock
async def test_a_check_that_raises_or_hangs_does_not_sink_the_diagnosis(
    registry: CheckRegistry, tmp_path: Path, error: Exception
) -> None:
    async def boom(ctx: CheckContext) -> None:
        raise error

    check("test_boom", registry=registry)(boom)
    check("test_sleep", registry=registry, params={"seconds": Param("number", required=True)})(_sleepy)
    write(
        tmp_path,
        "  - {id: nap, use: test_sleep, with: {seconds: 30}, timeout: 0.2}\n"
        "  - {id: bang, use: test_boom}\n"
        '  - {id: events, use: events, with: {of: "{{ target }}"}}\n',
    )
    catalog = load_dirs([tmp_path], registry=registry)
    assert not catalog.errors, [str(e) for e in catalog.errors]
    kube = SnapshotKube([Path(p) for p in load("workshop/q01-app-crash").sources])
    report = await diagnose(parse_target(POD), Deps(kube=kube, catalog=catalog, clock=kube.clock))
    checks = by_id(report)
    assert checks["user-one.nap"].status == "timeout" and checks["user-one.nap"].reason == "timeout"
    assert checks["user-one.bang"].status == "error" and str(error) in checks["user-one.bang"].detail
    assert checks["user-one.events"].status == "ok"
    assert {"oom-killed", "liveness-throttled", "user-one"} <= {f.id for f in report.findings}


# ---- meaning in typed fields -----------------------------------------------------------------------------------


def test_skipped_prometheus_checks_carry_a_typed_reason() -> None:
    report = diagnose_q01(load_dirs([]))
    prom = [c for c in report.checks if c.id == "liveness-throttled.throttling"]
    assert prom and prom[0].status == "skipped" and prom[0].reason == "no-prometheus"
    assert prom[0].to_dict()["reason"] == "no-prometheus"
    assert any("Prometheus not configured" in n for n in report.notes)
