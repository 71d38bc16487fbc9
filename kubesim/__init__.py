"""kubesim: a Kubernetes API server simulator for kubewhy's demo, tests and benchmarks.

It serves ordinary Kubernetes objects from scenario files over the real REST API, so the official
``kubernetes`` client and the real ``kubectl`` can talk to it. It imports nothing from kubewhy.
"""

from .scenario import Scenario, ScenarioError, bundled_names, load, load_paths

__all__ = ["Scenario", "ScenarioError", "bundled_names", "load", "load_paths"]
