"""The tests' simulated clusters: scenarios parsed once per session, and how their kubelets are sampled."""

from __future__ import annotations

import copy
from pathlib import Path

from kubesim import load, load_paths
from kubesim.scenario import Scenario, resolve, scenario_files

_PARSED: dict[tuple[object, ...], Scenario] = {}

# Without Prometheus a diagnosis reads each node's kubelet twice, this many seconds apart (2 by default), and
# waits for the second sample: the shortest interval that still proves a rate (the kubelet stamps whole seconds;
# tests/kubesim/test_node_proxy_metrics.py proves the figures at 1 s) halves that wait in every such test. Set
# for the whole session (tests/conftest.py); settings read from a mapping of their own need it added.
KUBELET_SAMPLE = {"KUBEWHY_KUBELET_SAMPLE_SECONDS": "1"}


def scenario_copy(scenario: str | Path) -> Scenario:
    """A scenario (a bundled name or a path), parsed once per session: the workshop with line numbers takes most of
    a second with PyYAML's pure-Python parser (a tenth with libyaml's), a deep copy about 30 ms. Each caller gets
    its own copy, as a simulator changes parts of it (a resized volume's usage). A changed file is parsed again."""
    path = Path(scenario)
    files = scenario_files(path) if path.exists() else resolve(str(scenario))[1]
    key = (str(scenario), *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _PARSED:
        _PARSED[key] = load_paths([path]) if path.exists() else load(str(scenario))
    return copy.deepcopy(_PARSED[key])


__all__ = ["KUBELET_SAMPLE", "scenario_copy"]
