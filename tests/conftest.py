"""Shared fixtures: simulators over real HTTP on port 0, and the real kubectl against them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim.runner import RunningSim, run_in_thread
from kubesim.server import SimOptions
from tests.scenarios import scenario_copy

DATA = Path(__file__).parent / "kubesim" / "data"
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")


def kubectl_binaries() -> list[str]:
    """The kubectl versions on this machine (kubectl.1.27 ... kubectl.1.33), else the one on PATH."""
    found = sorted(str(p) for p in KUBECTL_DIR.glob("kubectl.1.*")) if KUBECTL_DIR.is_dir() else []
    if not found and shutil.which("kubectl"):
        found = [shutil.which("kubectl") or "kubectl"]
    return found


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., RunningSim]]:
    started: list[RunningSim] = []

    def start(scenario: str | Path, **options: Any) -> RunningSim:
        sc = scenario_copy(scenario)
        history = int(options.pop("history_size", 20_000))
        sim = run_in_thread(
            sc, SimOptions(**options), kubeconfig_out=tmp_path / f"sim{len(started)}.kubeconfig", history_size=history
        )
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def mini(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim(DATA / "mini.yaml", timeline_mode="manual")


def run_kubectl(
    sim: RunningSim, *args: str, binary: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    exe = binary or (kubectl_binaries() or ["kubectl"])[-1]
    proc = subprocess.run([exe, "--kubeconfig", str(sim.kubeconfig), *args], capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


@pytest.fixture(autouse=True, scope="session")
def _audit_database_out_of_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``kubewhy why`` records each diagnosis and caches compiled playbooks: tests (and their subprocesses) use
    temporary data and cache directories."""
    import os

    saved = {
        k: os.environ.get(k)
        for k in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "KUBEWHY_DATABASE_URL", "KUBEWHY_AUDIT_FALLBACK")
    }
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))  # the playbook compile cache
    os.environ.pop("KUBEWHY_DATABASE_URL", None)
    os.environ.pop("KUBEWHY_AUDIT_FALLBACK", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
