"""Label values reach PromQL only through q(): a pod name with quotes or braces cannot change the query."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom import PromMetrics
from kubewhy.checks.registry import CheckContext
from kubewhy.engine.runner import Subject, run_playbook
from kubewhy.expressions import Compiler, to_cel
from kubewhy.playbooks.loader import load_dirs
from tests.prometheus.promcases import THROTTLED, load_scenario

HOSTILE = [
    'x"}[5m])) or vector(1) or sum(rate(up{job!="',
    'server-7b6f4c9d8c-jhk7g"}[5m])) or vector(1) #',
    'a\\"} or on() vector(1) #',
    'line\nbreak"}',
]
CATALOG = load_dirs([])


@pytest.mark.parametrize("name", HOSTILE)
def test_q_makes_one_string_literal(prometheus_binaries, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    query = Compiler().compile('"up{pod=" + q(name) + "}"').evaluate({"name": to_cel(name)})
    rules = tmp_path / "rules.yaml"
    # promtool parses the expression with Prometheus' own parser: a single selector, nothing else.
    rules.write_text(
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: |-\n      " + str(query).replace("\n", "\\n") + "\n"
    )
    proc = subprocess.run([prometheus_binaries[1], "check", "rules", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    assert str(query) == 'up{pod="' + escaped + '"}'


def _pod(name: str) -> dict:  # type: ignore[type-arg]
    kube = SnapshotKube([Path(p) for p in load_scenario(THROTTLED).sources])
    pod = asyncio.run(kube.get("Pod", "q10", "server-7b6f4c9d8c-jhk7g"))
    assert pod is not None
    return {**pod, "kind": "Pod", "metadata": {**pod["metadata"], "name": name}}


@pytest.mark.parametrize("name", HOSTILE[:3])
def test_hostile_pod_name_finds_nothing_through_the_real_playbook(prometheus_for, name: str) -> None:  # type: ignore[no-untyped-def]
    """The cpu-throttling playbook, rendered for a pod whose name carries a PromQL payload, asks Prometheus
    about exactly that (non-existent) pod: no data, no finding. Unescaped, the same payload answers 1."""
    prom = PromMetrics(prometheus_for(THROTTLED).url, timeout=10)
    pb = CATALOG.by_id("cpu-throttling")
    assert pb is not None
    kube = SnapshotKube([Path(p) for p in load_scenario(THROTTLED).sources])
    ctx = CheckContext(kube=CachedKube(kube), prom=prom, clock=kube.clock)
    outcome = asyncio.run(run_playbook(pb, Subject("pod/q10/x", _pod(name)), ctx, {"now": to_cel("")}, 10.0))
    assert outcome.finding is None
    status = {c.id: c for c in outcome.checks}
    assert status["cpu-throttling.throttling"].status == "skipped"
    assert "no data" in status["cpu-throttling.throttling"].detail
    # The payload is live: pasted in without escaping it changes the query and returns a value.
    naive = f'sum(rate(container_cpu_cfs_periods_total{{namespace="q10",pod="{name}"}}[5m]))'
    if "\\" not in name:
        assert asyncio.run(prom.query(naive)), "the unescaped payload should have injected `vector(1)`"
