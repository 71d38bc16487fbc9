"""The writer on both backends: every kind of record lands once; rejected records and outages end in the fallback
file, which the next start reports and re-imports without duplicates."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import AuditLog, RetryPolicy, db, fallback, store
from kubewhy.audit.models import Alert, Diagnosis, FixProposal
from kubewhy.audit.records import AlertRecord, DiagnosisRecord
from kubewhy.models.findings import Finding, Fix, Report
from kubewhy.models.target import Target

QUICK = RetryPolicy(base_delay=0.01, max_delay=0.05, give_up_after=0.3, write_timeout=2.0)


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
        duration_ms=42.0,
    )


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with db.make_sessionmaker(engine)() as session:
        return await store.count_rows(session)


async def test_each_kind_of_record_is_stored_once(migrated: AsyncEngine, fallback_file: Path) -> None:
    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    audit.open_incident("INC-7", "shop down", actor="alice", source="slack")
    d = audit.record_diagnosis(report(), actor="alice", source="slack", channel="#ops", incident="INC-7")
    audit.record_alert(
        rule="KubePodCrashLooping",
        fingerprint="fp1",
        target_kind="Pod",
        target_namespace="shop",
        target_name="web-1",
        channel="#ops",
        message_ts="171.1",
        incident="INC-7",
    )
    p = audit.record_fix_proposed(
        report().findings[0].fixes[0], playbook_id="oom-killed", diagnosis_key=d, incident="INC-7", source="slack"
    )
    audit.record_fix_event(p, "dry_run", actor="kubewhy", result={"ok": True})
    audit.record_fix_event(p, "approved", actor="bob", source="slack")
    audit.record_fix_event(p, "applied", actor="kubewhy", result={"ok": False, "message": "forbidden"})
    audit.record_fix_event(p, "approved", actor="carol")  # late: must not move the state back
    audit.record_alert(rule="KubePodCrashLooping", fingerprint="fp1", state="resolved")
    audit.record_action(
        "show_logs",
        actor="bob",
        source="slack",
        channel="#ops",
        target_kind="Pod",
        target_namespace="shop",
        target_name="web-1",
    )
    await audit.aclose()
    assert audit.stats.to_fallback == 0 and audit.stats.warnings == []
    assert await counts(migrated) == {
        "incidents": 1,
        "diagnoses": 1,
        "alerts": 1,
        "fix_proposals": 1,
        "fix_events": 4,
        "actions": 1,
    }
    async with db.make_sessionmaker(migrated)() as session:
        fix = (await session.execute(select(FixProposal))).scalar_one()
        assert (fix.state, fix.approved_by, fix.dry_run_result, fix.applied_result) == (
            "applied",
            "carol",
            {"ok": True},
            {"ok": False, "message": "forbidden"},
        )
        alert = (await session.execute(select(Alert))).scalar_one()
        assert alert.state == "resolved" and alert.resolved_at is not None and alert.message_ts == "171.1"
        diag = (await session.execute(select(Diagnosis))).scalar_one()
        assert (diag.actor, diag.source, diag.channel, diag.finding_ids) == ("alice", "slack", "#ops", ["oom-killed"])
        assert diag.findings[0]["evidence"] == ["lastState: OOMKilled"] and diag.incident_id is not None


async def test_the_same_record_written_twice_is_stored_once(migrated: AsyncEngine, fallback_file: Path) -> None:
    rec = DiagnosisRecord.from_report(report(), actor="alice")
    resolve = AlertRecord(rule="R", fingerprint="fp", state="resolved")
    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    for _ in range(3):
        audit.record(rec)
        audit.record(resolve)
        await audit.flush()  # separate batches, as a retry would be
    await audit.aclose()
    assert (await counts(migrated))["diagnoses"] == 1 and (await counts(migrated))["alerts"] == 1
    assert audit.stats.duplicates == 4


async def test_a_rejected_record_goes_to_the_fallback_file_and_the_rest_are_written(
    migrated: AsyncEngine, fallback_file: Path
) -> None:
    bad = AlertRecord.model_construct(**{**AlertRecord(rule="R", fingerprint="x").model_dump(), "state": "bogus"})
    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    for i in range(5):
        audit.record_diagnosis(report(f"web-{i}"))
    audit.record(bad)
    audit.record_diagnosis(report("web-5"))
    await audit.aclose()
    assert (await counts(migrated))["diagnoses"] == 6
    lines = [json.loads(line) for line in fallback_file.read_text().splitlines()]
    assert [line["record"]["key"] for line in lines] == [str(bad.key)]
    assert "rejected by the database" in lines[0]["error"]


async def test_unreachable_database_then_next_start_reimports_once(
    migrated: AsyncEngine, db_url: str, fallback_file: Path, tmp_path: Path
) -> None:
    if db_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        down_url = f"sqlite+aiosqlite:///{blocker}/audit.db"  # cannot be opened
    else:
        down_url = "postgresql+asyncpg://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    warnings: list[str] = []
    down = AuditLog(down_url, fallback_path=fallback_file, retry=QUICK, on_warning=warnings.append)
    keys = [down.record_diagnosis(report(f"web-{i}"), actor="alice") for i in range(20)]
    await down.aclose()
    assert down.stats.retries > 0 and down.stats.to_fallback == 20
    assert fallback.pending(fallback_file) == 20 and any("re-imported at the next start" in w for w in warnings)
    copy = tmp_path / "copy.jsonl"
    shutil.copy(fallback_file, copy)

    warnings.clear()
    up = AuditLog(engine=migrated, fallback_path=fallback_file, on_warning=warnings.append)
    await up.start()
    up.record_diagnosis(report("after"), actor="bob")
    await up.aclose()
    assert any("20 record(s) could not be written earlier" in w for w in warnings), warnings
    assert up.stats.imported == 20 and not fallback_file.exists()
    async with db.make_sessionmaker(migrated)() as session:
        stored = set((await session.execute(select(Diagnosis.key))).scalars())
    assert set(keys) <= stored and len(stored) == 21

    shutil.copy(copy, fallback_file)  # the same file again (say, restored from a backup): nothing doubles
    again = AuditLog(engine=migrated, fallback_path=fallback_file)
    await again.start()
    await again.aclose()
    assert again.stats.duplicates == 20 and (await counts(migrated))["diagnoses"] == 21


async def test_record_without_a_running_loop_is_kept_not_raised(fallback_file: Path) -> None:
    audit = AuditLog("sqlite+aiosqlite:///unused.db", fallback_path=fallback_file)
    key = await asyncio.to_thread(audit.record_diagnosis, report())  # a thread with no event loop
    assert fallback_file.read_text().count(str(key)) == 1


async def test_recording_returns_before_anything_is_written(migrated: AsyncEngine, fallback_file: Path) -> None:
    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    for i in range(50):
        audit.record_diagnosis(report(f"web-{i}"))
    assert audit.stats.queued == 50 and audit.stats.written == 0  # nothing awaited yet: nothing written
    await audit.aclose()
    async with db.make_sessionmaker(migrated)() as session:
        assert (await session.execute(select(func.count()).select_from(Diagnosis))).scalar_one() == 50


@pytest.mark.parametrize("bad", ["", "abc", "5x", "h2"])
def test_bad_durations_are_refused(bad: str) -> None:
    from kubewhy.durations import parse_duration

    with pytest.raises(ValueError):
        parse_duration(bad)
