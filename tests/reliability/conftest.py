"""The reliability suite (issue 15): every finding and fault class, each against the real pieces (the Bolt app
over HTTP, the simulator, SQLite and the machine's Postgres); docs/reliability.md tabulates what they show."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.bot.fixers import fixers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import ALLOWED, GROUP_MEMBER, SECRET, Bot, running_bot
from tests.reliability.pgcluster import PrivatePostgres, server_bindir
from tests.scenarios import KUBELET_SAMPLE
from tests.watch.conftest import cluster as cluster  # the simulator and the Slack double of the chaos tests
from tests.watch.conftest import slack as slack

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


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A Postgres cluster of the suite's own (``initdb`` on a free port), which its tests restart, crash and kill;
    one for the session (a start costs about 0.1 s, ``initdb`` about 1 s). The shared server at 5432 is never
    touched."""
    bindir = server_bindir()
    if bindir is None:
        pytest.skip(
            "Debian's postgresql server binaries (/usr/lib/postgresql/*/bin/initdb and postgres) are not installed: "
            "scripts/services installs them"
        )
    pg = PrivatePostgres(bindir).init()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
async def private_pg(private_postgres: PrivatePostgres) -> AsyncIterator[tuple[PrivatePostgres, str]]:
    """The private cluster, up (an earlier test may have left it killed), and the URL of a database of this
    test's own on it, dropped afterwards."""
    private_postgres.ensure_running()
    name = f"kubewhy_chaos_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(private_postgres.admin_dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield private_postgres, private_postgres.url(name)
    private_postgres.ensure_running()
    conn = await asyncpg.connect(private_postgres.admin_dsn, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
