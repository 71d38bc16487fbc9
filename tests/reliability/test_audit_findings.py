"""Issue 15, "Found: the audit log": each finding, on SQLite (a temporary file) and the machine's Postgres."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kubewhy import actions
from kubewhy.audit import db, fallback, migrate, store
from kubewhy.audit.records import FixEvent, FixProposed
from kubewhy.audit.writer import AuditLog, RetryPolicy, is_transient
from kubewhy.cli import main
from tests.audit.conftest import create_pg_database, drop_pg_database, pg_url
from tests.audit.test_writer import report
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import SECRET
from tests.reliability.conftest import signed_headers
from tests.reliability.pgcluster import PrivatePostgres
from tests.scenarios import KUBELET_SAMPLE
from tests.waiting import until, until_answer

QUICK = RetryPolicy(base_delay=0.01, max_delay=0.05, give_up_after=0.3, write_timeout=2.0)
PATIENT = RetryPolicy(base_delay=0.01, max_delay=0.1, give_up_after=30.0, write_timeout=5.0)


@pytest.fixture
async def pg() -> AsyncIterator[str]:
    name = await create_pg_database()
    yield name
    await drop_pg_database(name)


async def rows(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            return await store.count_rows(session)
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------- 1. SIGTERM


async def test_sigterm_flushes_every_queued_record(start_sim: Any, tmp_path: Path) -> None:
    """The bot as a process: 40 clicks recorded while SQLite is locked, then SIGTERM (what Kubernetes sends)."""
    import sqlite3

    import aiohttp

    sim = start_sim("workshop", timeline_mode="manual")
    double = SlackDouble()
    api = await double.start()
    path, port, log = tmp_path / "audit.db", free_port(), tmp_path / "bot.log"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "KUBEWHY_SLACK_API_URL": api,
        "KUBECONFIG": str(sim.kubeconfig),
        "KUBEWHY_DATABASE_URL": f"sqlite:///{path}",
        "PORT": str(port),
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        "KUBEWHY_SLACK_NAMESPACES": "q5",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kubewhy", "bot"], env=env, stdout=out, stderr=subprocess.STDOUT)

    posted: dict[str, str] = {}

    async def send(body: bytes) -> int:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
            ) as resp:
                return resp.status

    async def why() -> int:  # the message the clicks are on: the bot acts only on messages it posted
        fields = {"command": "/k8s", "text": "why db-0 -n q5", "user_id": "U0A", "channel_id": "C0"}
        return await send(urllib.parse.urlencode({**fields, "team_id": "T0001", "trigger_id": "why"}).encode())

    async def click(i: int) -> int:
        payload = {
            "type": "block_actions",
            "user": {"id": "U0A", "team_id": "T0001"},
            "team": {"id": "T0001"},
            "container": {"type": "message", "message_ts": posted["ts"], "channel_id": "C0"},
            "channel": {"id": "C0"},
            "trigger_id": f"t{i}",
            "api_app_id": "A0",
            "actions": [
                {
                    "action_id": "kubewhy_events",
                    "block_id": "b",
                    "type": "button",
                    "value": '{"t":"pod/q5/db-0"}',
                    "action_ts": str(i),
                }
            ],
        }
        return await send(urllib.parse.urlencode({"payload": __import__("json").dumps(payload)}).encode())

    try:  # until it listens (start-up verified the token first)
        await until_answer(why, lambda status: status == 200, retry_on=(aiohttp.ClientError,))
        await double.wait_for("chat.postMessage", 1)
        await double.wait_for("chat.update", 1)  # the answer, with its buttons, is on the message
        posted["ts"] = double.answers("chat.postMessage")[0]["ts"]
        assert await click(0) == 200
        await double.wait_for("chat.postMessage", 2)
        await until_answer(  # the first record is in: the schema exists
            lambda: rows(f"sqlite+aiosqlite:///{path}"),
            lambda counts: counts.get("actions", 0) == 1,
            retry_on=(OperationalError,),  # not migrated yet
        )
        lock = sqlite3.connect(path, timeout=5)
        lock.execute("BEGIN EXCLUSIVE")  # the database is busy: records wait in the writer's queue
        assert await asyncio.gather(*(click(i) for i in range(1, 41))) == [200] * 40
        await double.wait_for("chat.postMessage", 42)  # every click was handled, so every record was queued
        proc.send_signal(signal.SIGTERM)
        await until(lambda: "bot stopping" in log.read_text(), what="the bot to stop", detail=log.read_text)
        lock.rollback()  # the database is free again only once the process is on its way out
        lock.close()
        code = await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
        await double.stop()
    output = log.read_text()
    assert code == 0, output
    stored = (await rows(f"sqlite+aiosqlite:///{path}"))["actions"]
    kept = fallback.pending(tmp_path / "fallback.jsonl") if (tmp_path / "fallback.jsonl").exists() else 0
    assert stored + kept == 41, output  # records expected vs stored (+ kept for the next start): none lost
    assert "stopping" in output and "0 lost" in output


# ------------------------------------------------------------------------------------- 2. why: record before report


def test_why_writes_its_row_before_the_report_appears(start_sim: Any, pg: str, tmp_path: Path) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    url = pg_url(pg)
    env = {
        **os.environ,
        "KUBECONFIG": str(sim.kubeconfig),
        "KUBEWHY_DATABASE_URL": url,
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
    }
    asyncio.run(migrate.upgrade(db.make_engine(url)))
    killed = 0
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubewhy", "why", "pod/q1/app-7d4b9c6f5-x2x7k"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the report's first line ...
        proc.kill()  # ... and the process is gone at once
        proc.wait()
        killed += bool(first)
    assert killed == 3
    assert asyncio.run(rows(url))["diagnoses"] == 3  # records expected vs stored


# ------------------------------------------------------------------------------------- 3. outages


@asynccontextmanager
async def shutting_down(pg: PrivatePostgres) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The private Postgres in a smart shutdown (``pg_ctl stop -m smart``, as a restart begins): one session stays
    open, so the server waits for it and answers every new connection with FATAL 57P03 "the database system is
    shutting down". The function yielded ends that session; the server stops and is started again."""
    held = await asyncpg.connect(pg.admin_dsn)
    await asyncio.to_thread(pg.stop, "smart", wait=False)

    async def restart() -> None:
        if not held.is_closed():
            await held.close()
            await asyncio.to_thread(pg.wait_stopped)
            await asyncio.to_thread(pg.start)

    try:
        yield restart
    finally:
        await restart()


