"""``kubewhy postmortem INCIDENT``: a blameless post-mortem draft (Markdown) from the audit log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..app import Kubewhy
from .options import Environ, audit_settings, database_url_argument, run, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    pm = sub.add_parser(name, help=help_)
    pm.add_argument("incident", metavar="INCIDENT", help="incident ref (e.g. INC-42) or id")
    pm.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    database_url_argument(pm)
    pm.set_defaults(func=cmd_postmortem)


def cmd_postmortem(args: argparse.Namespace, environ: Environ) -> int:
    settings = audit_settings(args, environ)

    async def go() -> int:
        async with Kubewhy(settings, cluster=False, on_warning=warn, close_timeout=10.0) as app:
            text = await app.postmortem(args.incident)
            where = app.audit.display_url if app.audit is not None else ""
        if text is None:
            print(f"kubewhy: no incident {args.incident!r} in {where}", file=sys.stderr)
            return 3
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            print(text)
        return 0

    return run(go())
