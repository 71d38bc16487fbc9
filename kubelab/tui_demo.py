"""``k8stui --demo``: the bundled workshop cluster on the simulator, in-process, for the TUI.

The TUI may not import the simulator (the import contracts keep front-ends on the core), so its entry point
reaches this module by name, as ``kubewhy``'s command table reaches ``kubelab``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from kubesim import scenario as scenarios
from kubesim.runner import RunningSim, run_in_thread
from kubesim.server import SimOptions


@dataclass
class DemoCluster:
    kubeconfig: Path  # points at the simulator
    audit_url: str  # a SQLite audit log beside it
    description: str
    sim: RunningSim

    def stop(self) -> None:
        self.sim.stop()


def start(scenario: str = "workshop", *, directory: Path | None = None) -> DemoCluster:
    """Serve ``scenario`` on a free port on a background thread; raises ``ScenarioError`` for a bad scenario."""
    loaded = scenarios.load(scenario)
    where = directory or Path(tempfile.mkdtemp(prefix="k8stui-demo-"))
    sim = run_in_thread(loaded, SimOptions(), kubeconfig_out=where / "demo.kubeconfig")
    assert sim.kubeconfig is not None
    first = loaded.description.splitlines()[0] if loaded.description else loaded.name
    return DemoCluster(sim.kubeconfig, f"sqlite:///{where / 'audit.db'}", first, sim)
