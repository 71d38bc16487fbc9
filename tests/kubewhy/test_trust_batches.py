"""Posted messages remembered at once are written together (kubewhy.audit.trust): one transaction for a burst,
each readable by the process at once and durable when its remember() returns; a write the database refuses
raises, keeps the message known to the process, and is tried again with the next batch. The replay cache's keys
asked about at once are claimed together too, each once, and a key another replica took meanwhile is a replay."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kubewhy.app import Kubewhy
from kubewhy.audit.trust import TrustStore
from kubewhy.errors import AuditStoreError
from kubewhy.settings import load
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


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


async def test_replay_keys_asked_about_at_once_are_claimed_together_once_each(tmp_path: Path) -> None:
    env = _env(tmp_path)
    ttl = timedelta(minutes=10)
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        trust = await app.trust()
        assert await trust.first_time("sig:old", ttl, at=AT - timedelta(minutes=20))  # expired by AT
        keys = [f"sig:{i}" for i in range(20)] + ["sig:3", "sig:old", "sig:old"]  # the same request twice, at once
        firsts = await asyncio.gather(*(trust.first_time(k, ttl, at=AT) for k in keys))
        assert firsts == [True] * 20 + [False, True, False]  # each key once, an expired one taken again
        assert not await trust.first_time("sig:7", ttl, at=AT + timedelta(minutes=1))  # a replay
    async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:  # stored: also after a restart
        trust = await restarted.trust()
        again = await asyncio.gather(*(trust.first_time(k, ttl, at=AT + timedelta(minutes=5)) for k in keys[:21]))
        assert again == [False] * 21
        assert await trust.first_time("sig:3", ttl, at=AT + timedelta(minutes=11))  # expired: a new request


async def test_a_key_two_replicas_claim_at_once_is_one_replicas_and_the_other_keys_are_not_lost(tmp_path: Path) -> None:
    env = _env(tmp_path)
    ttl = timedelta(minutes=10)
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        trust = await app.trust()
        other = TrustStore(trust._sessions.kw["bind"], trust.url)  # type: ignore[union-attr]  # a second replica
        claims = [asyncio.create_task(trust.first_time(f"sig:{i}", ttl, at=AT)) for i in range(5)]
        await asyncio.sleep(0)  # asked, not yet claimed
        theirs = await other.first_time("sig:2", ttl, at=AT)  # the other replica's batch races this one's
        ours = [await c for c in claims]
        assert ours[:2] + ours[3:] == [True] * 4 and ours[2] is not theirs  # sig:2 is one replica's, once


async def test_on_postgres_batches_claim_each_key_once_and_keep_every_message(tmp_path: Path) -> None:
    name = await create_pg_database()
    env = {"KUBEWHY_DATABASE_URL": pg_url(name), "HOME": str(tmp_path)}
    ttl = timedelta(minutes=10)
    try:
        async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
            trust = await app.trust()
            assert await trust.first_time("sig:old", ttl, at=AT - timedelta(minutes=20))
            other = TrustStore(trust._sessions.kw["bind"], trust.url)  # type: ignore[union-attr]  # another replica
            keys = [f"sig:{i}" for i in range(10)] + ["sig:old", "sig:old"]
            claims = [asyncio.create_task(trust.first_time(k, ttl, at=AT)) for k in keys]
            await asyncio.sleep(0)
            theirs = await other.first_time("sig:4", ttl, at=AT)
            ours = [await c for c in claims]
            assert ours[:4] + ours[5:] == [True] * 9 + [True, False] and ours[4] is not theirs
            await asyncio.gather(*(trust.remember("C1", f"3.{i}", team=None, target=f"pod/q1/p{i}") for i in range(10)))
            assert trust.commits == 1
        async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:
            trust = await restarted.trust()
            assert all([await trust.posted("C1", f"3.{i}") is not None for i in range(10)])
            assert not any(await asyncio.gather(*(trust.first_time(k, ttl, at=AT) for k in keys)))
    finally:
        await drop_pg_database(name)
