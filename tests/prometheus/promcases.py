"""Scenario names shared by the Prometheus tests."""

from __future__ import annotations

from pathlib import Path

from kubesim import load, load_paths
from kubesim.scenario import Scenario

CATALOGUE = Path(__file__).resolve().parents[2] / "kubesim" / "scenarios" / "catalogue"
THROTTLED = "workshop/q10-p99-latency"
OOM_BOUND = "workshop/q01-app-crash"
FULL_PVC = "workshop/q05-statefulset-pvc-full"
MEMORY = str(CATALOGUE / "memory-near-limit.yaml")
FILLING = str(CATALOGUE / "pvc-filling.yaml")
HEALTHY = "healthy"


def load_scenario(name: str) -> Scenario:
    return load_paths([Path(name)]) if Path(name).is_file() else load(name)
