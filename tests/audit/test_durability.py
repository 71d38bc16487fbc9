"""Append-only files are written whole or not at all, a torn tail never costs the record after it, the spool is
keyed by where the database is, pending records reach ``postmortem``, a missing driver is a permanent error,
and pages are credited to the watchers."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from kubewhy.audit import AuditLog, fallback, queries, spool
from kubewhy.audit.records import ActionRecord
from kubewhy.audit.writer import is_transient, missing_driver


class FullDisk:
    """A write-fault layer under ``os.write``: while ``full``, a write to the watched file writes at most
    ``room`` bytes (a short write) and then fails with ENOSPC, as a filesystem out of space does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path):
        self.path, self.full, self.room, self.failed = path, False, 7, 0
        real = os.write

        def write(fd: int, data: bytes) -> int:  # type: ignore[override]
            if self.full and os.path.realpath(f"/proc/self/fd/{fd}") == str(self.path.resolve()):
                if self.room:
                    real(fd, bytes(data)[: self.room])
                self.failed += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd, data)

        monkeypatch.setattr(os, "write", write)


def action(i: int) -> ActionRecord:
    return ActionRecord(action="show_logs", actor=f"U{i}", source="slack", target_kind="Pod", target_name=f"p{i}")


def test_a_full_disk_then_space_freed_loses_only_the_records_that_failed_and_none_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "audit-fallback.jsonl"
    fallback.append(path, [action(0)], "db down")
    disk = FullDisk(monkeypatch, path)
    disk.full = True
    for i in (1, 2):  # each append fails after a short write: reported to the caller, never half a line left
        with pytest.raises(OSError):
            fallback.append(path, [action(i)], "db down")
    assert disk.failed == 2 and path.read_bytes().endswith(b"\n") and path.read_text().count("\n") == 1
    disk.full = False  # space freed
    fallback.append(path, [action(3), action(4)], "db down")
    taken = fallback.take(path)
    assert taken.unreadable == []
    assert [r.actor for r in taken.records] == ["U0", "U3", "U4"]  # every record after the full disk is read


def test_a_torn_tail_left_by_a_killed_process_costs_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "audit-fallback.jsonl"
    fallback.append(path, [action(0)], "db down")
    with path.open("ab") as fh:  # a process killed mid-write (an older kubewhy, or a kernel without space)
        fh.write(b'{"record": {"type": "action", "actor": "U')
    fallback.append(path, [action(1)], "db down")  # starts on a line of its own
    taken = fallback.take(path)
    assert [r.actor for r in taken.records] == ["U0", "U1"]
    assert len(taken.unreadable) == 1 and ":2:" in taken.unreadable[0]  # the torn line, named, kept for a human


async def test_after_a_full_disk_every_later_record_is_stored(
    monkeypatch: pytest.MonkeyPatch, migrated: AsyncEngine, fallback_file: Path
) -> None:
    url = migrated.url.render_as_string(hide_password=False)
    cli = AuditLog(url, fallback_path=fallback_file, spool=True)  # records go to the spool file first
    cli.record_action("show_logs", actor="U0", source="slack")
    disk = FullDisk(monkeypatch, cli.spool_path)
    disk.full = True
    cli.record_action("show_logs", actor="U1", source="slack")  # the spool and then the fallback file... full
    disk.full = False
    for i in range(2, 6):
        cli.record_action("show_logs", actor=f"U{i}", source="slack")
    await cli.aclose()
    writer = AuditLog(engine=migrated, fallback_path=fallback_file)
    entries = await queries.history(writer, limit=50)
    await writer.aclose()
    assert disk.failed == 1  # the spool's disk was full for U1: it went to the fallback file instead
    assert sorted(e.actor for e in entries if e.kind == "action") == ["U0", "U1", "U2", "U3", "U4", "U5"]
    assert not any("unreadable" in w for w in writer.stats.warnings)  # no torn line glued to the next record


def test_the_spool_is_keyed_by_where_the_database_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fb = tmp_path / "audit-fallback.jsonl"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    in_a = spool.spool_path(fb, "sqlite+aiosqlite:///audit.db")
    assert in_a == spool.spool_path(fb, f"sqlite+aiosqlite:///{tmp_path / 'a' / 'audit.db'}")  # the same file
    assert in_a == spool.spool_path(fb, f"sqlite+aiosqlite:///{tmp_path / 'b' / '..' / 'a' / 'audit.db'}")
    monkeypatch.chdir(tmp_path / "b")
    assert spool.spool_path(fb, "sqlite+aiosqlite:///audit.db") != in_a  # another directory: another database
    pg = spool.spool_path(fb, "postgresql+asyncpg://kw:secret@db.example:5432/audit")
    assert pg == spool.spool_path(fb, "postgresql+asyncpg://kw:other@db.example/audit")  # no password, port 5432
    assert pg != spool.spool_path(fb, "postgresql+asyncpg://kw@db.example:5433/audit")


