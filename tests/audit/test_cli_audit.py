"""The ``kubewhy`` command as a user runs it: ``db`` from any directory, ``why`` recording its diagnosis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from kubesim import load
from kubewhy.audit import db
from tests.audit.conftest import pg_url

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = [str(p) for p in load("workshop/q01-app-crash").sources]
TARGET = "pod/q1/app-7d4b9c6f5-x2x7k"


def kubewhy(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubewhy", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env},
        timeout=120,
    )


def why(*extra: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    snaps = [a for p in SCENARIO for a in ("--snapshot", p)]
    return kubewhy("why", TARGET, *snaps, "-o", "json", *extra, env=env, cwd=cwd)


def test_db_commands_work_from_any_directory(db_url: str, tmp_path: Path) -> None:
    env = {"KUBEWHY_DATABASE_URL": db_url}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cur = kubewhy("db", "current", env=env, cwd=elsewhere)
    assert cur.returncode == 0 and "empty" in cur.stdout
    up = kubewhy("db", "upgrade", env=env, cwd=elsewhere)
    assert up.returncode == 0, up.stderr
    cur = kubewhy("db", "current", env=env, cwd=elsewhere)
    assert "up to date" in cur.stdout
    down = kubewhy("db", "downgrade", "0001", env=env, cwd=elsewhere)
    assert down.returncode == 0 and "now at 0001" in down.stdout
    assert "behind head" in kubewhy("db", "current", env=env, cwd=elsewhere).stdout


def spooled(directory: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)["record"]
        for p in sorted(directory.rglob("audit-spool-*.jsonl"))
        for line in p.read_text().splitlines()
    ]


def test_why_records_its_diagnosis_unless_told_not_to(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "USER": "dana"}  # the default database, created on first use
    data = tmp_path / "data" / "kubewhy"
    first = why(env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "audit" not in first.stderr
    assert why("--no-audit", env=env, cwd=tmp_path).returncode == 0
    # on disk before the process ended, without opening the database: the next writer's start commits it
    assert [r["actor"] for r in spooled(tmp_path)] == ["dana"]
    assert not (data / "audit.db").exists()
    hist = kubewhy("history", "-o", "json", env=env, cwd=tmp_path)
    rows = json.loads(hist.stdout)
    assert len(rows) == 1
    assert rows[0]["actor"] == "dana" and rows[0]["source"] == "cli" and rows[0]["target"] == TARGET
    assert set(rows[0]["details"]["finding_ids"]) == {f["id"] for f in json.loads(first.stdout)["findings"]}
    assert spooled(tmp_path) == [] and (data / "audit.db").exists()
    assert len(json.loads(kubewhy("history", "-o", "json", env=env, cwd=tmp_path).stdout)) == 1  # imported once


def test_why_on_a_shared_postgres_writes_the_row_before_it_exits(pg_database: str, tmp_path: Path) -> None:
    """The team reads a shared database from elsewhere: the row is there when `kubewhy why` returns."""
    env = {
        "KUBEWHY_DATABASE_URL": pg_url(pg_database).replace("postgresql+asyncpg://", "postgresql://"),
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        "USER": "fay",
    }
    proc = why(env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "audit" not in proc.stderr, proc.stderr
    assert spooled(tmp_path) == [] and not (tmp_path / "fallback.jsonl").exists()

    async def rows() -> list[tuple[str, str]]:
        engine = db.make_engine(pg_url(pg_database))
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text("SELECT actor, target_name FROM diagnoses"))
                return [(r[0], r[1]) for r in result]
        finally:
            await engine.dispose()

    assert asyncio.run(rows()) == [("fay", "app-7d4b9c6f5-x2x7k")]


def test_why_with_the_database_down_still_answers_and_keeps_the_record(tmp_path: Path) -> None:
    fb = tmp_path / "fallback.jsonl"
    env = {
        "KUBEWHY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        "KUBEWHY_AUDIT_FALLBACK": str(fb),
        "USER": "erin",
    }
    proc = why("--incident", "INC-5", env=env, cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["target"]["name"] == "app-7d4b9c6f5-x2x7k"
    assert "kept in" in proc.stderr and str(fb) in proc.stderr  # said once, with where the record waits
    [line] = fb.read_text().splitlines()
    record = json.loads(line)["record"]
    assert (record["type"], record["actor"], record["incident"]) == ("diagnosis", "erin", "INC-5")


@pytest.mark.parametrize("argv", [["history", "--target", "gadget/x"], ["db", "prune", "--older-than", "soon"]])
def test_bad_arguments_exit_2(argv: list[str], tmp_path: Path) -> None:
    proc = kubewhy(*argv, env={"XDG_DATA_HOME": str(tmp_path)}, cwd=tmp_path)
    assert proc.returncode == 2 and "kubewhy:" in proc.stderr
