"""``kubewhy incident open|resolve``: an incident groups diagnoses, alerts and fixes for the post-mortem."""

from __future__ import annotations

import argparse

from ..app import Kubewhy
from ..errors import AuditStoreError
from .options import Environ, audit_settings, database_url_argument, run, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    inc = sub.add_parser(name, help=help_)
    incsub = inc.add_subparsers(dest="incident_command", required=True)
    op = incsub.add_parser("open")
    op.add_argument("ref", help="short name, e.g. INC-42")
    op.add_argument("title")
    op.add_argument("--summary", default="")
    rs = incsub.add_parser("resolve")
    rs.add_argument("ref")
    rs.add_argument("--summary")
    for p in (op, rs):
        database_url_argument(p)
        p.set_defaults(func=cmd_incident)


def cmd_incident(args: argparse.Namespace, environ: Environ) -> int:
    settings = audit_settings(args, environ)

    async def go() -> int:
        async with Kubewhy(settings, source="cli", cluster=False, on_warning=warn, close_timeout=10.0) as app:
            audit = app.audit
            if audit is None:
                raise AuditStoreError("the audit log is disabled (KUBEWHY_NO_AUDIT)")
            if args.incident_command == "open":
                app.open_incident(args.ref, args.title, summary=args.summary)
            else:
                app.resolve_incident(args.ref, summary=args.summary)
        return 1 if audit.stats.to_fallback else 0

    return run(go())