async def test_postmortem_imports_pending_records_first(migrated: AsyncEngine, fallback_file: Path) -> None:
    url = migrated.url.render_as_string(hide_password=False)
    cli = AuditLog(url, fallback_path=fallback_file, spool=True)  # `kubewhy why --incident INC-7` spooled it
    cli.open_incident("INC-7", "checkout errors", actor="ann", source="cli")
    cli.record_action("show_logs", actor="ann", source="cli", incident="INC-7")
    await cli.aclose()
    reader = AuditLog(engine=migrated, fallback_path=fallback_file)
    text = await queries.postmortem_markdown(reader, "INC-7")
    await reader.aclose()
    assert text is not None and "checkout errors" in text


def test_a_missing_driver_is_a_permanent_error_with_a_clear_message() -> None:
    exc = ModuleNotFoundError("No module named 'asyncpg'", name="asyncpg")
    assert not is_transient(exc)
    message = missing_driver(exc, "postgresql+asyncpg://kw@db/audit")
    assert message is not None and "not installed" in message and "pip install asyncpg" in message
    assert missing_driver(OSError("refused"), "postgresql+asyncpg://kw@db/audit") is None


def test_history_says_when_its_limit_cuts_the_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from kubewhy.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"

    async def record() -> None:
        audit = AuditLog(url, fallback_path=tmp_path / "fb.jsonl", auto_migrate=True)
        for i in range(7):
            audit.record_action("show_logs", actor=f"U{i}", source="slack")
        await audit.aclose()

    asyncio.run(record())
    env = {"KUBEWHY_DATABASE_URL": url, "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fb.jsonl")}
    assert main(["history", "--limit", "5"], env) == 0
    out = capsys.readouterr()
    assert out.out.count("show logs") == 5 and "showing 5 of 7 (--limit N)" in out.err
    assert main(["history"], env) == 0
    out = capsys.readouterr()
    assert out.out.count("show logs") == 7 and "showing" not in out.err  # nothing left out, nothing said


async def test_a_spool_left_by_an_older_kubewhy_under_its_url_name_is_still_imported(
    migrated: AsyncEngine, fallback_file: Path
) -> None:
    url = migrated.url.render_as_string(hide_password=False)
    legacy = spool.legacy_spool_path(fallback_file, url)
    assert legacy is not None and legacy != spool.spool_path(fallback_file, url)
    fallback.append(legacy, [action(9)], "")  # the line format is the same
    writer = AuditLog(engine=migrated, fallback_path=fallback_file)
    entries = await queries.history(writer, limit=10)
    await writer.aclose()
    assert [e.actor for e in entries if e.kind == "action"] == ["U9"] and not legacy.exists()
    assert spool.legacy_spool_path(fallback_file, "sqlite+aiosqlite:///audit.db") is None  # relative: ambiguous


def test_a_missing_driver_fails_fast_with_one_clear_error_not_a_minute_of_retries(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = f"""
import sys
sys.modules["asyncpg"] = None  # as if it were not installed
from kubewhy.cli import main
sys.exit(main(["history"], {{"KUBEWHY_DATABASE_URL": "postgresql://kw@127.0.0.1:1/audit",
                            "HOME": {str(tmp_path)!r}, "XDG_DATA_HOME": {str(tmp_path)!r}}}))
"""
    # the timeout only bounds a failure: retried as transient, this took the writer's 60 s give-up time
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    assert "driver for postgresql+asyncpg is not installed" in out.stderr and "pip install asyncpg" in out.stderr


async def test_pages_are_credited_to_what_paged_them(migrated: AsyncEngine, fallback_file: Path) -> None:
    audit = AuditLog(engine=migrated, fallback_path=fallback_file)
    audit.open_incident("W-1", "node-2 NotReady", actor="kubewhy-watch", source="watcher")
    audit.record_alert(rule="node-not-ready", fingerprint="c|node-not-ready|node/node-2", incident="W-1")
    audit.open_incident("A-1", "KubePodCrashLooping", actor="alertmanager", source="alertmanager")
    audit.record_alert(rule="KubePodCrashLooping", fingerprint="c|crash|deploy/q1/app", incident="A-1")
    entries = await queries.history(audit, limit=20)
    await audit.aclose()
    credited = {e.incident: (e.actor, e.source) for e in entries if e.kind == "alert"}
    assert credited == {"W-1": ("kubewhy-watch", "watcher"), "A-1": ("alertmanager", "alertmanager")}
