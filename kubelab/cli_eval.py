"""``kubewhy eval``: score the playbooks against the scenarios' expectations (and write catalogue coverage)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path

from kubewhy.playbooks.loader import load_dirs
from kubewhy.settings import Flags, load

from .evaluate import (
    DEFAULT_CATALOGUE,
    coverage_command,
    coverage_markdown,
    format_table,
    run,
)
from .prometheus import default_setting


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    ev = sub.add_parser(name, help=help_)
    ev.add_argument("paths", nargs="*", type=Path, help="scenario files or directories (default: bundled)")
    ev.add_argument("--playbooks", action="append", default=[], metavar="DIR")
    ev.add_argument(
        "--mode",
        choices=["live", "snapshot"],
        default="live",
        help="diagnose through the simulator over HTTP (live) or offline from the files (snapshot)",
    )
    ev.add_argument("-o", "--output", choices=["text", "json"], default="text")
    ev.add_argument(
        "--prometheus",
        default=None,
        metavar="auto|off|URL",
        help="metrics for the scenarios: auto back-fills each scenario's last hour into a real "
        "Prometheus (default when prometheus and promtool are installed), off, or a server URL",
    )
    ev.add_argument(
        "--coverage",
        type=Path,
        metavar="FILE",
        help="also write the failure-mode catalogue's coverage (playbook, scenarios, result per entry) "
        "as Markdown to FILE",
    )
    ev.add_argument(
        "--corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --coverage: also score this corpus of cases (e.g. tests/realworld/cases) in the file",
    )
    ev.add_argument(
        "--catalogue",
        type=Path,
        default=None,
        metavar="CATALOGUE.md",
        help="the catalogue to cover (default: the one kubewhy ships, kubewhy/catalogue/CATALOGUE.md)",
    )
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    settings = load(environ, Flags(playbooks=args.playbooks))
    catalog = load_dirs(list(settings.playbook_dirs))
    for err in catalog.errors:
        print(f"kubewhy: warning: playbook skipped: {err}", file=sys.stderr)
    # The packaged catalogue unless --catalogue names another; a wrong path is reported before the (long) run.
    catalogue: Traversable = args.catalogue or DEFAULT_CATALOGUE
    if args.coverage and not catalogue.is_file():
        print(f"kubewhy: catalogue not found: {catalogue} (use --catalogue)", file=sys.stderr)
        return 2
    prometheus = args.prometheus or default_setting()
    result = run(args.paths, catalog, args.mode, prometheus)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "precision": result.precision,
                    "recall": result.recall,
                    "passed": result.passed,
                    "ranking": result.ranking(),
                    "playbooks": {k: dict(v) for k, v in result.per_playbook().items()},
                    "cases": [{**c.__dict__, "passed": c.passed, "unexplained": c.unexplained} for c in result.cases],
                },
                indent=2,
            )
        )
    else:
        print(format_table(result))
    if args.coverage:
        command = coverage_command(args.paths, args.mode, prometheus, args.coverage, args.corpus)
        corpus = run([args.corpus], catalog, "snapshot", "off") if args.corpus else None
        args.coverage.write_text(
            coverage_markdown(result, catalog, catalogue, command, corpus, str(args.corpus or "")), encoding="utf-8"
        )
        print(f"coverage written to {args.coverage}", file=sys.stderr)
    return 0 if result.passed else 1
