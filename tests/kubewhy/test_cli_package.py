"""The CLI is a package whose subcommands are imported only when chosen, so the core never imports the
simulator, the bot or the lab; and ``kubewhy why … | head`` ends quietly with the diagnosis still recorded."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kubesim import load
from kubesim.runner import RunningSim

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = [a for p in load("workshop/q01-app-crash").sources for a in ("--snapshot", str(p))]
TARGET = "pod/q1/app-7d4b9c6f5-x2x7k"
WATCHED = ("kubewhy.cli.", "kubelab", "bot", "kubesim", "sqlalchemy", "slack_bolt", "kubernetes", "matplotlib")


def imported_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    script = (
        f"import sys\nfrom kubewhy import cli\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
        f"print('MODULES=' + ','.join(sorted(m for m in sys.modules if m.startswith({WATCHED!r}))))"
    )
    proc = subprocess.run(
        check=False,
        args=[sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    return [m for m in line.removeprefix("MODULES=").split(",") if m]


def test_help_lists_every_subcommand_without_importing_any() -> None:
    proc = subprocess.run(
        check=False, args=[sys.executable, "-m", "kubewhy", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for name in ("why", "playbooks", "history", "postmortem", "incident", "db", "demo", "eval", "sim", "bot"):
        assert f"\n    {name}" in proc.stdout, name
    assert imported_after("cli.main(['--help'])") == []


def test_only_the_chosen_subcommand_is_imported(tmp_path: Path) -> None:
    argv = ["why", TARGET, *SNAPSHOT, "--no-audit", "-o", "json"]
    modules = imported_after(f"cli.main({argv!r})")
    assert "kubewhy.cli.why" in modules
    assert not [
        m
        for m in modules
        if m.startswith(("kubewhy.cli.history", "kubewhy.cli.db", "kubelab", "bot", "sqlalchemy", "slack_bolt"))
    ], modules
    assert "kubelab.cli_sim" in imported_after("cli.main(['sim', 'list'])")


def test_the_core_has_no_static_import_of_the_simulator_the_bot_or_the_lab() -> None:
    offenders = []
    for path in sorted((ROOT / "kubewhy").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.split(".")[0] in ("kubesim", "bot", "kubelab", "tui")
            ]
    assert offenders == []


def test_why_into_a_closed_pipe_ends_quietly_and_still_records(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
    }
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (``head``) is gone before kubewhy writes anything
    try:
        proc = subprocess.run(
            check=False,
            args=[sys.executable, "-m", "kubewhy", "why", TARGET, *SNAPSHOT],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
    history = subprocess.run(
        check=False,
        args=[sys.executable, "-m", "kubewhy", "history", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    entries = json.loads(history.stdout)
    assert [e["target"] for e in entries if e["kind"] == "diagnosis"] == [TARGET]
    assert not (tmp_path / "fallback.jsonl").exists()


NOT_ON_THE_WHY_PATH = (
    "kubesim",
    "kubelab",
    "bot",
    "slack_bolt",
    "textual",
    "matplotlib",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "prompt_toolkit",
)


def test_a_live_why_with_its_audit_record_imports_no_simulator_bot_tui_charts_or_database(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    sim = start_sim("workshop/q01-app-crash")
    code = (
        f"import sys\nfrom kubewhy import cli\ncode = cli.main(['why', {TARGET!r}, '--kubeconfig', "
        f"{str(sim.kubeconfig)!r}])\nprint('MODULES=' + ','.join(sorted({{m.split('.')[0] for m in sys.modules}}"
        f" & set({NOT_ON_THE_WHY_PATH!r}))), code)"
    )
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "MODULES= 0" in proc.stdout, proc.stdout + proc.stderr  # none of them, and exit code 0
    assert len(list((tmp_path / "data" / "kubewhy").glob("audit-spool-*.jsonl"))) == 1  # yet it is recorded


def test_why_piped_into_a_reader_that_is_gone_on_a_live_cluster(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    """``kubewhy why … | head`` as a shell runs it, on a live (simulated) cluster: the reader exits at once, so
    every write kubewhy makes meets a closed pipe. Quiet exit 0, and the record is on disk when the process ends."""
    sim = start_sim("workshop/q01-app-crash")
    data = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    kubewhy = Path(sys.executable).parent / "kubewhy"
    for reader in ("true", "head -n 1"):
        script = f'{kubewhy} why {TARGET} --kubeconfig {sim.kubeconfig} -v | {reader}; echo "status=${{PIPESTATUS[0]}}"'
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
        assert "status=0" in proc.stdout, proc.stdout + proc.stderr
    spooled = [
        json.loads(line)["record"]
        for p in data.glob("kubewhy/audit-spool-*.jsonl")
        for line in p.read_text().splitlines()
    ]
    assert [r["target_name"] for r in spooled] == [TARGET.rsplit("/", 1)[1]] * 2  # durable before the exit
    history = subprocess.run(
        [sys.executable, "-m", "kubewhy", "history", "-o", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert [e["target"] for e in json.loads(history.stdout) if e["kind"] == "diagnosis"] == [TARGET, TARGET]
