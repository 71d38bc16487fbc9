"""``kubewhy history`` and ``kubewhy postmortem`` over what was recorded, on both backends (through the CLI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy import cli
from kubewhy.audit import AuditLog, db, schedule_retention, store
from kubewhy.audit.records import AlertRecord, DiagnosisRecord, FixEvent, FixProposed, IncidentOpened, IncidentResolved
from kubewhy.audit.retention import JOB_ID
from kubewhy.models.findings import Finding, Report
from kubewhy.models.target import Target

NOW = datetime.now(UTC).replace(microsecond=0)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def cascade_report() -> Report:
    """Seed 002's incident in small: a noisy alerting job eats node memory, nodes go NotReady, pods die."""
    return Report(
        target=Target("Pod", "grafana-0", "monitoring"),
        findings=[
            Finding(
                "node-oom",
                "Node ran out of memory",
                "critical",
                "SystemOOM on ip-10-150-36-156",
                "node/ip-36",
                "node",
                evidence=("SystemOOM encountered (x4)",),
            ),
            Finding(
                "oom-killed",
                "Container killed for running out of memory",
                "critical",
                "elastalert exit 137",
                "pod/logging/elastalert-1",
                "pod",
                caused_by=("node-oom",),
            ),
            Finding(
                "node-not-ready",
                "Node NotReady",
                "critical",
                "kubelet stopped posting status",
                "node/ip-39",
                "node",
                caused_by=("node-oom",),
            ),
        ],
    )


