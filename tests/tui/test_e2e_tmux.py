"""The installed ``k8stui --demo`` in a real terminal (tmux): it starts, shows the workshop's problems, ``w`` on a
crashing pod shows its cause, and the documented keys are walked — filter and command bursts, describe, YAML,
logs, events, and scale, rollout restart and edit (``$EDITOR``), each confirmed and leaving audit rows. Skipped
only where tmux cannot be installed (scripts/services installs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import kubectl_binaries
from tests.scenarios import KUBELET_SAMPLE
from tests.waiting import until_sync

K8STUI = Path(sys.executable).parent / "k8stui"

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not K8STUI.exists(),
    reason="needs tmux (scripts/services installs it) and the installed k8stui",
)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def has_session(name: str) -> bool:
    try:
        return subprocess.run(["tmux", "has-session", "-t", name], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_session(name: str, *args: str, attempts: int = 5) -> None:
    """``tmux new-session``, tried again when it fails or times out before the session exists: under heavy load
    the tmux server's start can lose a race (it once did). A session that exists is never started twice."""
    for attempt in range(attempts):
        try:
            tmux("new-session", "-d", "-s", name, *args)
            return
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            if has_session(name):
                return
            if attempt == attempts - 1:
                detail = getattr(exc, "stderr", "") or ""
                raise AssertionError(f"tmux new-session failed {attempts} times: {exc} {detail}") from exc
            time.sleep(0.5 * (attempt + 1))  # a back-off, not a measurement


def capture(name: str) -> str:
    """The pane's text; a capture that times out under load is asked again (reading the pane changes nothing)."""
    for _ in range(3):
        try:
            return tmux("capture-pane", "-p", "-t", name)
        except subprocess.TimeoutExpired:
            continue
    return tmux("capture-pane", "-p", "-t", name)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[str]:
    name = f"k8stui-{uuid.uuid4().hex[:8]}"
    editor = tmp_path / "editor.sh"  # $EDITOR: sets the edited Deployment's replicas to 4
    editor.write_text("#!/bin/sh\nsed -i -e 's/^  replicas: .*/  replicas: 4/' \"$1\"\n")
    editor.chmod(0o755)
    env = {
        "EDITOR": str(editor),
        # the shell key runs $KUBECTL exec -it over WebSocket (kubectl 1.30+; the version dispatcher on PATH
        # would pick one matching the simulator's server version, 1.28, which speaks only SPDY)
        "KUBECTL": (kubectl_binaries() or ["kubectl"])[-1],
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        **KUBELET_SAMPLE,
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    start_session(
        name,
        "-x",
        "160",
        "-y",
        "50",
        f"env -u COLUMNS -u LINES {exports} {K8STUI} --demo; echo K8STUI-EXITED $?; sleep 60",
    )
    # the pane is this size whatever tmux server runs it (COLUMNS and LINES, unset above, would override it)
    tmux("resize-window", "-t", name, "-x", "160", "-y", "50")
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=30)


def screen_with(name: str, *needles: str, timeout: float = 60.0) -> str:
    """The pane's text once it holds every needle (polled: the app and the simulator run in real time)."""
    text = ""

    def shown() -> bool:
        nonlocal text
        text = capture(name)
        if all(n in text for n in needles):
            return True
        assert "K8STUI-EXITED" not in text, text  # it ended before showing them
        return False

    until_sync(shown, timeout=timeout, interval=0.1, what=f"the terminal to show {needles}", detail=lambda: text)
    return text


def keys(name: str, *typed: str) -> None:
    for k in typed:
        tmux("send-keys", "-t", name, *(["-l", k] if len(k) == 1 or not k[0].isupper() else [k]))


def confirm_and_apply(name: str, obj: str, *needles: str) -> None:
    """The confirmation names the object and shows the dry run; ``y`` applies and closes it."""
    screen_with(name, f"Object: Deployment {obj}", "dry run accepted", *needles)
    keys(name, "y")
    until_sync(
        lambda: "Object: Deployment" not in capture(name),
        timeout=60,
        interval=0.1,
        what="the confirmation to close",
    )


