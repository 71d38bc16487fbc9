"""A real Prometheus over back-filled scenario history (session-scoped), and the scenarios the tests use.

Skipped, with the reason, only when the ``prometheus``/``promtool`` binaries are missing (``scripts/services``
installs Debian's package). Nothing is mocked: queries go to the real server over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubesim import prometheus as promserver
from kubesim.prometheus import RunningPrometheus
from tests.prometheus.promcases import load_scenario


@pytest.fixture(scope="session")
def prometheus_binaries() -> tuple[str, str]:
    found = promserver.binaries()
    if found is None:
        pytest.skip("prometheus/promtool not installed (Debian package `prometheus`; run scripts/services)")
    return found


@pytest.fixture(scope="session")
def prometheus_for(
    prometheus_binaries: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], RunningPrometheus]]:
    """``prometheus_for(scenario)``: one real Prometheus per scenario, over its back-filled last hour."""
    running: dict[str, RunningPrometheus] = {}

    def get(name: str) -> RunningPrometheus:
        if name not in running:
            workdir = tmp_path_factory.mktemp("prom-" + Path(name).stem)
            running[name] = promserver.serve_scenario_history(load_scenario(name), workdir, ahead=900)
        return running[name]

    yield get
    for server in running.values():
        server.stop()
