"""The shared core over the simulator (live path) and over files (snapshot path)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubesim import load
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose

WORKSHOP_CASES = [
    ("workshop/q01-app-crash", "pod/q1/app-7d4b9c6f5-x2x7k", {"oom-killed", "liveness-throttled"}),
    ("workshop/q02-node-not-ready", "node/node-3", {"node-not-ready"}),
    ("workshop/q03-clock-skew", "pod/q3/uploader-6c5f8d9b47-2w4h8", {"clock-skew", "app-crash"}),
    ("workshop/q04-service-misconfig", "svc/q4/web", {"service-no-endpoints", "service-port-mismatch"}),
    ("workshop/q05-statefulset-pvc-full", "pod/q5/db-0", {"statefulset-pvc-full"}),
    ("workshop/q06-configmap-subpath", "deploy/q6/app", {"configmap-not-updated"}),
    ("workshop/q07-hpa-no-metrics", "hpa/q7/php-apache", {"hpa-not-scaling"}),
    ("workshop/q08-rwo-two-deployments", "pvc/q8/shared-data", {"rwo-multi-attach"}),
    ("workshop/q09-servicemonitor-not-selected", "svc/q9/api", {"servicemonitor-ignored"}),
]

CATALOG = load_dirs([])
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\b\d+[smhd](\d+[sm])?\b")


def normalise(lines: tuple[str, ...] | list[str]) -> list[str]:
    """The simulator moves scenario time to now; compare evidence without absolute times and ages."""
    return [_TIME.sub("<t>", line) for line in lines]


def snapshot_deps(name: str) -> Deps:
    kube = SnapshotKube([Path(p) for p in load(name).sources])
    return Deps(kube=kube, catalog=CATALOG, clock=kube.clock)


@pytest.mark.parametrize("scenario,target,expected", WORKSHOP_CASES, ids=[c[0] for c in WORKSHOP_CASES])
def test_live_and_snapshot_find_the_same_causes(start_sim, scenario: str, target: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim(scenario, timeline_mode="manual")
    live = asyncio.run(
        diagnose(parse_target(target), Deps(kube=LiveKube(build_api_client(str(sim.kubeconfig))), catalog=CATALOG))
    )
    offline = asyncio.run(diagnose(parse_target(target), snapshot_deps(scenario)))
    live_ids = [f.id for f in live.findings]
    assert expected <= set(live_ids), live_ids
    assert live_ids == [f.id for f in offline.findings]
    assert [normalise(f.evidence) for f in live.findings] == [normalise(f.evidence) for f in offline.findings]
    for finding in live.findings:
        assert finding.evidence, f"{finding.id} has no evidence"
        assert finding.fixes and all(f.command and f.risk for f in finding.fixes)


def test_healthy_targets_have_no_findings_and_say_so(start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("healthy")
    scenario = load("healthy")
    kube = LiveKube(build_api_client(str(sim.kubeconfig)))
    for exp in scenario.expect:
        report = asyncio.run(diagnose(parse_target(exp.target), Deps(kube=kube, catalog=CATALOG)))
        assert report.findings == [], (exp.target, [f.id for f in report.findings])
        assert report.healthy


def test_oom_diagnosis_names_limit_evidence_and_fix() -> None:
    report = asyncio.run(diagnose(parse_target("pod/q1/app-7d4b9c6f5-x2x7k"), snapshot_deps("workshop/q01-app-crash")))
    oom = next(f for f in report.findings if f.id == "oom-killed")
    assert "OOMKilled" in " ".join(oom.evidence) and "exitCode=137" in " ".join(oom.evidence)
    assert any("--limits=memory" in f.command for f in oom.fixes)
    assert report.findings[0].severity == "critical"


def test_secrets_and_tokens_are_never_printed(tmp_path: Path) -> None:
    (tmp_path / "leaky.yaml").write_text("""
apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: leaky}
logs:
  default/leaky/app:
    previous: "connecting with password=hunter22 and Authorization: Bearer abcdefghijklmnop.qrstuvwx\\nfatal: boom\\n"
---
apiVersion: v1
kind: Pod
metadata: {name: leaky, namespace: default}
spec:
  containers:
  - name: app
    image: app:1
    env: [{name: DB_PASSWORD, value: s3cr3t-value}]