def test_demo_walks_the_documented_keys(pane: str) -> None:
    screen_with(pane, "Troubled pods", "svc/q4/web", "hpa/q7/php-apache")  # home: the problems, looked over
    keys(pane, ":deploy", "Enter")  # typed in one burst
    screen_with(pane, "deployments", "writer-b")
    keys(pane, "/", "[a-", "Enter")  # a bracket in the filter: shown, never a crash
    screen_with(pane, "/[a-", "not a regex")
    keys(pane, "Escape")
    keys(pane, "/writer-b", "Enter")
    screen_with(pane, "1 of ", "/writer-b")
    keys(pane, "z")
    screen_with(pane, "Scale deploy/q8/writer-b")
    keys(pane, "3", "Enter")
    confirm_and_apply(pane, "q8/writer-b")
    screen_with(pane, "writer-b  1/3")
    keys(pane, "r")
    confirm_and_apply(pane, "q8/writer-b")
    keys(pane, "E")  # $EDITOR runs in the terminal (App.suspend), then the diff and the dry run
    confirm_and_apply(pane, "q8/writer-b", "+  replicas: 4")
    screen_with(pane, "writer-b  1/4")
    keys(pane, ":history", "Enter")
    history = screen_with(pane, "fix_event", "applied: Scale deploy/q8/writer-b to 3", "applied: Rollout restart")
    assert "applied: Edit deploy/q8/writer-b" in history and "dry-run: Edit" in history, history
    keys(pane, "Escape")
    screen_with(pane, "Troubled pods")  # history was opened over home: Esc leads back to it
    keys(pane, ":pods", "Enter")
    screen_with(pane, "29 of 29 pods", "app-7d4b9c6f5-x2x7k")
    keys(pane, "/x2x7k", "Enter")  # in one burst: Enter ends the filter as it is read
    screen_with(pane, "1 of 29 pods  ·  /x2x7k")
    keys(pane, "d")
    screen_with(pane, "Controlled By:", "Restart Count:", "Liveness:")
    for key, needles in (
        ("y", ("apiVersion", "name: app-7d4b9c6f5-x2x7k")),
        ("e", ("events of pod/q1/app-7d4b9c6f5-x2x7k",)),
        ("p", ("previous logs pod/q1/app-7d4b9c6f5-x2x7k", "container app")),
        ("w", ("why pod/q1/app-7d4b9c6f5-x2x7k", "1. CRITICAL")),
    ):
        keys(pane, "Escape")  # back to the filtered list, then the next view of the same pod
        screen_with(pane, "1 of 29 pods")
        keys(pane, key)
        screen_with(pane, *needles)
    keys(pane, "Escape")
    screen_with(pane, "1 of 29 pods")
    keys(pane, "x")  # a shell: kubectl exec -it over WebSocket, the terminal handed over; the simulator's shell
    assert "1 of 29 pods" not in screen_with(pane, "#")  # the shell's prompt, k8stui suspended
    keys(pane, "echo hello-from-the-pod", "Enter")
    screen_with(pane, "# echo hello-from-the-pod\nhello-from-the-pod\n#")  # the command ran in the container
    keys(pane, "exit", "Enter")  # back in k8stui
    screen_with(pane, "1 of 29 pods")
    keys(pane, "Escape")  # clears the filter
    screen_with(pane, "29 of 29 pods")
    keys(pane, "Escape")  # back to home
    screen_with(pane, "Troubled pods")
    keys(pane, "Escape")  # Esc on home does not quit
    keys(pane, ":q", "Enter")
    assert "K8STUI-EXITED 0" in screen_with(pane, "K8STUI-EXITED")


