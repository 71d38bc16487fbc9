"""The Helm chart without a helm binary: its plain YAML parses and every value a template reads is defined."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[1] / "helm" / "kubewhy"


def _has(values: object, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_chart_metadata_and_values_parse() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "kubewhy"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["slack"]["mode"] in ("socket", "http")


def test_every_value_used_by_a_template_is_defined() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    used = set()
    for template in (CHART / "templates").glob("*.yaml"):
        used |= set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text()))
    missing = sorted(u for u in used if not _has(values, u))
    assert used and not missing, missing


def test_the_deployment_runs_the_bot_with_the_settings_it_reads() -> None:
    text = (CHART / "templates" / "deployment.yaml").read_text()
    assert 'args: ["bot"]' in text
    env_names = set(re.findall(r"name: (KUBEWHY_[A-Z_]+|PORT)", text))
    settings = (CHART.parents[1] / "kubewhy" / "settings.py").read_text()  # the bot reads kubewhy.settings
    read = set(re.findall(r'"(KUBEWHY_[A-Z_]+|PORT)"', settings))
    assert env_names and env_names <= read, env_names - read
