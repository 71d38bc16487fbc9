"""``kubectl exec`` against the simulator over WebSocket (``v5.channel.k8s.io``, kubectl 1.30+): a command runs in
the container's scripted shell and its output, stderr and exit code come back as from a real one."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from kubesim.runner import RunningSim
from tests.conftest import kubectl_binaries, run_kubectl

WEBSOCKET_KUBECTLS = [k for k in kubectl_binaries() if not any(f"1.{v}" in k for v in (27, 28, 29))]
POD = ["-n", "q1", "app-7d4b9c6f5-x2x7k"]

pytestmark = pytest.mark.skipif(not WEBSOCKET_KUBECTLS, reason="needs kubectl 1.30+ (WebSocket exec)")


@pytest.fixture
def workshop(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim("workshop", timeline_mode="manual")


def test_exec_runs_a_command_and_returns_its_output(workshop: RunningSim) -> None:
    proc = run_kubectl(workshop, "exec", *POD, "-c", "app", "--", "echo", "hello", "from", "the", "pod")
    assert proc.stdout == "hello from the pod\n"
    assert run_kubectl(workshop, "exec", *POD, "--", "hostname").stdout == "app-7d4b9c6f5-x2x7k\n"


def test_exec_reports_the_exit_code_and_stderr(workshop: RunningSim) -> None:
    proc = run_kubectl(workshop, "exec", *POD, "--", "nosuchcommand", check=False)
    assert proc.returncode == 127 and "sh: nosuchcommand: not found" in proc.stderr


def test_exec_shell_reads_commands_from_stdin(workshop: RunningSim) -> None:
    exe = WEBSOCKET_KUBECTLS[-1]
    proc = subprocess.run(
        [exe, "--kubeconfig", str(workshop.kubeconfig), "exec", "-i", *POD, "--", "sh"],
        input="echo one\nprintenv HOSTNAME\nexit 3\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout == "one\napp-7d4b9c6f5-x2x7k\n" and proc.returncode == 3, proc.stderr
