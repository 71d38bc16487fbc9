"""Scenario names shared by the Prometheus tests."""

from __future__ import annotations

from pathlib import Path

from kubesim.scenario import Scenario
from tests.scenarios import scenario_copy

CATALOGUE = Path(__file__).resolve().parents[2] / "kubesim" / "scenarios" / "catalogue"
THROTTLED = "workshop/q10-p99-latency"
OOM_BOUND = "workshop/q01-app-crash"
FULL_PVC = "workshop/q05-statefulset-pvc-full"
MEMORY = str(CATALOGUE / "memory-near-limit.yaml")
FILLING = str(CATALOGUE / "pvc-filling.yaml")
HEALTHY = "healthy"


def load_scenario(name: str) -> Scenario:
    return scenario_copy(name)
