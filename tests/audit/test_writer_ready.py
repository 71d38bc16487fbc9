"""``AuditLog.ready()``: another store on the same database (the bot's trust store, the watchers' ledger) waits
for the writer's start-up (the schema at head), not for the records queued behind a busy database: during a
start-up storm the first ``/k8s why`` waited for hundreds of records."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from kubewhy.audit import AuditLog

from .test_writer import report


async def test_ready_does_not_wait_for_the_queued_records(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    audit = AuditLog(f"sqlite+aiosqlite:///{db}", fallback_path=tmp_path / "fallback.jsonl", auto_migrate=True)
    await audit.ready()  # migrated
    blocker = sqlite3.connect(db, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database's write lock
    try:
        audit.record_diagnosis(report("web-1"))
        flushed = asyncio.create_task(audit.flush())
        await asyncio.sleep(0.2)
        assert not flushed.done()  # the record waits for the lock ...
        await asyncio.wait_for(audit.ready(), 10)  # ... and ready() does not wait with it
        assert not flushed.done()
    finally:
        blocker.rollback()
        blocker.close()
    await asyncio.wait_for(flushed, 30)
    await audit.aclose()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM diagnoses").fetchone()[0] == 1
