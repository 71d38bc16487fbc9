"""k8stui against the simulator over real HTTP: an app on the workshop cluster, driven by Textual's Pilot."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches

from kubesim.runner import RunningSim
from kubewhy.settings import Flags, load
from tests.scenarios import KUBELET_SAMPLE
from tui.app import K8sTui
from tui.data import Session

SIZE = (160, 48)


@pytest.fixture
def workshop(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim("workshop", timeline_mode="manual")


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., K8sTui]:
    def make(
        sim: RunningSim | None = None,
        *,
        kubeconfig: Path | None = None,
        snapshot: list[str] | None = None,
        start: str = "home",
        namespace: str | None = None,
        **flags: Any,
    ) -> K8sTui:
        env = {
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],  # the session's: playbooks compiled once, not per test
            "USER": "tester",
            **KUBELET_SAMPLE,
        }
        settings = load(
            env,
            Flags(
                kubeconfig=str(sim.kubeconfig if sim else kubeconfig) if sim or kubeconfig else None,
                snapshot=snapshot or [],
                database_url=f"sqlite:///{tmp_path / 'audit.db'}",
                **flags,
            ),
        )
        return K8sTui(Session(settings), start=start, namespace=namespace)

    return make


async def until(pilot: Any, condition: Callable[[], bool], what: str, tries: int = 1200) -> None:
    """Let the app run until ``condition`` holds (the cluster answers over HTTP; no wall-clock assertion)."""
    for _ in range(tries):
        try:
            if condition():
                return
        except NoMatches:  # the screen is not composed yet
            pass
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")
