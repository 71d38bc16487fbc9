"""The CLI is a package whose subcommands are imported only when chosen, so the core never imports the
simulator, the bot or the lab; and ``kubewhy why … | head`` ends quietly with the diagnosis still recorded."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from kubesim import load

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = [a for p in load("workshop/q01-app-crash").sources for a in ("--snapshot", str(p))]
TARGET = "pod/q1/app-7d4b9c6f5-x2x7k"
WATCHED = ("kubewhy.cli.", "kubelab", "bot", "kubesim", "sqlalchemy", "slack_bolt", "kubernetes", "matplotlib")


def imported_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    script = (f"import sys\nfrom kubewhy import cli\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
              f"print('MODULES=' + ','.join(sorted(m for m in sys.modules if m.startswith({WATCHED!r}))))")
    proc = subprocess.run(check=False, args=[sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, env={**os.environ, **(env or {})})
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    return [m for m in line.removeprefix("MODULES=").split(",") if m]


def test_help_lists_every_subcommand_without_importing_any() -> None:
    proc = subprocess.run(check=False, args=[sys.executable, "-m", "kubewhy", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    for name in ("why", "playbooks", "history", "postmortem", "incident", "db", "demo", "eval", "sim", "bot"):
        assert f"\n    {name}" in proc.stdout, name
    assert imported_after("cli.main(['--help'])") == []


def test_only_the_chosen_subcommand_is_imported(tmp_path: Path) -> None:
    argv = ["why", TARGET, *SNAPSHOT, "--no-audit", "-o", "json"]
    modules = imported_after(f"cli.main({argv!r})")
    assert "kubewhy.cli.why" in modules
    assert not [m for m in modules if m.startswith(("kubewhy.cli.history", "kubewhy.cli.db", "kubelab", "bot",
                                                     "sqlalchemy", "slack_bolt"))], modules
    assert "kubelab.cli_sim" in imported_after("cli.main(['sim', 'list'])")


def test_the_core_has_no_static_import_of_the_simulator_the_bot_or_the_lab() -> None:
    offenders = []
    for path in sorted((ROOT / "kubewhy").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in ("kubesim", "bot", "kubelab", "tui")]
    assert offenders == []


def test_why_into_a_closed_pipe_ends_quietly_and_still_records(tmp_path: Path) -> None:
    env = {**os.environ, "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
           "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (``head``) is gone before kubewhy writes anything
    try:
        proc = subprocess.run(check=False, args=[sys.executable, "-m", "kubewhy", "why", TARGET, *SNAPSHOT],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
    history = subprocess.run(check=False, args=[sys.executable, "-m", "kubewhy", "history", "-o", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
    entries = json.loads(history.stdout)
    assert [e["target"] for e in entries if e["kind"] == "diagnosis"] == [TARGET]
    assert not (tmp_path / "fallback.jsonl").exists()
