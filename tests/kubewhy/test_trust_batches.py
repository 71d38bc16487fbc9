"""Posted messages remembered at once are written together (kubewhy.audit.trust): one transaction for a burst,
each readable by the process at once and durable when its remember() returns; a write the database refuses
raises, keeps the message known to the process, and is tried again with the next batch."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from kubewhy.app import Kubewhy
from kubewhy.errors import AuditStoreError
from kubewhy.settings import load


def _env(tmp_path: Path) -> dict[str, str]:
    return {"KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "HOME": str(tmp_path)}


async def test_a_burst_of_messages_is_one_transaction_readable_at_once_and_durable(tmp_path: Path) -> None:
    env = _env(tmp_path)
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        trust = await app.trust()
        burst = [
            asyncio.create_task(trust.remember("C1", f"1.{i}", team="T1", target=f"pod/q1/p{i}", incident=None))
            for i in range(30)
        ]
        await asyncio.sleep(0)  # every remember() has started, none has been written yet
        for i in range(30):
            found = await trust.posted("C1", f"1.{i}")  # known to this process before the write
            assert found is not None and found.target == f"pod/q1/p{i}"
        await asyncio.gather(*burst)
        assert trust.commits == 1  # thirty answers, one commit (not thirty, one after the other)
        await trust.remember("C1", "1.0", team="T1", target="pod/q1/other", incident="INC-9")  # an update
        assert trust.commits == 2
    async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:  # durable: a new process reads them
        trust = await restarted.trust()
        for i in range(1, 30):
            found = await trust.posted("C1", f"1.{i}")
            assert found is not None and (found.team, found.target) == ("T1", f"pod/q1/p{i}")
        updated = await trust.posted("C1", "1.0")
        assert updated is not None and (updated.target, updated.incident) == ("pod/q1/other", "INC-9")


async def test_a_refused_write_raises_keeps_the_message_and_is_tried_with_the_next_batch(tmp_path: Path) -> None:
    env = _env(tmp_path)
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        trust = await app.trust()
        db = sqlite3.connect(tmp_path / "a.db")
        ddl = [
            sql
            for (sql,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'posted_messages' AND sql IS NOT NULL"
            )
        ]
        db.execute("DROP TABLE posted_messages")  # the database refuses the write
        db.commit()
        with pytest.raises(AuditStoreError):
            await trust.remember("C1", "2.1", team=None, target="svc/q4/web")
        found = await trust.posted("C1", "2.1")  # this process still knows it posted the message
        assert found is not None and found.target == "svc/q4/web"
        for sql in ddl:  # the database is back
            db.execute(sql)
        db.commit()
        db.close()
        await trust.remember("C1", "2.2", team=None, target="svc/q4/api")  # writes the one that failed, too
    async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:
        trust = await restarted.trust()
        assert [(await trust.posted("C1", ts)) is not None for ts in ("2.1", "2.2")] == [True, True]
