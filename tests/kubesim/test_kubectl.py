"""The real kubectl (every version on this machine) against the simulator prints what a cluster would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from tests.conftest import kubectl_binaries, run_kubectl
from tests.waiting import until_sync

KUBECTLS = kubectl_binaries()
pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(not KUBECTLS, reason="kubectl is not installed")]


@pytest.mark.parametrize("binary", KUBECTLS, ids=[Path(b).name for b in KUBECTLS])
def test_get_pods_all_namespaces_every_kubectl_version(mini: RunningSim, binary: str) -> None:
    out = run_kubectl(mini, "get", "pods", "-A", binary=binary).stdout
    header, *rows = out.strip().splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    web1 = next(r for r in rows if " web-1 " in r)
    assert re.search(r"default\s+web-1\s+0/1\s+CrashLoopBackOff\s+5 \(\d+m\d*s? ago\)\s+30m", web1), web1
    assert re.search(r"jobs\s+batch-1\s+0/1\s+Completed\s+0\s+", out)


def test_describe_pod_shows_state_limits_and_events(mini: RunningSim) -> None:
    out = run_kubectl(mini, "describe", "pod", "web-1").stdout
    assert re.search(r"State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff", out)
    assert re.search(r"Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137", out)
    assert re.search(r"Restart Count:\s+5", out)
    assert re.search(r"Warning\s+BackOff\s+\S+ \(x12 over 20m\)\s+kubelet\s+Back-off restarting failed container", out)


def test_logs_previous_and_tail(mini: RunningSim) -> None:
    assert run_kubectl(mini, "logs", "web-1", "--previous").stdout == "boom 1\nboom 2\nKilled\n"
    assert run_kubectl(mini, "logs", "web-1", "--tail=2").stdout == "line2\nline3\n"
    failed = run_kubectl(mini, "logs", "web-2", "--previous", check=False)
    assert failed.returncode != 0 and "previous terminated container" in failed.stderr


def test_get_events_with_field_selector(mini: RunningSim) -> None:
    out = run_kubectl(mini, "get", "events", "--field-selector", "involvedObject.name=web-1").stdout
    header, *rows = out.strip().splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(rows) == 1 and "pod/web-1" in rows[0] and "BackOff" in rows[0]
    none = run_kubectl(mini, "get", "events", "--field-selector", "involvedObject.name=nothing").stderr
    assert "No resources found" in none


def test_patch_dry_run_server_changes_nothing(mini: RunningSim) -> None:
    out = run_kubectl(
        mini,
        "patch",
        "pod",
        "web-2",
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"x":"y"}}}',
        "--dry-run=server",
        "-o",
        "jsonpath={.metadata.labels.x}",
    ).stdout
    assert out == "y"
    assert run_kubectl(mini, "get", "pod", "web-2", "-o", "jsonpath={.metadata.labels.x}").stdout == ""
    run_kubectl(mini, "label", "pod", "web-2", "x=z")
    assert run_kubectl(mini, "get", "pod", "web-2", "-o", "jsonpath={.metadata.labels.x}").stdout == "z"


def test_wide_output_custom_resources_and_top_without_metrics(mini: RunningSim) -> None:
    wide = run_kubectl(mini, "get", "pods", "-o", "wide").stdout
    assert "NODE" in wide.splitlines()[0] and "node-1" in wide
    assert "web" in run_kubectl(mini, "get", "servicemonitors").stdout
    top = run_kubectl(mini, "top", "pods", check=False)
    assert top.returncode != 0 and "Metrics API not available" in top.stderr


def test_top_pods_when_metrics_server_is_present(start_sim) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("healthy")
    out = run_kubectl(sim, "top", "pods", "-A").stdout
    header, *rows = out.strip().splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert rows and all(re.search(r"\d+m\s+\d+Mi$", r.strip()) for r in rows)
    nodes = run_kubectl(sim, "top", "nodes").stdout
    assert re.search(r"CPU\(?%\)?", nodes.splitlines()[0]) and "node-1" in nodes


def test_kubewhy_sim_serve_then_kubectl_as_a_new_user(tmp_path: Path) -> None:
    """The README's path: start the workshop scenario, then list its pods with kubectl."""
    kubeconfig = tmp_path / "workshop.kubeconfig"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubewhy",
            "sim",
            "serve",
            "--scenario",
            "workshop",
            "--port",
            "0",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "serving scenario 'workshop'" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        until_sync(kubeconfig.exists, timeout=10, what="the kubeconfig it writes")
        out = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "get", "pods", "-A"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        namespaces = {row.split()[0] for row in out.stdout.splitlines()[1:]}
        assert {"kube-system", "q1", "q5", "q8"} <= namespaces
        assert "CrashLoopBackOff" in out.stdout and "ContainerCreating" in out.stdout
        nodes = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes"], capture_output=True, text=True, timeout=60
        ).stdout
        assert re.search(r"node-3\s+NotReady", nodes)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
