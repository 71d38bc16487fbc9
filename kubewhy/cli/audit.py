"""``kubewhy audit verify``: walk the audit log's hash chain and name the first broken link (kubewhy/audit/chain.py)."""

from __future__ import annotations

import argparse
import json

from ..app import Kubewhy
from ..settings import SettingsError
from .options import Environ, audit_settings, database_url_argument, run, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    auditp = sub.add_parser(name, help=help_)
    auditsub = auditp.add_subparsers(dest="audit_command", required=True)
    verify = auditsub.add_parser(
        "verify", help="check every record's hash chain; exit 1 and name the first broken link if one is"
    )
    verify.add_argument("-o", "--output", choices=["text", "json"], default="text")
    database_url_argument(verify)
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace, environ: Environ) -> int:
    settings = audit_settings(args, environ)

    async def go() -> int:
        async with Kubewhy(settings, cluster=False, on_warning=warn, close_timeout=10.0) as app:
            if app.audit is None:
                raise SettingsError("kubewhy audit verify needs the audit database: unset KUBEWHY_NO_AUDIT")
            await app.flush()
            report = await app.audit.verify_chain()
        if args.output == "json":
            print(json.dumps(report.to_dict(), indent=2))
        else:
            if not report.streams:
                print("no chained records yet")
            for s in report.streams:
                if s.broken is not None:
                    print(f"BROKEN {s.broken.describe()}")
                    continue
                pruned = f", {s.missing_rows} rows pruned" if s.missing_rows else ""
                print(f"ok     stream {s.stream}: {s.links} links, head {s.head_seq} {s.head_hash}{pruned}")
        return 0 if report.ok else 1

    return run(go())
