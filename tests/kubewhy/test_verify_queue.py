"""The verify-after-fix jobs in the audit database: due jobs run once whatever the number of replicas, and a job
whose claimer died is taken over after the claim timeout (issue 27: "verify-after-fix is a database job")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubewhy.app import Kubewhy
from kubewhy.settings import load

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_a_due_job_is_claimed_once_and_taken_over_when_its_claimer_dies(tmp_path: Path) -> None:
    env = {"KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "HOME": str(tmp_path)}
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        queue = await app.verifications()
        job = await queue.schedule(target="svc/q4/web", finding_id="service-no-endpoints", actor="U1", due_at=AT)
        await queue.schedule(target="svc/q9/api", finding_id="x", actor="U1", due_at=AT + timedelta(minutes=5))
        assert await queue.claim_due("replica-a", at=AT - timedelta(seconds=1)) == []  # not due yet
        assert [j.id for j in await queue.claim_due("replica-a", at=AT)] == [job.id]
        assert await queue.claim_due("replica-b", at=AT + timedelta(seconds=30)) == []  # replica-a holds it
        taken = await queue.claim_due("replica-b", at=AT + timedelta(seconds=61))  # replica-a died meanwhile
        assert [j.id for j in taken] == [job.id]
        await queue.finish(job.id, "resolved", {"summary": "gone"})
        assert await queue.claim_due("replica-c", at=AT + timedelta(minutes=3)) == []  # done: never again
    async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:  # a new process
        jobs = await (await restarted.verifications()).jobs()
        assert [(j.target, j.state) for j in jobs] == [("svc/q4/web", "resolved"), ("svc/q9/api", "pending")]
