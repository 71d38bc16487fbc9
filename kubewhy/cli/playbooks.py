"""``kubewhy playbooks check|list|schema``: validate playbook files, list what the catalog holds, or print the
format's JSON Schema for editors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..playbooks.loader import load_dirs
from ..settings import Flags, load
from .options import Environ


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    pb = sub.add_parser(name, help=help_)
    pbsub = pb.add_subparsers(dest="pb_command", required=True)
    chk = pbsub.add_parser("check", help="validate playbook files; exits non-zero on any error")
    chk.add_argument("dirs", nargs="*", help="directories or files (default: the bundled playbooks)")
    chk.add_argument(
        "--skeletons",
        action="append",
        default=[],
        metavar="SNAPSHOT",
        help="also run each playbook on its objects in these snapshot files with fields removed one at a time, "
        "and report every expression that fails (see docs/playbooks.md)",
    )
    chk.set_defaults(func=cmd_check)
    lst = pbsub.add_parser("list", help="list loaded playbooks")
    lst.add_argument("--playbooks", action="append", default=[], metavar="DIR")
    lst.set_defaults(func=cmd_list)
    sch = pbsub.add_parser("schema", help="print the playbook format as a JSON Schema (for editors)")
    sch.set_defaults(func=cmd_schema)


def cmd_check(args: argparse.Namespace, environ: Environ) -> int:
    dirs = [Path(d) for d in args.dirs]
    catalog = load_dirs(dirs, include_bundled=not dirs)
    for err in catalog.errors:
        print(f"{err.location}: error: {err.detail}")
    print(f"{len(catalog.playbooks)} playbooks valid, {len(catalog.errors)} errors", file=sys.stderr)
    problems = _skeleton_problems(catalog.playbooks, args.skeletons) if args.skeletons else []
    for problem in problems:
        print(f"{problem.playbook}: error: {problem}")
    if args.skeletons:
        print(f"skeleton lint: {len(problems)} expression errors", file=sys.stderr)
    return 1 if catalog.errors or problems else 0


def _skeleton_problems(playbooks: list[Any], snapshots: list[str]) -> list[Any]:
    from ..adapters.snapshot_files import SnapshotFileError, read
    from ..engine.skeletons import Cluster, lint_sync
    from ..errors import UsageError

    try:
        files = read([Path(p) for p in snapshots])
    except SnapshotFileError as exc:
        raise UsageError(f"cannot read snapshot: {exc}") from None
    return lint_sync(playbooks, [Cluster(files.objects, files.logs, files.captured_at, ", ".join(snapshots))])


def cmd_list(args: argparse.Namespace, environ: Environ) -> int:
    settings = load(environ, Flags(playbooks=args.playbooks))
    catalog = load_dirs(list(settings.playbook_dirs))
    for pb in sorted(catalog.playbooks, key=lambda p: p.id):
        print(f"{pb.id:28} {','.join(pb.applies_to):30} {pb.severity:8} {pb.title}")
    for err in catalog.errors:
        print(f"kubewhy: warning: playbook skipped: {err}", file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace, environ: Environ) -> int:
    from ..playbooks.schema import schema_text

    print(schema_text(), end="")
    return 0