async def migrated(url: str) -> None:
    """The schema at head, its connection closed (an open one would hold a smart shutdown)."""
    engine = db.make_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def test_shutting_down_is_retried_not_sent_to_the_fallback_file(
    private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    pg, url = private_pg
    await migrated(url)
    audit = AuditLog(url, fallback_path=tmp_path / "fallback.jsonl", retry=PATIENT)
    async with shutting_down(pg) as restart:
        for i in range(50):
            audit.record_diagnosis(report(f"web-{i}"))
        await until(lambda: audit.stats.retries >= 1, what="a write refused while Postgres shuts down")
        last_error = audit.stats.last_error
        await restart()  # Postgres restarted: the retries get through
        await audit.aclose()
    assert "57P03" in last_error or "shutting down" in last_error
    assert audit.stats.to_fallback == 0
    assert (await rows(url))["diagnoses"] == 50


async def test_the_shutting_down_error_is_classified_transient(private_pg: tuple[PrivatePostgres, str]) -> None:
    pg, url = private_pg
    engine = db.make_engine(url)
    try:
        async with shutting_down(pg):
            with pytest.raises(Exception) as caught:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        assert "shutting down" in str(caught.value)
        assert is_transient(caught.value)
    finally:
        await engine.dispose()


async def test_a_running_writer_re_imports_its_own_fallback_file(
    private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    pg, url = private_pg
    await migrated(url)
    audit = AuditLog(url, fallback_path=tmp_path / "fallback.jsonl", retry=QUICK)
    await audit.start()
    await audit.flush()
    await asyncio.to_thread(pg.stop)  # Postgres goes away: the batches give up and go to the fallback file
    for i in range(100):
        audit.record_diagnosis(report(f"down-{i}"))
    await audit.flush()
    assert audit.stats.to_fallback == 100
    await asyncio.to_thread(pg.start)  # it is back: the next write brings the spilled records, without a restart
    audit.record_diagnosis(report("after"))
    await audit.flush()
    assert (await rows(url))["diagnoses"] == 101
    assert audit.stats.imported == 100
    await audit.aclose()
    assert not (tmp_path / "fallback.jsonl").exists() or fallback.pending(tmp_path / "fallback.jsonl") == 0


async def test_a_quiet_writer_re_imports_after_its_interval(
    private_pg: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    pg, url = private_pg
    await migrated(url)
    audit = AuditLog(url, fallback_path=tmp_path / "fallback.jsonl", retry=QUICK, replay_interval=0.2)
    await audit.start()
    await audit.flush()
    await asyncio.to_thread(pg.kill)  # SIGKILL: the postmaster and its backends gone
    for i in range(10):
        audit.record_diagnosis(report(f"down-{i}"))
    await audit.flush()
    await asyncio.to_thread(pg.start)  # nothing else is recorded: the interval alone brings them back
    await until_answer(lambda: rows(url), lambda counts: counts["diagnoses"] == 10, what="the re-import")
    await audit.aclose()


# ------------------------------------------------------------------------------------- 4. bad settings


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgresql://kw:hunter2@db.example:port/audit", "malformed URL"),
        ("postgresql://kw@127.0.0.1:54x2/audit", "malformed URL"),
        ("postgresql://kw@[::1/audit", "malformed URL"),
        ("mysql://kw@db/audit", "unsupported database 'mysql'"),
        ("audit.db", "expected a URL"),
    ],
)
@pytest.mark.parametrize("command", [["history"], ["db", "current"], ["db", "upgrade"], ["postmortem", "INC-1"]])
def test_bad_database_urls_are_named_without_a_traceback(
    url: str, expected: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(command, {"KUBEWHY_DATABASE_URL": url, "HOME": "/nonexistent"})
    err = capsys.readouterr().err
    assert code == 2
    assert "KUBEWHY_DATABASE_URL" in err and expected in err and "Traceback" not in err
    assert "hunter2" not in err  # a password is never shown


async def old_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    await migrate.upgrade(engine, migrate.revisions()[0])
    await engine.dispose()
    return url


def test_an_old_revision_points_at_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubewhy.audit import queries
    from kubewhy.errors import AuditStoreError

    url = asyncio.run(old_database(tmp_path))
    assert main(["db", "current"], {"KUBEWHY_DATABASE_URL": url}) == 0
    assert "behind head" in capsys.readouterr().out

    async def read() -> None:  # a reader whose writer does not migrate is told what to run
        audit = AuditLog(url, fallback_path=tmp_path / "fb.jsonl")
        try:
            await queries.postmortem_markdown(audit, "INC-1")
        finally:
            await audit.aclose()

    with pytest.raises(AuditStoreError, match="run `kubewhy db upgrade`"):
        asyncio.run(read())
    # `kubewhy postmortem` imports pending records first (issue 25), so its writer brings the schema to head
    assert main(["postmortem", "INC-1"], {"KUBEWHY_DATABASE_URL": url}) == 3
    assert "Traceback" not in capsys.readouterr().err
    assert main(["db", "current"], {"KUBEWHY_DATABASE_URL": url}) == 0
    assert "up to date" in capsys.readouterr().out


async def future_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'future.db'}"
    engine = db.make_engine(url)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    await engine.dispose()
    return url


def test_a_newer_unknown_revision_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = asyncio.run(future_database(tmp_path))
    assert main(["db", "current"], {"KUBEWHY_DATABASE_URL": url}) == 0
    out = capsys.readouterr().out
    assert "0099_from_the_future" in out and "unknown to this kubewhy" in out and "behind" not in out
    code = main(["db", "upgrade"], {"KUBEWHY_DATABASE_URL": url})
    err = capsys.readouterr().err
    assert code != 0 and "does not know" in err and "upgrade kubewhy" in err and "Traceback" not in err


async def test_a_writer_on_a_newer_revision_says_so_at_once_and_keeps_writing(tmp_path: Path) -> None:
    url = await future_database(tmp_path)
    audit = AuditLog(url, fallback_path=tmp_path / "fallback.jsonl", auto_migrate=True)
    audit.record_diagnosis(report())
    await audit.aclose()
    assert any("does not know" in w for w in audit.stats.warnings)
    assert (await rows(url))["diagnoses"] == 1  # the tables it knows are still there


def test_a_lost_record_exits_non_zero_and_each_warning_shows_once(
    start_sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(
        ["why", "pod/q1/app-7d4b9c6f5-x2x7k"],
        {
            "KUBECONFIG": str(sim.kubeconfig),
            "XDG_DATA_HOME": str(tmp_path),
            "KUBEWHY_AUDIT_FALLBACK": str(blocker / "fallback.jsonl"),
            **KUBELET_SAMPLE,
        },
    )  # neither spool nor fallback writable
    captured = capsys.readouterr()
    assert "OOMKilled" in captured.out  # the diagnosis itself was shown
    assert code == 5
    assert captured.err.count("LOST 1 record") == 1
    assert len(captured.err.splitlines()) == len(set(captured.err.splitlines()))  # no line twice


async def test_concurrent_first_starts_on_a_fresh_postgres_take_turns(pg: str) -> None:
    engines = [db.make_engine(pg_url(pg)) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate.ensure_head(e) for e in engines), return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert await migrate.current(engines[0]) == migrate.head()
    finally:
        for e in engines:
            await e.dispose()


# ------------------------------------------------------------------------------------- 5. post-mortem gaps


async def test_incident_open_after_a_linked_diagnosis_keeps_the_title(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    audit = AuditLog(url, fallback_path=tmp_path / "f.jsonl", auto_migrate=True)
    audit.record_diagnosis(report(), incident="INC-7")
    await audit.flush()
    audit.open_incident("INC-7", "checkout is down", actor="alice")
    await audit.flush()
    markdown = await actions.postmortem(audit, "INC-7")
    await audit.aclose()
    assert markdown is not None and "checkout is down" in markdown


async def test_a_proposal_re_imported_after_its_events_shows_its_real_state(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    proposal = FixProposed(
        playbook_id="oom-killed",
        title="Raise the limit",
        command="kubectl ...",
        target_kind="Deployment",
        target_namespace="shop",
        target_name="web",
    )
    audit = AuditLog(url, fallback_path=tmp_path / "f.jsonl", auto_migrate=True)
    audit.record(FixEvent(proposal_key=proposal.key, event="approved", actor="U1"))
    audit.record(FixEvent(proposal_key=proposal.key, event="applied", actor="kubewhy", result={"ok": True}))
    await audit.flush()
    audit.record(proposal)  # the proposal arrives last (it waited in a fallback file)
    await audit.aclose()
    reader = AuditLog(url, fallback_path=tmp_path / "f.jsonl")
    entries = await actions.history(reader, target_name="web", target_kind="Deployment")
    await reader.aclose()
    proposed = [e for e in entries if e.kind == "fix"]
    assert proposed and "(now applied)" in proposed[0].summary


async def test_slack_clicks_and_views_join_the_incident_post_mortem(rbot: Any) -> None:
    from bot import blocks
    from tests.bot.test_slack_bot import all_elements

    await rbot.command("why db-0 -n q5 --incident INC-77")
    message = (await rbot.double.wait_for("chat.update"))[0]
    values = {e.get("action_id"): e.get("value") for e in all_elements(message["blocks"])}
    assert '"i":"INC-77"' in values[blocks.ACTION_EVENTS]
    await rbot.click(message, blocks.ACTION_EVENTS)
    await rbot.click(message, blocks.ACTION_DESCRIBE)
    await rbot.double.wait_for("chat.postMessage", 3)
    audit = rbot.deps.app.audit
    await audit.flush()
    timeline = [e for e in await actions.history(audit, incident="INC-77", limit=100)]
    kinds = sorted((e.kind, e.summary) for e in timeline if e.kind in ("action", "diagnosis"))
    assert ("action", "describe") in kinds and ("action", "show events") in kinds
    assert any(k == "diagnosis" for k, _ in kinds)
    markdown = await actions.postmortem(audit, "INC-77")
    assert markdown is not None and "show events" in markdown and "describe" in markdown


async def test_a_forged_incident_in_a_button_is_refused(rbot: Any) -> None:
    from bot import blocks
    from tests.reliability.test_slack_findings import click_payload

    await rbot.interact(click_payload(blocks.ACTION_EVENTS, '{"t":"pod/q5/db-0","i":"<!channel> x"}'))
    refused = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert "incident is not valid" in refused["text"]
