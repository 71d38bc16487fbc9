"""The ledger's turns (a bounded number of transactions at once) are never held while waiting for another turn:
rules sharing one incident open it at the same moment, most lose the race, and each loser reads the winner's
incident. Holding its turn for that read deadlocked every turn (the watchers then paged nothing at all)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kubewhy.audit import db, migrate
from kubewhy.audit.ledger import CONCURRENCY, Ledger


async def test_many_writers_opening_one_incident_share_it_without_deadlock(tmp_path: Path) -> None:
    url = db.resolve_url(f"sqlite:///{tmp_path / 'audit.db'}")
    engine = db.make_engine(url)
    try:
        await migrate.upgrade(engine)
        ledger = Ledger(engine, url)
        opens = [
            ledger.open_incident(
                cluster="c",
                rule=f"rule-{i}",
                key="family",
                subject="deploy/shop/web",
                severity="critical",
                title="t",
                channel="C0",
            )
            for i in range(CONCURRENCY * 3)
        ]
        results = await asyncio.wait_for(asyncio.gather(*opens), timeout=60)  # a deadlock never returns
        assert sum(created for _, created in results) == 1
        assert len({incident.id for incident, _ in results}) == 1
        assert ledger._turns._value == CONCURRENCY  # every turn given back
    finally:
        await engine.dispose()
