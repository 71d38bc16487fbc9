"""The installed ``k8stui --demo`` in a real terminal (tmux): it starts, shows the workshop's problems, and ``w`` on
a crashing pod shows its cause. Skipped only where tmux cannot be installed (scripts/services installs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios import KUBELET_SAMPLE
from tests.waiting import until_sync

K8STUI = Path(sys.executable).parent / "k8stui"

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not K8STUI.exists(),
    reason="needs tmux (scripts/services installs it) and the installed k8stui",
)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[str]:
    name = f"k8stui-{uuid.uuid4().hex[:8]}"
    env = {
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        **KUBELET_SAMPLE,
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    tmux(
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "160",
        "-y",
        "50",
        f"env {exports} {K8STUI} --demo; echo K8STUI-EXITED $?; sleep 60",
    )
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=30)


def screen_with(name: str, *needles: str, timeout: float = 60.0) -> str:
    """The pane's text once it holds every needle (polled: the app and the simulator run in real time)."""
    text = ""

    def shown() -> bool:
        nonlocal text
        text = tmux("capture-pane", "-p", "-t", name)
        if all(n in text for n in needles):
            return True
        assert "K8STUI-EXITED" not in text, text  # it ended before showing them
        return False

    until_sync(shown, timeout=timeout, interval=0.1, what=f"the terminal to show {needles}", detail=lambda: text)
    return text


def test_demo_starts_shows_the_problems_and_why(pane: str) -> None:
    home = screen_with(pane, "Troubled pods", "app-7d4b9c6f5-x2x7k", "node-3")
    assert "CrashLoopBackOff" in home and "NotReady" in home and "q8" in home
    tmux("send-keys", "-t", pane, "w")  # the cursor starts on the first troubled pod: q1's crashing app
    why = screen_with(pane, "why pod/q1/app-7d4b9c6f5-x2x7k", "1. CRITICAL", "finding(s)")
    assert "Liveness probe misses its timeout" in why and "CPU limit" in why
    tmux("send-keys", "-t", pane, "Escape")
    screen_with(pane, "Troubled pods")
    tmux("send-keys", "-t", pane, "Escape")  # Esc on home does not quit
    tmux("send-keys", "-t", pane, ":q", "Enter")
    assert "K8STUI-EXITED 0" in screen_with(pane, "K8STUI-EXITED")
