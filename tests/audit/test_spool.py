"""The spool (``kubewhy why``'s audit path): a record is on disk when ``record_*`` returns, without SQLAlchemy or
pydantic in the process, and the next writer on the same database commits it exactly once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import AuditLog, db, fallback, spool, store
from kubewhy.audit.records import RECORD_ADAPTER, DiagnosisRecord
from kubewhy.models.findings import Finding, Fix, Report
from kubewhy.models.target import Target


def report(name: str = "web-1") -> Report:
    return Report(
        target=Target("Pod", name, "shop"),
        findings=[
            Finding(
                "oom-killed",
                "Container killed for running out of memory",
                "critical",
                "exit 137",
                f"pod/shop/{name}",
                "pod",
                evidence=("lastState: OOMKilled",),
                fixes=(Fix("Raise the memory limit", "kubectl set resources ...", "low"),),
            )
        ],
        duration_ms=42.04,
        api_requests=7,
    )


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with db.make_sessionmaker(engine)() as session:
        return await store.count_rows(session)


def test_the_spooled_form_is_exactly_what_the_record_model_validates() -> None:
    key, at = uuid.uuid4(), datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    written = spool.diagnosis(report(), actor="ann", source="cli", channel=None, incident="INC-1", key=key, at=at)
    parsed = RECORD_ADAPTER.validate_python(json.loads(json.dumps(written)))
    expected = DiagnosisRecord.from_report(report(), actor="ann", source="cli", incident="INC-1", at=at)
    assert parsed.model_dump() == {**expected.model_dump(), "key": key}


def test_spooling_needs_neither_sqlalchemy_nor_pydantic(tmp_path: Path) -> None:
    code = f"""
import sys
from kubewhy.audit.writer import AuditLog
from kubewhy.models.findings import Report
from kubewhy.models.target import Target
audit = AuditLog("sqlite+aiosqlite:///{tmp_path}/a.db", fallback_path=__import__("pathlib").Path("{tmp_path}/fb.jsonl"),
                 spool=True)
audit.record_diagnosis(Report(target=Target("Pod", "x", "ns")), actor="a")
heavy = ("sqlalchemy", "aiosqlite", "asyncpg", "alembic", "pydantic")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    assert len(list(tmp_path.glob("audit-spool-*.jsonl"))) == 1


async def test_the_next_writer_commits_the_spool_once(migrated: AsyncEngine, fallback_file: Path) -> None:
    url = migrated.url.render_as_string(hide_password=False)
    cli = AuditLog(url, fallback_path=fallback_file, spool=True)
    keys = [cli.record_diagnosis(report(f"web-{i}"), actor="ann") for i in range(5)]
    await cli.aclose()
    assert cli.spool_path.exists() and sum(1 for _ in cli.spool_path.open()) == 5
    # two writers start at once on the same database and spool: every record is stored, none twice
    first, second = (
        AuditLog(engine=migrated, fallback_path=fallback_file),
        AuditLog(engine=migrated, fallback_path=fallback_file),
    )
    assert first.spool_path == cli.spool_path
    await asyncio.gather(first.flush(), second.flush())
    await asyncio.gather(first.aclose(), second.aclose())
    assert (await counts(migrated))["diagnoses"] == 5
    assert not first.stats.warnings and not second.stats.warnings  # spooled records are not an incident
    assert not list(fallback_file.parent.glob("audit-spool-*"))  # the file and its claimed copies are gone
    assert not fallback_file.exists()
    third = AuditLog(engine=migrated, fallback_path=fallback_file)
    await third.flush()
    await third.aclose()
    assert (await counts(migrated))["diagnoses"] == 5 and len(set(keys)) == 5


async def test_a_spool_belongs_to_one_database(migrated: AsyncEngine, fallback_file: Path) -> None:
    other = AuditLog("sqlite+aiosqlite:////nonexistent/other.db", fallback_path=fallback_file, spool=True)
    other.record_diagnosis(report(), actor="ann")
    writer = AuditLog(engine=migrated, fallback_path=fallback_file)
    await writer.flush()
    await writer.aclose()
    assert (await counts(migrated))["diagnoses"] == 0
    assert other.spool_path.exists()  # waits for its own database


def test_an_append_after_the_importer_claimed_the_file_goes_to_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "audit-spool-x.jsonl"
    line = spool.line(spool.diagnosis(report("a")))
    spool.append_lines(path, [line])
    taken = fallback.take(path)  # renames the file, then reads it under the lock
    assert len(taken.records) == 1
    spool.append_lines(path, [spool.line(spool.diagnosis(report("b")))])
    fallback.done(taken)
    again = fallback.take(path)
    assert [r.target_name for r in again.records if isinstance(r, DiagnosisRecord)] == ["b"]
