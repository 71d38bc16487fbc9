"""A full disk for real (issue 25's torn-write Must show, beside the write-fault layer of
tests/audit/test_durability.py): a small tmpfs holds the spool of a short-lived process (``kubewhy why``'s path)
and, in one case, its fallback file too; it is filled to ENOSPC, records are made, space is freed, and more are
made. Every record made while the disk was full is stored or counted lost (never a half line that costs the next
one), and every record made after the space was freed is stored.

Mounting needs root (CAP_SYS_ADMIN): elsewhere the test is skipped, saying so.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubewhy.audit import AuditLog, db, migrate, queries

SIZE = "64k"  # 16 pages: a few dozen records


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small-disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); the write-fault layer covers a full disk here")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem answers ENOSPC; the file, to delete to free the space."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        for _ in range(64):  # and the last partial page
            try:
                os.write(fd, b"\0")
            except OSError:
                break
    finally:
        os.close(fd)
    return filler


def lines_whole(path: Path) -> bool:
    return not path.exists() or path.read_bytes() == b"" or path.read_bytes().endswith(b"\n")


@pytest.mark.parametrize("fallback_on", ["the full disk", "another disk"])
async def test_a_full_tmpfs_then_space_freed_every_later_record_is_stored(
    tmp_path: Path, tmpfs: Path, fallback_on: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"  # the database has room; the data directory has not
    engine = db.make_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    fallback_file = (tmpfs if fallback_on == "the full disk" else tmp_path) / "audit-fallback.jsonl"
    cli = AuditLog(url, fallback_path=fallback_file, spool_path=tmpfs / "audit-spool.jsonl", spool=True)
    cli.record_action("show_logs", actor="before", source="cli")
    filler = fill(tmpfs)
    during = 30  # more than the spool's last page still holds (a page's slack is room on a full tmpfs)
    for i in range(during):
        cli.record_action("show_logs", actor=f"full{i}", source="cli")
    lost = cli.stats.lost
    assert lines_whole(cli.spool_path) and lines_whole(fallback_file)  # no half line left by a short write
    filler.unlink()  # space freed
    after = 20
    for i in range(after):
        cli.record_action("show_logs", actor=f"after{i}", source="cli")
    await cli.aclose()

    writer = AuditLog(url, fallback_path=fallback_file, spool_path=cli.spool_path)  # the next process imports both
    entries = await queries.history(writer, limit=200)
    await writer.aclose()
    actors = [e.actor for e in entries if e.kind == "action"]
    assert sorted(a for a in actors if a.startswith("after")) == sorted(f"after{i}" for i in range(after))
    assert "before" in actors
    stored_during = [a for a in actors if a.startswith("full")]
    assert len(stored_during) + lost == during  # each record made while full: stored, or counted and said lost
    assert len(actors) == len(set(actors))
    if fallback_on == "another disk":
        assert lost == 0 and len(stored_during) == during  # the spool's disk was full: the fallback file took them
    else:
        assert lost > 0 and any("LOST" in w for w in cli.stats.warnings)  # nowhere to write: said, not silent
    assert not any("unreadable" in w for w in writer.stats.warnings)  # no torn line glued to the next record
