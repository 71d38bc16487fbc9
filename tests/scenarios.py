"""The tests' simulated clusters: scenarios parsed once per session."""

from __future__ import annotations

import copy
from pathlib import Path

from kubesim import load, load_paths
from kubesim.scenario import Scenario, resolve, scenario_files

_PARSED: dict[tuple[object, ...], Scenario] = {}


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


__all__ = ["scenario_copy"]
