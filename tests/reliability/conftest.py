"""The reliability suite (issue 15): every finding and fault class, each against the real pieces (the Bolt app
over HTTP, the simulator, SQLite and the machine's Postgres); docs/reliability.md tabulates what they show."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bot.fixers import fixers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import ALLOWED, GROUP_MEMBER, SECRET, Bot, running_bot
from tests.scenarios import KUBELET_SAMPLE

RESTRICTED = "q1,q4,q5"  # the namespaces the reliability bot may read (not kube-system, not q8)


async def post_raw(bot: Bot, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{bot.url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text(), dict(resp.headers)


def signed_headers(
    body: bytes, *, timestamp: str | None = None, content_type: str = "application/x-www-form-urlencoded", **extra: str
) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0="
        + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest(),
        **extra,
    }


def audit_env(tmp_path: Path) -> dict[str, str]:
    return {
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }


@pytest.fixture
async def rbot(start_sim: Any, tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot restricted to q1, q4 and q5, on the workshop scenario."""
    sim = start_sim("workshop", timeline_mode="manual")
    env = {
        "KUBEWHY_SLACK_ALLOW": f"q4={ALLOWED};*=S0SRE",
        "KUBEWHY_SLACK_IDENTITIES": str(fixers(sim, tmp_path / "identities.yaml", (ALLOWED, GROUP_MEMBER))),
        "KUBEWHY_SLACK_NAMESPACES": RESTRICTED,
        **audit_env(tmp_path),
        **KUBELET_SAMPLE,
    }
    async with running_bot(sim, env, SlackDouble(usergroups={"S0SRE": [GROUP_MEMBER]})) as running:
        yield running
