"""Every suggested fix of every bundled scenario is a request a real API server accepts.

One simulator serves each bundled scenario in turn; ``diagnose`` runs on every expectation target; each kubectl
mutation in a fix's ``command`` (each part of an ``a && b`` chain) runs with ``--dry-run=server`` under the real
kubectl, concurrently. What a fix may leave to a person is decided here and documented in docs/playbooks.md:

- a template: a ``<placeholder>`` the reader fills (``<real use>``, ``<user>``) — counted, not run;
- a hand-off: an editor (``edit``, ``-it``), a manifest on stdin or in a file the reader writes (``-f -``,
  ``-f name.yaml``), or the internet (``-f https://``) — counted, not run;
- everything else runs, and must be accepted.

``rollout restart`` has no --dry-run in kubectl: it runs for real (the scenario is reloaded for the next one).
A drain is run with a short ``--timeout``: a PodDisruptionBudget that refuses the eviction is a refusal.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubesim import load
from kubesim.cluster import Cluster
from kubesim.runner import RunningSim, run_in_thread
from kubesim.scenario import Scenario, bundled_names
from kubesim.server import SimOptions
from kubewhy import compose
from kubewhy.models.target import parse_target
from kubewhy.service import diagnose
from kubewhy.settings import KubeSettings, Settings
from tests.conftest import kubectl_binaries

KUBECTLS = kubectl_binaries()
pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(not KUBECTLS, reason="kubectl is not installed")]
OWNER_KINDS = Path(__file__).parent / "data" / "owner-kinds.yaml"
MUTATING = {"set", "patch", "scale", "rollout", "annotate", "label", "apply", "delete", "create", "replace"}
MUTATING |= {"cordon", "uncordon", "drain", "taint", "autoscale", "expose"}
PLACEHOLDER = re.compile(r"<[^<>'\"]*[a-z][^<>'\"]*>")  # <real use>, <user>; not a heredoc's <<'EOF'
HAND_OFF = re.compile(r"\bedit\b|\s-it?\b|https?://|\s-f\s+(-|\S+\.ya?ml)(\s|$)|<<")


@dataclass(frozen=True)
class Suggested:
    scenario: str
    target: str
    finding: str
    command: str  # one kubectl part of the fix's command, its trailing ``# comment`` removed

    def kind(self) -> str:
        """``run``, ``template`` or ``hand-off``."""
        if PLACEHOLDER.search(self.command):
            return "template"
        if HAND_OFF.search(self.command):
            return "hand-off"
        return "run"

    def args(self) -> list[str]:
        args = shlex.split(self.command)[1:]
        if "rollout" in args and "restart" in args:
            return args
        if args[:1] == ["drain"]:
            args = [a for a in args if not a.startswith("--timeout")] + ["--timeout=3s"]
        return [*args, "--dry-run=server"]


def kubectl_parts(command: str) -> Iterator[str]:
    """The kubectl mutations in a fix's command: each part of a chain, comments dropped."""
    for part in re.split(r"\s*(?:&&|;|\|\|?)\s*", command):
        part = re.sub(r"\s+#.*$", "", part.strip())
        if part.startswith("kubectl ") and MUTATING & set(part.split()[1:5]):
            yield part


def swap(sim: RunningSim, scenario: Scenario) -> None:
    """Serve another scenario from the same simulator (on its loop, between requests)."""

    async def replace() -> None:
        sim.server.cluster = Cluster(scenario)

    asyncio.run_coroutine_threadsafe(replace(), sim.loop).result(timeout=30)


def suggested(sim: RunningSim, name: str, scenario: Scenario) -> list[Suggested]:
    settings = Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)))

    async def collect() -> list[Suggested]:
        out: dict[Suggested, None] = {}
        async with compose.opened(settings, audit=False) as deps:
            for target in dict.fromkeys(e.target for e in scenario.expect):
                report = await diagnose(parse_target(target), deps)
                for finding in report.findings:
                    for fix in finding.fixes:
                        for part in kubectl_parts(fix.command):
                            out[Suggested(name, target, finding.id, part)] = None
        return list(out)

    return asyncio.run(collect())


def dry_run(sim: RunningSim, fixes: list[Suggested], binary: str) -> list[tuple[Suggested, str]]:
    """The fixes the API refused, each with kubectl's error. Restarts run last: they are real."""

    def run(fix: Suggested) -> tuple[Suggested, str] | None:
        exe = [binary, "--kubeconfig", str(sim.kubeconfig), *fix.args()]
        try:
            proc = subprocess.run(exe, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return fix, "timed out"
        return None if proc.returncode == 0 else (fix, proc.stderr.strip())

    runnable = list({f.command: f for f in fixes if f.kind() == "run"}.values())  # two targets, one fix: run once
    first = [f for f in runnable if "restart" not in f.args()]
    with ThreadPoolExecutor(max_workers=6) as pool:
        refused = [r for r in pool.map(run, first) if r]
    refused += [r for r in map(run, [f for f in runnable if f not in first]) if r]
    return refused


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    running = run_in_thread(
        load("healthy"),
        SimOptions(timeline_mode="manual"),
        kubeconfig_out=tmp_path_factory.mktemp("fixes") / "sim.kubeconfig",
    )
    yield running
    running.stop()


def check_scenario(sim: RunningSim, name: str, binary: str) -> tuple[list[Suggested], list[tuple[Suggested, str]]]:
    scenario = load(name)
    swap(sim, scenario)
    fixes = suggested(sim, name, scenario)
    return fixes, dry_run(sim, fixes, binary)


def test_every_bundled_fix_is_accepted_with_dry_run_server(sim: RunningSim) -> None:
    checked: list[Suggested] = []
    refused: list[tuple[Suggested, str]] = []
    for name in bundled_names():
        if not load(name).expect:
            continue
        fixes, bad = check_scenario(sim, name, KUBECTLS[-1])
        checked += fixes
        refused += bad
    ran = [f for f in checked if f.kind() == "run"]
    assert len(ran) >= 60, f"only {len(ran)} fixes ran"
    assert not refused, "\n".join(f"{f.scenario} {f.target} [{f.finding}] {f.command}\n  → {err}" for f, err in refused)


def owner_kind_fixes(sim: RunningSim, binary: str) -> tuple[dict[str, list[Suggested]], list[tuple[Suggested, str]]]:
    fixes, refused = check_scenario(sim, str(OWNER_KINDS), binary)
    by_pod: dict[str, list[Suggested]] = {}
    for f in fixes:
        by_pod.setdefault(f.target.rsplit("/", 1)[1], []).append(f)
    return by_pod, refused


def test_a_fix_targets_the_owner_that_keeps_the_pod(sim: RunningSim) -> None:
    by_pod, refused = owner_kind_fixes(sim, KUBECTLS[-1])
    assert not refused, refused
    ran = {pod: " ".join(f.command for f in fixes if f.kind() == "run") for pod, fixes in by_pod.items()}
    assert "deployment/web " in ran["web-6c9f7-b2m4q"]
    assert "statefulset/db " in ran["db-0"]
    assert "daemonset/agent " in ran["agent-x7k2p"]
    assert "cronjob/nightly " in ran["nightly-28600000-abcde"]
    assert "replicaset/orphan-5d8f9 " in ran["orphan-5d8f9-k9x8z"]
    # A pod's and a Job's template cannot change: a bare pod, a static pod and a lone Job get recreate advice.
    for pod in ("bare", "etcd-node-1", "once-q2w3e"):
        assert not re.search(r"set resources|patch", ran.get(pod, "")), (pod, ran.get(pod))
