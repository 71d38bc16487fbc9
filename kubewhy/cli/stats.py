"""``kubewhy stats``: fixes proposed, approved, applied and verified per playbook and over time; pages and
acknowledgements (kubewhy/audit/stats.py)."""

from __future__ import annotations

import argparse
import json

from ..app import Kubewhy
from .history import parse_since
from .options import Environ, audit_settings, database_url_argument, run, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(name, help=help_)
    p.add_argument("--since", metavar="AGE|TIME", help="e.g. 30d, 2w, or an ISO time (default: all)")
    p.add_argument("--until", metavar="TIME", help="ISO time")
    p.add_argument("--by", choices=["day", "week", "month"], default="week", help="period of the success rate")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    database_url_argument(p)
    p.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace, environ: Environ) -> int:
    since, until = parse_since(args.since), parse_since(args.until)
    settings = audit_settings(args, environ)

    async def go() -> int:
        from ..audit.stats import render_text

        async with Kubewhy(settings, cluster=False, on_warning=warn, close_timeout=10.0) as app:
            stats = await app.stats(since=since, until=until, bucket=args.by)
        print(json.dumps(stats.to_dict(), indent=2) if args.output == "json" else render_text(stats))
        return 0

    return run(go())