status:
  phase: Running
  containerStatuses:
  - name: app
    restartCount: 3
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState:
      terminated: {exitCode: 1, reason: Error, startedAt: "2024-06-14T09:58:00Z", finishedAt: "2024-06-14T09:59:00Z"}
""")
    kube = SnapshotKube([tmp_path / "leaky.yaml"])
    report = asyncio.run(diagnose(parse_target("leaky"), Deps(kube=kube, catalog=CATALOG, clock=kube.clock)))
    text = json.dumps(report.to_dict())
    assert "app-crash" in [f.id for f in report.findings]
    assert "fatal: boom" in text
    for secret in ("hunter22", "abcdefghijklmnop", "s3cr3t-value"):
        assert secret not in text


USER_PLAYBOOK = """
id: legacy-image
title: Pod runs a deprecated base image
applies_to: [Pod]
stage: pod
severity: warning
symptom: target.spec.containers.exists(c, c.image.contains("nginx:1.14"))
checks:
  - id: node
    use: node
    with: {of: "{{ target }}"}
when: "true"
summary: "{{ target.metadata.name }} runs nginx 1.14 on {{ node == null ? 'no node' : node.metadata.name }}"
evidence:
  - "image: {{ target.spec.containers[0].image }}"
fixes:
  - title: Upgrade the image
    command: kubectl set image pod/{{ target.metadata.name }} web=nginx:1.27
    risk: low
apiVersion: kubewhy.io/v1
"""


def test_user_playbook_directory_and_broken_one(tmp_path: Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    scen = tmp_path / "legacy.yaml"
    scen.write_text("""apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {conditions: [{type: Ready, status: "True", reason: KubeletReady, message: ok}]}
---
apiVersion: v1
kind: Pod
metadata: {name: old-web, namespace: default}
spec: {nodeName: node-1, containers: [{name: web, image: "nginx:1.14"}]}
status:
  phase: Running
  containerStatuses: [{name: web, ready: true, restartCount: 0, state: {running: {startedAt: "2024-06-14T09:00:00Z"}}}]
