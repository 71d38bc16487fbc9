"""A real Prometheus for a scenario: its back-filled last hour, served on a free loopback port.

``kubewhy eval --prometheus auto`` and the tests use this, so metric playbooks (cpu-throttling,
memory-near-limit, pvc-filling) are proven through the real HTTP API, never a mock.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from kubesim import prometheus as promserver
from kubesim.history import has_usage
from kubesim.scenario import Scenario
from kubewhy.adapters.prom import PromMetrics

AUTO, OFF = "auto", "off"


def default_setting() -> str:
    """``auto`` when the prometheus and promtool binaries are installed, else ``off``."""
    return AUTO if promserver.binaries() else OFF


@contextmanager
def prometheus_for(scenario: Scenario, setting: str, *, timeout: float = 10.0) -> Iterator[PromMetrics | None]:
    """``off``: None. A URL: that server. ``auto``: the scenario's history back-filled into a fresh Prometheus
    (None when the scenario has no ``usage`` or the binaries are missing)."""
    if not setting or setting == OFF:
        yield None
        return
    if setting != AUTO:
        yield PromMetrics(setting, timeout=timeout)
        return
    if not has_usage(scenario) or promserver.binaries() is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="kubewhy-prom-") as tmp:
        server = promserver.serve_scenario_history(scenario, tmp)
        try:
            yield PromMetrics(server.url, timeout=timeout)
        finally:
            server.stop()
