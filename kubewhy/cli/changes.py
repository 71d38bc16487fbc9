"""``kubewhy changes TARGET [--since 2h]``: what changed around one object, as a timeline (text) or JSON.

Read from what the API still holds, joined by the watchers' change log when the audit database has one
(docs/changes.md); this module translates the flags and formats the
:class:`~kubewhy.changes.model.Timeline` the application object returns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from ..app import Kubewhy
from ..changes.model import Timeline
from ..changes.stored import reader_for, with_log
from ..changes.timeline import as_lines
from ..durations import parse_duration
from ..errors import UsageError
from ..models.target import Target, parse_target
from ..settings import Flags, Settings, load
from .options import Environ, warn


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(name, help=help_)
    p.add_argument("target", help="pod/x, deploy/x, sts/x, ds/x, node/x, svc/x, hpa/x")
    p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    p.add_argument("--since", default="2h", help="how far back: 30m, 2h, 1d (default 2h)")
    p.add_argument("--context", help="kubeconfig context (default: $KUBEWHY_CONTEXT)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG)")
    p.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    p.add_argument("--snapshot", action="append", metavar="PATH", help="read kubectl -o yaml files or a directory")
    p.add_argument(
        "--secrets",
        action="store_true",
        help="also read the Secrets it references (their managedFields: who wrote which keys, when; never values)",
    )
    p.add_argument(
        "--no-change-log",
        action="store_true",
        help="only what the API still holds (by default the watchers' change log in the audit database joins it)",
    )
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, environ: Environ) -> int:
    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    settings = load(
        environ,
        Flags(
            kubeconfig=args.kubeconfig,
            context=args.context,
            in_cluster=args.in_cluster or None,
            snapshot=args.snapshot or (),
            no_audit=True,
        ),
    )
    default_ns = None
    if not (settings.kube.snapshot or settings.kube.in_cluster):
        from ..adapters.kube_live import context_namespace

        default_ns = context_namespace(settings.kube.kubeconfig, settings.kube.context)
    target = parse_target(args.target, args.namespace, default_ns or settings.default_namespace)
    return asyncio.run(show(target, settings, since, args))


async def show(target: Target, settings: Settings, since: timedelta, args: argparse.Namespace) -> int:
    async with Kubewhy(settings, source="cli", audit=False, on_warning=warn) as app:
        tl = await app.changes(target, since, secrets=args.secrets)
    if not args.no_change_log:  # the audit database's URL, read-only: a SQLite file that is not there is not made
        tl = await with_log(tl, reader_for(settings.audit.url))
    print(json.dumps(tl.to_dict(), indent=2) if args.output == "json" else to_text(tl), flush=True)
    return 0


def to_text(tl: Timeline) -> str:
    """The timeline as a table, oldest first; each change's differences indented under it."""
    return "\n".join(as_lines(tl))
