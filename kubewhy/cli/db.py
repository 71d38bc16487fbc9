"""``kubewhy db upgrade|downgrade|current|prune``: the audit database's schema and retention."""

from __future__ import annotations

import argparse
import asyncio

from ..app import Kubewhy
from ..errors import UsageError
from .options import Environ, audit_settings, database_url_argument, run, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    dbp = sub.add_parser(name, help=help_)
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="bring the audit database to the latest schema (rows are kept)")
    up.add_argument("revision", nargs="?", default="head")
    down = dbsub.add_parser("downgrade", help="go back to an older schema revision (may drop data)")
    down.add_argument("revision", help="revision id, or 'base'")
    dbsub.add_parser("current", help="show the database's schema revision").set_defaults(revision="head")
    prune = dbsub.add_parser("prune", help="delete audit rows older than an age")
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h, 2w")
    for p in dbsub.choices.values():
        database_url_argument(p)
        p.set_defaults(func=cmd_db)


def cmd_db(args: argparse.Namespace, environ: Environ) -> int:
    settings = audit_settings(args, environ)
    if args.db_command != "prune":
        app = Kubewhy(settings, cluster=False, audit=False)  # the schema commands open the database themselves
        print(asyncio.run(app.schema(args.db_command, args.revision)))
        return 0
    from ..durations import parse_duration

    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None

    async def go() -> int:
        async with Kubewhy(settings, cluster=False, on_warning=warn, close_timeout=10.0) as app:
            counts = await app.prune(age)
        print("pruned " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        return 0

    return run(go())
