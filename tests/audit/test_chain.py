"""The tamper-evident audit log (issue 27): every record is chained per writer stream; an edited row, an edited
or deleted link shows in ``kubewhy audit verify``, on SQLite and on Postgres."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import chain, db
from kubewhy.audit.records import ActionRecord, DiagnosisRecord, FixEvent, FixProposed
from kubewhy.audit.writer import AuditLog
from kubewhy.cli import main


async def _fill(engine: AsyncEngine, fallback: Path, stream: str, n: int = 3) -> list[uuid.UUID]:
    audit = AuditLog(engine=engine, fallback_path=fallback, stream=stream)
    keys = []
    for i in range(n):
        keys.append(
            audit.record(
                DiagnosisRecord(
                    actor="alice", target_kind="Pod", target_namespace="q1", target_name=f"p{i}", healthy=False
                )
            )
        )
        proposal = audit.record(FixProposed(playbook_id="oom", title="raise memory", proposed_by="alice"))
        keys.append(proposal)
        keys.append(audit.record(FixEvent(proposal_key=proposal, event="approved", actor="bob")))
        keys.append(audit.record(ActionRecord(action="show_logs", actor="carol", details={"lines": i})))
    await audit.aclose()
    return keys


async def _verify(engine: AsyncEngine) -> chain.ChainReport:
    async with db.make_sessionmaker(engine)() as session:
        return await chain.verify(session)


async def _sql(engine: AsyncEngine, statement: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_an_intact_chain_verifies_per_stream(migrated: AsyncEngine, fallback_file: Path) -> None:
    await _fill(migrated, fallback_file, "replica-a")
    await _fill(migrated, fallback_file, "replica-b", n=2)
    report = await _verify(migrated)
    assert report.ok, report.to_dict()
    assert {s.stream: s.links for s in report.streams} == {"replica-a": 12, "replica-b": 8}


async def test_an_edited_fix_event_row_is_named(migrated: AsyncEngine, fallback_file: Path) -> None:
    keys = await _fill(migrated, fallback_file, "replica-a")
    approved = keys[6]  # the second approval
    async with migrated.connect() as conn:
        row_id = (
            (await conn.execute(text("SELECT id FROM fix_events WHERE actor = 'bob' ORDER BY id"))).scalars().all()[1]
        )
    await _sql(migrated, "UPDATE fix_events SET actor = 'mallory' WHERE id = :id", id=row_id)
    broken = (await _verify(migrated)).first_break
    assert broken is not None
    assert (broken.table, broken.row_id, broken.record_key) == ("fix_events", row_id, str(approved))
    assert "actor" in broken.reason


async def test_an_edited_or_deleted_link_is_named(migrated: AsyncEngine, fallback_file: Path) -> None:
    keys = await _fill(migrated, fallback_file, "replica-a")
    await _sql(
        migrated,
        "UPDATE audit_chain SET body = replace(body, 'carol', 'dave') WHERE record_key = :k",
        k=keys[3] if migrated.dialect.name == "postgresql" else keys[3].hex,
    )
    broken = (await _verify(migrated)).first_break
    assert broken is not None and (broken.seq, broken.table) == (4, "audit_chain")
    assert "hash does not match" in broken.reason

    await _sql(migrated, "DELETE FROM audit_chain WHERE seq IN (4, 5)")
    broken = (await _verify(migrated)).first_break
    assert broken is not None and broken.seq == 6 and "link 4 is missing" in broken.reason


async def test_concurrent_writers_on_one_stream_do_not_fork_it(migrated: AsyncEngine, fallback_file: Path) -> None:
    await asyncio.gather(*(_fill(migrated, fallback_file, "shared", n=2) for _ in range(3)))
    report = await _verify(migrated)
    assert report.ok, report.to_dict()
    assert [(s.stream, s.links) for s in report.streams] == [("shared", 24)]


async def test_a_retried_batch_is_chained_once(migrated: AsyncEngine, fallback_file: Path) -> None:
    from kubewhy.audit import store

    record = ActionRecord(action="ack", actor="erin")
    for _ in range(2):
        async with db.make_sessionmaker(migrated)() as session, session.begin():
            await store.write_records(session, [record], stream="replica-a")
    report = await _verify(migrated)
    assert report.ok and report.streams[0].links == 1


async def test_the_command_names_the_first_broken_link(db_url: str, migrated: AsyncEngine, fallback_file: Path) -> None:
    await _fill(migrated, fallback_file, "replica-a", n=1)
    async with migrated.connect() as conn:
        row_id = (await conn.execute(text("SELECT id FROM diagnoses"))).scalar_one()
    await _sql(migrated, "UPDATE diagnoses SET healthy = :h WHERE id = :id", h=True, id=row_id)

    def command(*extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["audit", "verify", "--database-url", db_url, *extra], environ={})
        return code, out.getvalue()

    code, printed = await asyncio.to_thread(command, "-o", "json")
    assert code == 1
    broken = json.loads(printed)["streams"][0]["broken"]
    assert (broken["table"], broken["row_id"]) == ("diagnoses", row_id)
    code, printed = await asyncio.to_thread(command)
    assert code == 1 and f"diagnoses row {row_id}" in printed


async def test_the_head_is_logged_for_an_outside_anchor(
    migrated: AsyncEngine, fallback_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kubewhy.audit")
    await _fill(migrated, fallback_file, "replica-a", n=1)
    async with db.make_sessionmaker(migrated)() as session:
        seq, digest = (await chain.heads(session))["replica-a"]
    assert seq == 4
    assert any(f"seq {seq} sha256 {digest}" in r.getMessage() for r in caplog.records)


async def test_retention_cuts_at_a_checkpoint_that_keeps_the_chain_verifiable(
    migrated: AsyncEngine, fallback_file: Path
) -> None:
    await _fill(migrated, fallback_file, "replica-a")
    long_ago = datetime.now(UTC) - timedelta(days=90)
    await _sql(migrated, "UPDATE audit_chain SET created_at = :t WHERE seq <= 4", t=long_ago)
    audit = AuditLog(engine=migrated, fallback_path=fallback_file, stream="replica-a")
    counts = await audit.prune(timedelta(days=30))
    await audit.aclose()
    assert counts["audit_chain"] == 4
    report = await _verify(migrated)
    assert report.ok, report.to_dict()
    assert (report.streams[0].links, report.streams[0].head_seq) == (8, 12)

    await _sql(migrated, "DELETE FROM audit_chain WHERE seq = 5")  # the first link after the cut
    broken = (await _verify(migrated)).first_break
    assert broken is not None and "link 5 is missing" in broken.reason