def test_demo_starts_shows_the_problems_and_why(pane: str) -> None:
    home = screen_with(pane, "Troubled pods", "app-7d4b9c6f5-x2x7k", "node-3")
    assert "CrashLoopBackOff" in home and "NotReady" in home and "q8" in home
    # the demo runs the watchers in-process: their incidents are under "Open incidents" (the ledger's W-refs)
    from datetime import UTC, datetime

    screen_with(pane, f"W-{datetime.now(UTC):%Y%m%d}-", "node/node-3", timeout=180.0)  # the watchers' first pass
    tmux("send-keys", "-t", pane, "w")  # the cursor starts on the first troubled pod: q1's crashing app
    why = screen_with(pane, "why pod/q1/app-7d4b9c6f5-x2x7k", "1. CRITICAL", "finding(s)")
    assert "Liveness probe misses its timeout" in why and "CPU limit" in why
    tmux("send-keys", "-t", pane, "Escape")
    screen_with(pane, "Troubled pods")
    tmux("send-keys", "-t", pane, "Escape")  # Esc on home does not quit
    tmux("send-keys", "-t", pane, ":q", "Enter")
    assert "K8STUI-EXITED 0" in screen_with(pane, "K8STUI-EXITED")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_port_forward_and_delete_with_audit_rows(pane: str) -> None:
    import urllib.request

    screen_with(pane, "Troubled pods")
    keys(pane, ":pods", "Enter")
    screen_with(pane, "29 of 29 pods")
    keys(pane, "/web-84c6", "Enter")
    screen_with(pane, "1 of 29 pods")
    keys(pane, "F")  # port-forward, in-process over the WebSocket protocol (v4.channel.k8s.io)
    screen_with(pane, "Port-forward pod/q4/web-84c6d6f7b9-4bxv5", "container ports: 8080")
    port = free_port()
    keys(pane, f"{port}:8080", "Enter")
    screen_with(pane, f"127.0.0.1:{port}")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/through-the-forward", timeout=20) as r:
        body = r.read().decode()
    assert body == "kubesim stub: pod q4/web-84c6d6f7b9-4bxv5 port 8080 GET /through-the-forward\n", body
    keys(pane, "Escape")  # clears the filter
    keys(pane, "/q7 load", "Enter")
    screen_with(pane, "1 of 29 pods  ·  /q7 load")
    keys(pane, "C-d")  # delete: the confirmation names the object and shows the server-side dry run
    screen_with(pane, "Object: Pod q7/load-generator", "deletion of pod q7/load-generator would be accepted")
    keys(pane, "y")
    screen_with(pane, "0 of 28 pods")
    # marks (k9s's keys): space marks, ctrl+\ clears, ctrl+space marks a range; r restarts every marked Deployment
    keys(pane, ":deploy", "Enter")
    screen_with(pane, "deployments", "writer-b")
    keys(pane, "/writer", "Enter")
    screen_with(pane, "2 of ", "/writer")
    keys(pane, " ", "Down", " ")
    screen_with(pane, "2 marked")
    keys(pane, "C-\\")
    until_sync(lambda: "marked" not in capture(pane), timeout=60, interval=0.1, what="the marks cleared")
    keys(pane, "g", " ", "Down", "C-Space")  # mark the top row, then the range down to the cursor
    screen_with(pane, "2 marked")
    keys(pane, "r")  # one confirmation naming both, each dry-run server-side
    screen_with(
        pane,
        "Rollout restart — 2 marked objects",
        "Object: Deployment q8/writer-a",
        "Object: Deployment q8/writer-b",
        "2 of 2 dry runs accepted",
    )
    keys(pane, "y")
    screen_with(pane, "2 of ", "/writer")
    until_sync(lambda: "marked" not in capture(pane), timeout=60, interval=0.1, what="the marks cleared once applied")
    # the health by namespace (k9s's :pulses), counted by the core; Enter opens the namespace's pods
    keys(pane, ":pulses", "Enter")
    overview = screen_with(pane, "overview: health by namespace", "NOT READY", "INCIDENTS", "WARNINGS", "troubled")
    lines = overview.splitlines()
    header = next((i for i, line in enumerate(lines) if line.split()[:2] == ["NAMESPACE", "PODS"]), None)
    assert header is not None and header + 1 < len(lines), overview
    worst = lines[header + 1].split()[0]  # the most troubled namespace comes first
    keys(pane, "Enter")
    screen_with(pane, f"·  {worst}  ·  Pod", "pods")
    keys(pane, ":ns all", "Enter")
    screen_with(pane, "all namespaces  ·  Pod")  # the list opened again, for all namespaces
    keys(pane, ":history", "Enter")
    history = screen_with(
        pane,
        "applied: Delete pod/q7/load-generator",
        "port forward",
        "applied: Rollout restart deploy/q8/writer-a",
        "applied: Rollout restart deploy/q8/writer-b",
    )
    assert "dry-run: Delete pod/q7/load-generator" in history and "approved: Delete pod/q7" in history, history
    keys(pane, "Escape")
    keys(pane, ":q", "Enter")
    assert "K8STUI-EXITED 0" in screen_with(pane, "K8STUI-EXITED")


def test_demo_any_kind_streamed_logs_and_changes(pane: str) -> None:
    screen_with(pane, "Troubled pods")
    keys(pane, ":ds", "Enter")  # any kind from discovery, with the server's Table columns
    screen_with(pane, "daemonsets.apps", "calico-node", "NODE SELECTOR")
    keys(pane, ":smon", "Enter")  # a CRD by its short name
    screen_with(pane, "servicemonitors.monitoring.coreos.com", "kube-prometheus-stack-kubelet")
    keys(pane, ":deploy", "Enter")
    screen_with(pane, "deployments", "writer-b")
    keys(pane, "/coredns", "Enter")
    screen_with(pane, "1 of ", "/coredns")
    keys(pane, "l")  # a workload's pods, streamed and merged
    screen_with(pane, "logs deploy/kube-system/coredns", "2 pods", "following")
    keys(pane, "w")
    screen_with(pane, "wrapped")
    keys(pane, "s")
    screen_with(pane, "Logs since")
    keys(pane, "5m", "Enter")
    screen_with(pane, "since 300s ago")
    keys(pane, "c")
    screen_with(pane, "(all containers)", "coredns")
    keys(pane, "Escape", "Escape")
    screen_with(pane, "1 of ", "/coredns")
    keys(pane, ":changes deploy/q1/app 2h", "Enter")  # the core's change timeline
    screen_with(pane, "What changed around deploy/q1/app", "revision 1")
    keys(pane, "Escape")
    keys(pane, ":q", "Enter")
    assert "K8STUI-EXITED 0" in screen_with(pane, "K8STUI-EXITED")
