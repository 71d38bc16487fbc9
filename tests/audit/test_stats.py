"""``kubewhy stats`` (issue 27): fixes proposed, approved, applied and verified per playbook and over time, who
approved, time to approve, pages and acknowledgements, read from the audit database (SQLite and Postgres)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import db
from kubewhy.audit.models import WatchIncident
from kubewhy.audit.records import AlertRecord, FixEvent, FixProposed
from kubewhy.audit.stats import compute, render_text
from kubewhy.audit.verify import VerifyQueue
from kubewhy.audit.writer import AuditLog
from kubewhy.cli import main

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # ISO week 48; a week later is week 49


async def _history(engine: AsyncEngine, fallback: Path) -> None:
    """Week 48: three oom fixes (two applied: one resolved, one still failing; one declined). Week 49: one oom fix
    resolved, one probe fix proposed only. Two alerts, two watcher incidents paged, one acknowledged by erin."""
    audit = AuditLog(engine=engine, fallback_path=fallback, stream="stats")
    queue = VerifyQueue(engine, "")
    plan = [
        ("oom", MONDAY, "bob", timedelta(minutes=4), "resolved"),
        ("oom", MONDAY + timedelta(days=1), "carol", timedelta(minutes=10), "failing"),
        ("oom", MONDAY + timedelta(days=2), None, timedelta(minutes=1), None),
        ("oom", MONDAY + timedelta(days=7), "bob", timedelta(minutes=2), "resolved"),
        ("probe", MONDAY + timedelta(days=8), None, None, None),
    ]
    verdicts = []
    for playbook, at, approver, wait, verdict in plan:
        key = audit.record(FixProposed(playbook_id=playbook, title="fix", proposed_by="kubewhy", at=at))
        if wait is None:
            continue
        if approver is None:
            audit.record(FixEvent(proposal_key=key, event="declined", actor="dave", at=at + wait))
            continue
        audit.record(FixEvent(proposal_key=key, event="approved", actor=approver, at=at + wait))
        audit.record(FixEvent(proposal_key=key, event="applied", actor=approver, at=at + wait))
        assert verdict is not None
        verdicts.append((key, at + wait, verdict))
    audit.record(AlertRecord(rule="PodCrashLooping", fingerprint="a", at=MONDAY))
    audit.record(AlertRecord(rule="PodCrashLooping", fingerprint="b", at=MONDAY + timedelta(days=1)))
    await audit.aclose()
    for key, at, verdict in verdicts:
        job = await queue.schedule(target="pod/q1/x", finding_id="oom", actor="bob", due_at=at, proposal_key=key)
        await queue.finish(job.id, verdict, {})
    async with db.make_sessionmaker(engine)() as session, session.begin():
        for n, ack in ((1, timedelta(minutes=6)), (2, None)):
            paged = MONDAY + timedelta(hours=n)
            session.add(
                WatchIncident(
                    ref=f"W-{n}",
                    cluster="c",
                    rule="crashloop",
                    subject=f"pod/q1/p{n}",
                    fingerprint=f"f{n}",
                    state="acknowledged" if ack else "open",
                    severity="page",
                    title="t",
                    first_seen=paged,
                    last_seen=paged,
                    notified_at=paged,
                    acknowledged_by="erin" if ack else None,
                    acknowledged_at=paged + ack if ack else None,
                )
            )


async def test_fixes_per_playbook_and_over_time(migrated: AsyncEngine, fallback_file: Path) -> None:
    await _history(migrated, fallback_file)
    stats = await compute(migrated, bucket="week")
    oom = stats.playbooks["oom"]
    assert (oom.proposed, oom.approved, oom.declined, oom.applied) == (4, 3, 1, 3)
    assert (oom.resolved, oom.still_failing, oom.success_rate) == (2, 1, 0.667)
    assert dict(oom.approvers) == {"bob": 2, "carol": 1}
    data = stats.to_dict()
    assert data["playbooks"]["oom"]["median_seconds_to_approve"] == 240.0
    assert data["playbooks"]["probe"]["proposed"] == 1 and data["playbooks"]["probe"]["success_rate"] is None
    assert data["over_time"]["2026-W48"]["oom"]["success_rate"] == 0.5
    assert data["over_time"]["2026-W49"]["oom"]["success_rate"] == 1.0
    assert data["pages"]["alerts_fired"] == 2 and data["pages"]["incidents_paged"] == 2
    assert data["pages"]["acknowledged_by"] == {"erin": 1}
    assert data["pages"]["median_seconds_to_acknowledge"] == 360.0

    week49 = await compute(migrated, since=MONDAY + timedelta(days=7))
    assert set(week49.playbooks) == {"oom", "probe"} and week49.total.proposed == 2
    text = render_text(stats)
    assert "oom" in text and "67%" in text and "bob 2" in text and "erin 1" in text


async def test_the_command_prints_text_and_json(db_url: str, migrated: AsyncEngine, fallback_file: Path) -> None:
    await _history(migrated, fallback_file)

    def command(*extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["stats", "--database-url", db_url, *extra], environ={})
        return code, out.getvalue()

    code, printed = await asyncio.to_thread(command, "-o", "json", "--by", "day")
    assert code == 0
    data = json.loads(printed)
    assert data["fixes"]["proposed"] == 5 and data["over_time"]["2026-11-24"]["oom"]["verified"]["still_failing"] == 1
    code, printed = await asyncio.to_thread(command)
    assert code == 0 and "Success rate by week" in printed
    code, _ = await asyncio.to_thread(command, "--since", "yesterday-ish")
    assert code == 2


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path) -> None:
    """``kubewhy stats | head -1``: the rest of the table is dropped quietly, buffered output or not."""
    for unbuffered in ("1", ""):
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "PYTHONUNBUFFERED": unbuffered}
        database = f"sqlite:///{tmp_path / 'a.db'}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubewhy", "stats", "--database-url", database],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # gone before anything is printed
        errors = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0 and "Traceback" not in errors and "BrokenPipe" not in errors, errors
