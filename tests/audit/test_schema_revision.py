"""The schema revision read without Alembic, and migrations in a child process (kubewhy/audit/revision.py).

A long-lived writer keeps Alembic out of its memory: it reads the database's revision with one query, and a
database behind head is migrated by ``python -m kubewhy.audit.migrate`` in a child process. These run the writer
in a fresh interpreter, because this one has imported Alembic long ago.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from kubewhy.audit import migrate, revision

PROBE = """
import asyncio, json, sys
from pathlib import Path
from kubewhy.audit.writer import AuditLog

async def main():
    warnings = []
    log = AuditLog(sys.argv[1], fallback_path=Path(sys.argv[2]), auto_migrate=True, migrate_apart=True,
                   on_warning=warnings.append)
    await log.start()
    await log.aclose()
    print(json.dumps({"alembic": "alembic" in sys.modules, "warnings": warnings}))

asyncio.run(main())
"""


def probe(tmp_path: Path, db: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite+aiosqlite:///{db}", str(tmp_path / "fallback.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def version(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def test_the_head_written_here_is_alembics() -> None:
    assert revision.HEAD == migrate.head()


def test_a_new_database_is_migrated_in_a_child_and_alembic_stays_out_of_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    first = probe(tmp_path, db)
    assert version(db) == [revision.HEAD]
    assert first == {"alembic": False, "warnings": []}
    again = probe(tmp_path, db)  # at head: one query, no child, no Alembic
    assert again == {"alembic": False, "warnings": []}


def test_a_newer_schema_is_reported_by_the_child_and_not_retried(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    probe(tmp_path, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    answer = probe(tmp_path, db)
    warnings = answer["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1
    assert "'9999', which this kubewhy does not know" in warnings[0]
    assert version(db) == ["9999"]  # untouched


def test_in_memory_databases_are_migrated_in_process() -> None:
    from kubewhy.audit.writer import in_memory

    assert in_memory("sqlite+aiosqlite://")
    assert in_memory("sqlite+aiosqlite:///:memory:")
    assert in_memory("sqlite+aiosqlite:///file:x?mode=memory&cache=shared&uri=true")
    assert not in_memory("sqlite+aiosqlite:////var/lib/kubewhy/audit.db")
    assert not in_memory("postgresql+asyncpg://127.0.0.1/test")
