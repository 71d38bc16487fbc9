"""Block Kit built from a report stays within Slack's limits, however long the evidence (no Slack, no cluster)."""

from __future__ import annotations

import json

from bot import blocks
from kubewhy.models.findings import Finding, Fix, Report
from kubewhy.models.target import Target
from tests.bot.slack_double import block_errors
from tests.bot.test_slack_bot import text_of


def test_long_evidence_is_cut_with_a_more_affordance() -> None:
    long = "x" * 5000
    findings = [
        Finding(
            id=f"f{i}",
            title="T" * 300,
            severity="critical",
            summary=long,
            subject="pod/ns/p",
            stage="pod",
            evidence=tuple([long] * 30 + [f"previous log: {long}"] * 30),
            fixes=(Fix(title="fix", command=long, risk="low"),),
        )
        for i in range(40)
    ]
    report = Report(target=Target("Pod", "p", "ns"), findings=findings)
    built = blocks.to_dicts(blocks.report_blocks(report, {}))
    assert not block_errors(built), block_errors(built)
    assert "Show all evidence" in json.dumps(built)
    assert "more" in text_of(built)