""")
    pbdir = tmp_path / "playbooks"
    pbdir.mkdir()
    (pbdir / "legacy.yaml").write_text(USER_PLAYBOOK)
    (pbdir / "broken.yaml").write_text(
        USER_PLAYBOOK.replace("legacy-image", "broken").replace("stage: pod", "stage: x")
    )
    sim = start_sim(scen)
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig)}
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", "old-web", "--playbooks", str(pbdir), "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [f["id"] for f in report["findings"]] == ["legacy-image"]
    assert report["findings"][0]["summary"] == "old-web runs nginx 1.14 on node-1"
    assert f"{pbdir / 'broken.yaml'}:5" in proc.stderr  # reported with file and line, the rest still ran


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubewhy", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_cli_snapshot_and_kubeconfig_give_the_same_json(start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("workshop/q01-app-crash")
    files = sum((["--snapshot", p] for p in load("workshop/q01-app-crash").sources), [])
    a = run_cli("why", "pod/q1/app-7d4b9c6f5-x2x7k", *files, "-o", "json")
    b = run_cli("why", "pod/app-7d4b9c6f5-x2x7k", "-n", "q1", "--kubeconfig", str(sim.kubeconfig), "-o", "json")
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["target"] == jb["target"] == {"kind": "Pod", "namespace": "q1", "name": "app-7d4b9c6f5-x2x7k"}

    def strip(r: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: f[k] for k in ("id", "title", "severity", "summary", "evidence", "fixes")} for f in r["findings"]]

    assert [{**f, "evidence": normalise(f["evidence"]), "summary": normalise([f["summary"]])} for f in strip(ja)] == [
        {**f, "evidence": normalise(f["evidence"]), "summary": normalise([f["summary"]])} for f in strip(jb)
    ]
    assert {c["status"] for c in jb["checks"]} <= {"ok", "failed", "skipped", "error", "timeout"}
    assert all("duration_ms" in c and "id" in c for c in jb["checks"])
    assert isinstance(jb["duration_ms"], float)


def test_cli_exit_codes_and_messages(start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("workshop/q01-app-crash")
    kc = ["--kubeconfig", str(sim.kubeconfig)]
    missing = run_cli("why", "pod/q1/app-7d4b9c6f5-x2x7", *kc)
    assert missing.returncode == 3 and "did you mean: app-7d4b9c6f5-x2x7k" in missing.stderr
    assert run_cli("why", "pod/Bad_Name", *kc).returncode == 2
    assert run_cli("why", "gadget/x", *kc).returncode == 2
    assert run_cli("why", *kc).returncode == 2
    sim.reset_stats()
    run_cli("why", "pod/Bad;name", *kc)
    assert sum(sim.stats().values()) == 0  # names are validated before any API call
    down = run_cli("why", "pod/x", "--kubeconfig", str(write_dead_kubeconfig(sim.kubeconfig)))
    assert down.returncode == 4
    assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in down.stderr and "Traceback" not in down.stderr
    healthy = run_cli("why", "node/node-1", *kc)
    assert healthy.returncode == 0 and "No problems found" in healthy.stdout


def write_dead_kubeconfig(path: Path) -> Path:
    dead = path.with_name("dead.kubeconfig")
    dead.write_text(path.read_text().replace(path.read_text().split("server: ")[1].split()[0], "http://127.0.0.1:9"))
    return dead


def test_kubectl_plugin(tmp_path: Path, start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("workshop/q05-statefulset-pvc-full")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    plugin = bindir / "kubectl-why"
    plugin.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import sys; from kubewhy.cli import kubectl_plugin_main; "
        f'sys.exit(kubectl_plugin_main())\' "$@"\n'
    )
    plugin.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "KUBECONFIG": str(sim.kubeconfig)}
    proc = subprocess.run(["kubectl", "why", "db-0", "-n", "q5"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "statefulset-pvc-full" in proc.stdout and "No space left on device" in proc.stdout


def test_unreachable_prometheus_is_reported_not_fatal() -> None:
    from kubewhy.adapters.prom import PromMetrics

    deps = snapshot_deps("workshop/q01-app-crash")
    deps.prom = PromMetrics("http://127.0.0.1:9", timeout=2)
    report = asyncio.run(diagnose(parse_target("pod/q1/app-7d4b9c6f5-x2x7k"), deps))
    assert {"oom-killed", "liveness-throttled"} <= {f.id for f in report.findings}
    prom_checks = [c for c in report.checks if c.id == "liveness-throttled.throttling"]
    assert prom_checks and prom_checks[0].status == "error"
    assert "http://127.0.0.1:9" in prom_checks[0].detail


def test_cascade_is_ranked_root_cause_first() -> None:
    """Seed 002: evicted ← node NotReady ← SystemOOM ← a pod without limits; the root leads, whatever its severity."""
    path = Path(__file__).resolve().parents[2] / "kubesim" / "scenarios" / "catalogue" / "seed-002-cascade.yaml"
    kube = SnapshotKube([path])
    report = asyncio.run(
        diagnose(parse_target("pod/shop/shop-api-sbqtkhdv7x-5xw9d"), Deps(kube=kube, catalog=CATALOG, clock=kube.clock))
    )
    ids = [f.id for f in report.findings]
    assert ids[:4] == ["no-limits", "node-system-oom", "node-not-ready", "evicted"], ids
    evicted = report.findings[3]
    assert set(evicted.caused_by) >= {"node-not-ready", "node-system-oom"}


def test_a_bare_name_uses_the_namespace_of_the_kubeconfig_context(start_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As kubectl does: `kubewhy why NAME` looks in the current context's namespace, or in --context's."""
    import yaml

    sim = start_sim("workshop", timeline_mode="manual")
    config = yaml.safe_load(sim.kubeconfig.read_text())
    base = config["contexts"][0]
    config["contexts"] = [
        {"name": "q1", "context": {**base["context"], "namespace": "q1"}},
        {"name": "q5", "context": {**base["context"], "namespace": "q5"}},
    ]
    config["current-context"] = "q1"
    kc = tmp_path / "ns.kubeconfig"
    kc.write_text(yaml.safe_dump(config))
    found = run_cli("why", "app-7d4b9c6f5-x2x7k", "--kubeconfig", str(kc), "--no-audit", "-o", "json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["target"]["namespace"] == "q1"
    other = run_cli("why", "app-7d4b9c6f5-x2x7k", "--kubeconfig", str(kc), "--context", "q5", "--no-audit")
    assert other.returncode == 3 and "namespace q5" in other.stderr, other.stderr
