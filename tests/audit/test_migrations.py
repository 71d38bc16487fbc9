"""Migrations on SQLite and Postgres: empty → head, round trips, and rows surviving an upgrade."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import AuditLog, db, migrate, store
from kubewhy.audit.models import Alert, Base, Diagnosis, FixEventRow, FixProposal

AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


async def schema_diff(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
        )


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_empty_database_upgrades_to_head_matching_the_models(engine: AsyncEngine) -> None:
    assert await migrate.current(engine) is None
    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    assert {"incidents", "diagnoses", "alerts", "fix_proposals", "fix_events"} <= await table_names(engine)
    assert await schema_diff(engine) == []


async def test_there_are_at_least_two_revisions() -> None:
    revs = migrate.revisions()
    assert len(revs) >= 2 and revs[-1] == migrate.head()


async def test_downgrade_and_upgrade_round_trip(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    for rev in reversed(migrate.revisions()[:-1]):  # step down one revision at a time
        await migrate.downgrade(engine, rev)
        assert await migrate.current(engine) == rev
    assert "incidents" not in await table_names(engine)
    await migrate.downgrade(engine, "base")
    assert await migrate.current(engine) is None
    assert await table_names(engine) <= {"alembic_version"}
    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    assert await schema_diff(engine) == []


async def test_rows_written_at_the_first_revision_survive_the_upgrade(
    engine: AsyncEngine, fallback_file: object
) -> None:
    first = migrate.revisions()[0]
    await migrate.upgrade(engine, first)
    keys = {name: uuid.uuid4() for name in ("diagnosis", "alert", "fix", "event")}
    diagnosis = {
        "key": keys["diagnosis"],
        "created_at": AT,
        "actor": "alice",
        "source": "slack",
        "channel": "#ops",
        "target_kind": "Pod",
        "target_namespace": "shop",
        "target_name": "web-1",
        "healthy": False,
        "finding_ids": ["oom-killed"],
        "findings": [{"id": "oom-killed", "title": "Container killed", "evidence": ["exit 137"]}],
        "duration_ms": 12.5,
        "api_requests": 7,
    }
    alert = {
        "key": keys["alert"],
        "rule": "KubePodCrashLooping",
        "fingerprint": "f00",
        "state": "firing",
        "target_kind": "Pod",
        "target_namespace": "shop",
        "target_name": "web-1",
        "channel": "#ops",
        "message_ts": "1714555800.0001",
        "message_id": None,
        "summary": "web-1 restarts",
        "created_at": AT,
        "updated_at": AT,
        "resolved_at": None,
        "resolve_key": None,
    }
    fix = {
        "key": keys["fix"],
        "playbook_id": "oom-killed",
        "title": "Raise the memory limit",
        "command": "kubectl set resources deploy/web --limits=memory=1Gi",
        "risk": "low",
        "patch": {"spec": {"x": 1}},
        "target_kind": "Deployment",
        "target_namespace": "shop",
        "target_name": "web",
        "diagnosis_key": keys["diagnosis"],
        "proposed_by": "kubewhy",
        "proposed_at": AT,
        "source": "slack",
        "channel": "#ops",
        "state": "approved",
        "approved_by": "bob",
        "approved_at": AT,
        "declined_by": None,
        "declined_at": None,
        "dry_run_result": {"ok": True},
        "applied_result": None,
        "applied_at": None,
        "updated_at": AT,
    }
    event = {
        "key": keys["event"],
        "proposal_key": keys["fix"],
        "event": "approved",
        "actor": "bob",
        "source": "slack",
        "result": None,
        "created_at": AT,
    }
    async with engine.begin() as conn:  # only the first revision's columns
        for model, row in ((Diagnosis, diagnosis), (Alert, alert), (FixProposal, fix), (FixEventRow, event)):
            await conn.execute(insert(model.__table__).values(**row))  # type: ignore[arg-type]

    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    async with db.make_sessionmaker(engine)() as session:
        assert await store.count_rows(session) == {
            "incidents": 0,
            "diagnoses": 1,
            "alerts": 1,
            "fix_proposals": 1,
            "fix_events": 1,
            "actions": 0,
        }
        for model, row in ((Diagnosis, diagnosis), (Alert, alert), (FixProposal, fix), (FixEventRow, event)):
            stored = (await session.execute(select(model).where(model.key == row["key"]))).scalar_one()
            assert {k: getattr(stored, k) for k in row} == row
            if hasattr(stored, "incident_id"):
                assert stored.incident_id is None

    # the upgraded database takes new records, linked to an incident this time
    audit = AuditLog(engine=engine, fallback_path=fallback_file)  # type: ignore[arg-type]
    audit.open_incident("INC-1", "web down")
    audit.record_alert(rule="KubePodCrashLooping", fingerprint="f00", state="resolved", incident="INC-1")
    await audit.aclose()
    assert audit.stats.to_fallback == 0
    async with db.make_sessionmaker(engine)() as session:
        old_alert = (await session.execute(select(Alert).where(Alert.key == keys["alert"]))).scalar_one()
        assert old_alert.state == "resolved" and old_alert.created_at == AT
