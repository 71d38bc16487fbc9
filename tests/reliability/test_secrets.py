"""Secrets never leave the cluster through kubewhy: a scenario full of them (Secret data, env values, tokens in
logs), diagnosed and shown every way there is (text, Markdown, JSON, Slack answer, logs/describe/events
buttons, the audit log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot import blocks
from kubewhy import actions
from kubewhy.cli import main
from tests.bot.test_slack_bot import running_bot
from tests.reliability.conftest import audit_env
from tests.scenarios import KUBELET_SAMPLE

SCENARIO = Path(__file__).parent / "data" / "secrets.yaml"
SECRETS = [
    "hunter2hunter2",
    "aHVudGVyMmh1bnRlcjI",
    "superSecretApiKey",
    "c3VwZXJTZWNyZXRBcGlLZXk",
    "plainStringDataToken42",
    "literalEnvTok3nValue",
    "InlinePassw0rd",
    "s3cr3tBearerTok3nValue",
    "pgS3cretPass",
    "xoxb-1234567890-abcdefghijkl",
    "AKIAABCDEFGHIJKLMNOP",
    "ghp_abcdefghijklmnopqrstuvwxyz0123",
]


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("output", ["text", "markdown", "json"])
def test_the_cli_shows_no_secret(start_sim: Any, output: str, capsys: pytest.CaptureFixture[str]) -> None:
    sim = start_sim(SCENARIO, timeline_mode="manual")
    code = main(
        ["why", "pod/vault/api-1", "-o", output, "-v", "--no-audit"],
        {"KUBECONFIG": str(sim.kubeconfig), **KUBELET_SAMPLE},
    )
    out = capsys.readouterr()
    assert code == 0 and "OOMKilled" in out.out
    assert leaked(out.out + out.err) == []


async def test_slack_answers_views_and_the_audit_log_show_no_secret(start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim(SCENARIO, timeline_mode="manual")
    async with running_bot(sim, {**audit_env(tmp_path), **KUBELET_SAMPLE}) as bot:
        await bot.command("why api-1 -n vault")
        message = (await bot.double.wait_for("chat.update"))[0]
        for action in (blocks.ACTION_LOGS, blocks.ACTION_EVENTS, blocks.ACTION_DESCRIBE, blocks.ACTION_MORE):
            await bot.click(message, action)
        await bot.double.wait_for("chat.postMessage", 5)
        await bot.command("history pod/vault/api-1")
        await bot.double.wait_for("chat.postMessage", 6)
        everything = json.dumps([c.params for c in bot.double.calls])
        assert "Show logs" in everything and "[redacted]" in everything  # the logs were shown, redacted
        assert leaked(everything) == []
        entries = await actions.history(bot.deps.app.audit, limit=100)
        assert leaked(json.dumps([e.to_dict() for e in entries], default=str)) == []