async def record_incident(engine: AsyncEngine, fallback_file: Path) -> None:
    audit = AuditLog(engine=engine, fallback_path=fallback_file)
    audit.record(
        IncidentOpened(ref="INC-2", title="Grafana and Prometheus unreachable", actor="tibo", source="slack", at=at(90))
    )
    audit.record(
        AlertRecord(
            rule="KubeNodeNotReady",
            fingerprint="n39",
            target_kind="Node",
            target_name="ip-39",
            channel="#ops",
            message_ts="1700000000.000100",
            at=at(88),
            incident="INC-2",
            summary="ip-39 NotReady",
        )
    )
    audit.record(
        DiagnosisRecord.from_report(
            cascade_report(), actor="tibo", source="slack", channel="#ops", incident="INC-2", at=at(85)
        )
    )
    fix = FixProposed(
        playbook_id="oom-killed",
        title="Cap the elastalert memory and set max_query_size",
        command="kubectl -n logging set resources deploy/elastalert --limits=memory=512Mi",
        target_kind="Deployment",
        target_namespace="logging",
        target_name="elastalert",
        proposed_by="kubewhy",
        source="slack",
        incident="INC-2",
        at=at(80),
    )
    audit.record(fix)
    audit.record(FixEvent(proposal_key=fix.key, event="dry_run", actor="kubewhy", result={"ok": True}, at=at(79)))
    audit.record(FixEvent(proposal_key=fix.key, event="approved", actor="maria", source="slack", at=at(78)))
    audit.record(
        FixEvent(
            proposal_key=fix.key,
            event="applied",
            actor="kubewhy",
            result={"ok": True, "message": "deployment patched"},
            at=at(77),
        )
    )
    audit.record(AlertRecord(rule="KubeNodeNotReady", fingerprint="n39", state="resolved", at=at(60)))
    audit.record(
        IncidentResolved(
            ref="INC-2",
            actor="tibo",
            at=at(55),
            summary="An alert rule without use_count_query loaded millions of documents.",
        )
    )
    # unrelated and old: outside --since 2h, not in the incident
    audit.record(
        DiagnosisRecord.from_report(Report(target=Target("Pod", "batch-1", "jobs")), actor="old", at=at(60 * 24 * 40))
    )
    await audit.aclose()
    assert audit.stats.to_fallback == 0, audit.stats.warnings


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_history_filters_by_time_and_target(
    migrated: AsyncEngine, db_url: str, fallback_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await record_incident(migrated, fallback_file)
    async with db.make_sessionmaker(migrated)() as session:
        recent = await store.history(session, since=at(120))
        everything = await store.history(session)
        grafana = await store.history(session, target=store.TargetFilter("Pod", "grafana-0"))
    assert len(everything) == len(recent) + 1
    assert [h.kind for h in reversed(recent)] == [
        "incident",
        "alert",
        "diagnosis",
        "fix",
        "fix_event",
        "fix_event",
        "fix_event",
        "alert",
        "incident",
    ]
    assert [h.kind for h in grafana] == ["diagnosis"]
    assert "caused by node-oom" in grafana[0].summary and grafana[0].channel == "#ops"

    code, out, _ = await_cli(capsys, "history", "--since", "2h", "-o", "json", "--database-url", db_url)
    rows = json.loads(out)
    assert code == 0 and len(rows) == len(recent)
    assert {r["actor"] for r in rows} >= {"tibo", "maria", "kubewhy"}
    approved = next(r for r in rows if r["summary"].startswith("approved:"))
    assert approved["actor"] == "maria" and approved["target"] == "deploy/logging/elastalert"
    code, out, _ = await_cli(capsys, "history", "--target", "node/ip-39", "--database-url", db_url)
    assert code == 0 and "KubeNodeNotReady firing" in out and "KubeNodeNotReady resolved" in out
    assert "grafana" not in out
    assert await_cli(capsys, "history", "--since", "yesterday-ish", "--database-url", db_url)[0] == 2


def await_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # the CLI runs its own event loop (asyncio.run): call it from a thread so it does not meet ours
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        code = pool.submit(cli.main, list(argv)).result()
    out, err = capsys.readouterr()
    return code, out, err


async def test_postmortem_has_the_timeline_causes_alerts_and_approvals(
    migrated: AsyncEngine, db_url: str, fallback_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await record_incident(migrated, fallback_file)
    out_file = tmp_path / "pm.md"
    code, _, err = await_cli(capsys, "postmortem", "INC-2", "-o", str(out_file), "--database-url", db_url)
    assert code == 0, err
    md = out_file.read_text()
    assert md.startswith("# Post-mortem: Grafana and Prometheus unreachable (INC-2)")
    assert "**Duration:** 35 min" in md and "use_count_query" in md
    timeline = md.split("## Timeline")[1].split("## Causes found")[0]
    order = [
        "INC-2 opened",
        "KubeNodeNotReady firing",
        "Node ran out of memory",
        "proposed: Cap the elastalert",
        "dry-run: Cap",
        "approved: Cap",
        "applied: Cap",
        "KubeNodeNotReady resolved",
        "INC-2 resolved",
    ]
    positions = [timeline.index(s) for s in order]
    assert positions == sorted(positions)
    causes = md.split("## Causes found")[1].split("## Alerts")[0]
    assert "**Node ran out of memory** (`node-oom`, node/ip-36; root cause" in causes
    assert "consequence of `node-oom`" in causes and causes.count("consequence of") == 2
    alerts = md.split("## Alerts")[1].split("## Fixes")[0]
    assert "KubeNodeNotReady" in alerts and "1700000000.000100" in alerts
    fixes = md.split("## Fixes")[1]
    assert "approved by maria" in fixes and "| applied |" in fixes and "ok: deployment patched" in fixes
    assert "batch-1" not in md
    assert await_cli(capsys, "postmortem", "INC-404", "--database-url", db_url)[0] == 3


async def test_prune_and_the_scheduled_retention_job(
    migrated: AsyncEngine, db_url: str, fallback_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await record_incident(migrated, fallback_file)
    code, out, _ = await_cli(capsys, "db", "prune", "--older-than", "30d", "--database-url", db_url)
    assert code == 0 and "1 diagnoses" in out
    async with db.make_sessionmaker(migrated)() as session:
        assert (await store.count_rows(session))["diagnoses"] == 1

    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    scheduler = AsyncIOScheduler()
    job = schedule_retention(scheduler, audit, timedelta(minutes=30))
    assert scheduler.get_job(JOB_ID) is job and job.max_instances == 1 and job.coalesce
    assert schedule_retention(scheduler, audit, timedelta(minutes=30)).id == JOB_ID  # replaced, not doubled
    assert len(scheduler.get_jobs()) == 1
    counts = await job.func(*job.args)  # what the scheduler will run
    assert counts["diagnoses"] == 1 and counts["fix_proposals"] == 1 and counts["incidents"] == 1
    async with db.make_sessionmaker(migrated)() as session:
        assert await store.count_rows(session) == dict.fromkeys(store.TABLES, 0)
    await audit.aclose()
    with pytest.raises(ValueError):
        schedule_retention(scheduler, audit, timedelta(0))
