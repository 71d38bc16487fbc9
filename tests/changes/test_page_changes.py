"""The top changes on a page: kept with the cause in the incident's ledger entry (updates re-render from it), shown
under the cause in Slack, and on ``kubewhy watch --stdout`` (text and JSON lines). The report is a real diagnosis
of a snapshot: the memory limit lowered, then OOM kills, with a label edit closer to the onset as a decoy."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime

from bot.pager import incident_blocks
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.audit.ledger import LedgerIncident
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from kubewhy.watch.notify import Page, StdoutNotifier, cause_of, top_changes
from tests.bot.test_slack_bot import text_of

from .objects import cluster

AT = datetime(2024, 6, 14, 9, 42, tzinfo=UTC)


def _report() -> Report:
    kube = SnapshotKube([], objects=cluster("memory"))
    deps = Deps(kube=kube, catalog=load_dirs([]), clock=kube.clock)
    return asyncio.run(diagnose(parse_target("pod/app/web-bbb222-x1"), deps))


def _incident(cause: dict[str, object] | None) -> LedgerIncident:
    return LedgerIncident(
        id=7,
        ref="W-20240614-000007",
        cluster="test",
        rule="oom-killed",
        subject="deploy/app/web",
        fingerprint="f",
        state="open",
        severity="warning",
        title="container web of pod/app/web-bbb222-x1 OOMKilled",
        channel="#alerts",
        message_ts=None,
        claimed_by=None,
        count=1,
        absorbed=0,
        parent_id=None,
        first_seen=AT,
        last_seen=AT,
        notified_at=None,
        acknowledged_by=None,
        resolved_at=None,
        resolved_by=None,
        details={"cause": cause} if cause else {},
    )


def test_a_page_shows_the_top_changes_under_its_cause_and_its_updates_keep_them() -> None:
    report = _report()
    changed = top_changes(report)
    assert len(changed) >= 2 and changed[0].startswith("likely cause, the memory limit was lowered, then OOMKilled")
    assert any("kubectl-label" in line for line in changed[1:])  # the decoy: listed, not blamed
    cause = cause_of(report)
    assert cause is not None and cause["changes"] == changed and cause["id"] != "what-changed"

    first = text_of([b.to_dict() for b in incident_blocks(Page("page", _incident(cause), "x", report))])
    update = text_of([b.to_dict() for b in incident_blocks(Page("update", _incident(cause), "x"))])  # the ledger's
    for rendered in (first, update):
        assert "What changed before it started" in rendered and "memory limit was lowered" in rendered
        assert rendered.index("*Cause:*") < rendered.index("What changed before it started")
    bare = {k: v for k, v in cause.items() if k != "changes"}  # a diagnosis without changes: no section
    assert "What changed" not in text_of([b.to_dict() for b in incident_blocks(Page("update", _incident(bare), "x"))])


def test_stdout_pages_carry_the_first_change_and_json_lines_the_top_ones() -> None:
    report = _report()
    out = io.StringIO()
    asyncio.run(StdoutNotifier(stream=out).post(Page("page", _incident(cause_of(report)), "paged", report)))
    assert "| changed: likely cause, the memory limit was lowered" in out.getvalue()
    lines = io.StringIO()
    asyncio.run(StdoutNotifier(json_lines=True, stream=lines).post(Page("page", _incident(None), "paged", report)))
    assert json.loads(lines.getvalue())["changes"] == top_changes(report)
