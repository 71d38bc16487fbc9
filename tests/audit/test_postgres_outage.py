"""Postgres going away under load: a proxy in front of the real server refuses connections, or loses the reply to
a COMMIT the server did execute. Every recorded action still ends up stored exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kubewhy.audit import AuditLog, RetryPolicy, db, migrate
from kubewhy.audit.models import Alert, Diagnosis, FixEventRow, FixProposal
from kubewhy.models.findings import Finding, Report
from kubewhy.models.target import Target
from tests.waiting import until

from .conftest import pg_url
from .proxy import FlakyProxy

PATIENT = RetryPolicy(base_delay=0.01, max_delay=0.2, give_up_after=120.0, write_timeout=10.0)


def report(i: int) -> Report:
    return Report(
        target=Target("Pod", f"web-{i}", "shop"),
        findings=[Finding("oom-killed", "OOMKilled", "critical", "exit 137", f"pod/shop/web-{i}", "pod")],
    )


@pytest.fixture
async def proxy() -> AsyncIterator[FlakyProxy]:
    p = await FlakyProxy().start()
    yield p
    await p.close()


async def burst(audit: AuditLog, start: int, n: int) -> list[object]:
    async def one(i: int) -> object:
        await asyncio.sleep(0)
        return audit.record_diagnosis(report(i), actor=f"user{i % 7}", source="slack", channel="#ops")

    return list(await asyncio.gather(*(one(i) for i in range(start, start + n))))


async def test_500_actions_survive_refused_connections_and_lost_commit_acks(
    pg_database: str, proxy: FlakyProxy, tmp_path: Path
) -> None:
    direct = db.make_engine(pg_url(pg_database))
    await migrate.upgrade(direct)
    fallback_file = tmp_path / "fallback.jsonl"
    audit = AuditLog(pg_url(pg_database, port=proxy.port), fallback_path=fallback_file, batch_size=25, retry=PATIENT)
    keys = await burst(audit, 0, 100)
    await audit.flush()
    assert audit.stats.written == 100

    proxy.lose_commit_acks(3)  # committed on the server, never acknowledged: the writer must retry
    keys += await burst(audit, 100, 100)
    await audit.flush()
    assert proxy.acks_lost == 3
    assert audit.stats.duplicates > 0  # the retried batches met their own rows

    await proxy.refuse()  # Postgres "down" in the middle of the burst
    keys += await burst(audit, 200, 150)
    retries_before = audit.stats.retries
    await until(
        lambda: audit.stats.retries >= retries_before + 3,
        timeout=30,
        interval=0.01,
        what="the writer retrying against a refusing server",
    )
    keys += await burst(audit, 350, 150)
    await proxy.restore()
    await audit.aclose(timeout=120)

    assert audit.stats.to_fallback == 0 and not fallback_file.exists(), audit.stats.warnings
    async with db.make_sessionmaker(direct)() as session:
        stored = list((await session.execute(select(Diagnosis.key))).scalars())
    await direct.dispose()
    assert len(keys) == 500 and len(set(keys)) == 500
    assert len(stored) == 500  # none twice
    assert set(stored) == set(keys)  # none lost


async def test_1000_concurrent_actions_from_several_front_ends(pg_database: str, tmp_path: Path) -> None:
    url = pg_url(pg_database)
    direct = db.make_engine(url)
    await migrate.upgrade(direct)
    # the bot, the TUI, two watchers: each process has its own AuditLog on the same database
    logs = [AuditLog(url, fallback_path=tmp_path / f"fb{i}.jsonl", batch_size=20) for i in range(4)]
    logs[0].open_incident("INC-9", "checkout errors")

    async def action(i: int) -> None:
        audit = logs[i % len(logs)]
        await asyncio.sleep(0)
        kind = i % 4
        if kind == 0:
            audit.record_diagnosis(report(i), actor=f"u{i}", source="tui", incident="INC-9")
        elif kind == 1:
            audit.record_alert(rule="HighErrorRate", fingerprint=f"fp{i}", channel="#alerts", incident="INC-9")
        elif kind == 2:
            p = audit.record_fix_proposed(playbook_id="oom-killed", title=f"fix {i}", incident="INC-9")
            audit.record_fix_event(p, "approved", actor=f"approver{i}")
        else:
            audit.record_diagnosis(report(i), actor="watcher", source="watcher")

    await asyncio.gather(*(action(i) for i in range(1000)))
    await asyncio.gather(*(a.aclose(timeout=120) for a in logs))
    for a in logs:
        assert a.stats.to_fallback == 0 and a.stats.warnings == [], a.stats
    async with db.make_sessionmaker(direct)() as session:
        n = {
            m.__tablename__: (await session.execute(select(func.count()).select_from(m))).scalar_one()
            for m in (Diagnosis, Alert, FixProposal, FixEventRow)
        }
        approved = (
            await session.execute(select(func.count()).select_from(FixProposal).where(FixProposal.state == "approved"))
        ).scalar_one()
    await direct.dispose()
    assert n == {"diagnoses": 500, "alerts": 250, "fix_proposals": 250, "fix_events": 250}
    assert approved == 250
