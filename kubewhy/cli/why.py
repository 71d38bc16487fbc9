"""``kubewhy why TARGET`` (also ``kubectl why``): diagnose one object, show the report, record it.

Settings come from the environment plus these flags; everything else is the application object's
(:class:`kubewhy.app.Kubewhy`), in the one event loop that runs the diagnosis, the charts and the audit flush: this
module only translates the flags and formats the report. ``kubewhy why … | head`` ends quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..app import Kubewhy
from ..errors import UsageError
from ..models.target import Target, parse_target
from ..settings import Flags, Settings, load
from . import charts
from .options import Environ, database_url_argument, warn

if TYPE_CHECKING:
    from ..models.findings import Report


AUDIT_LOST = 5  # exit code: the report was shown, but its audit record could be kept nowhere


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    why = sub.add_parser(name, help=help_)
    why.add_argument("target", nargs="?", default="", help="pod-x, pod/x, node/x, deploy/x, svc/x, pvc/x, hpa/x")
    why.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    why.add_argument("--context", help="kubeconfig context (default: $KUBEWHY_CONTEXT)")
    why.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG)")
    why.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    why.add_argument(
        "--snapshot",
        action="append",
        metavar="PATH",
        help="diagnose offline from kubectl -o yaml files or a directory (repeatable)",
    )
    why.add_argument(
        "--describe",
        action="append",
        metavar="FILE",
        help="diagnose offline from `kubectl describe pod|node|pvc|svc` output (TARGET defaults to the "
        "described object)",
    )
    why.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus URL, or 'discover' to find its Service in the cluster (default: "
        "$KUBEWHY_PROMETHEUS_URL); token, basic auth, CA and timeout from "
        "KUBEWHY_PROMETHEUS_TOKEN/_USER/_PASSWORD/_CA/_INSECURE/_TIMEOUT",
    )
    why.add_argument(
        "--playbooks",
        action="append",
        default=[],
        metavar="DIR",
        help="extra playbook directory (repeatable; also KUBEWHY_PLAYBOOKS, ':'-separated)",
    )
    why.add_argument("-o", "--output", choices=["text", "markdown", "json"], default="text")
    why.add_argument("-v", "--verbose", action="store_true", help="list every check")
    why.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="deadline per check in seconds (default 5, or $KUBEWHY_CHECK_TIMEOUT)",
    )
    charts.add_arguments(why)
    why.add_argument("--no-audit", action="store_true", help="do not record this diagnosis in the audit log")
    why.add_argument("--incident", metavar="REF", help="link the recorded diagnosis to an incident (e.g. INC-42)")
    database_url_argument(why)
    why.set_defaults(func=run)


def flags(args: argparse.Namespace) -> Flags:
    return Flags(
        kubeconfig=args.kubeconfig,
        context=args.context,
        in_cluster=args.in_cluster or None,
        snapshot=args.snapshot or (),
        prometheus=args.prometheus,
        playbooks=args.playbooks,
        database_url=args.database_url,
        no_audit=args.no_audit,
        check_timeout=args.timeout,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}:1: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def described_target(files: list[str]) -> str:
    """The first object a ``kubectl describe`` file describes, as a target."""
    from ..adapters import describe

    path = Path(files[0])
    text = _read_text(path)
    try:
        return describe.target_of(describe.parse(text))
    except describe.DescribeError as exc:
        raise UsageError(f"{path}:{exc}") from None


def run(args: argparse.Namespace, environ: Environ) -> int:
    args.pasted = None
    if args.describe:
        if len(args.describe) == 1 and not args.snapshot and not args.target:
            # One paste and nothing else: read it as the bot reads a paste (a fragment's kind from its words,
            # the notes on what the text cannot hold), not as a snapshot file.
            args.pasted = _read_text(Path(args.describe[0]))
        args.snapshot = [*(args.snapshot or []), *args.describe]
        if not args.target:
            args.target = described_target(args.describe)
    settings = load(environ, flags(args))
    kube = settings.kube
    default_ns = None
    if not (kube.snapshot or kube.in_cluster):
        from ..adapters.kube_live import context_namespace

        default_ns = context_namespace(kube.kubeconfig, kube.context)
    target = parse_target(args.target, args.namespace, default_ns or settings.default_namespace)  # before any call
    return asyncio.run(diagnose_and_show(target, settings, args))


AUDIT_BUDGET = 5.0  # seconds a shared database has to take why's record before it waits in the fallback file


async def diagnose_and_show(target: Target, settings: Settings, args: argparse.Namespace) -> int:
    """Diagnose with the audit log attached, show, write charts.

    With the local SQLite database (the default) the record is spooled (kubewhy/audit/spool.py): appended and
    fsync-ed to the spool file before the report is printed, and committed by the next audit writer that starts on
    the database (``kubewhy history``, ``db``, …), so such a ``why`` never imports the database driver nor waits
    for the database. A shared server (Postgres) gets the row at once, since the team reads it from elsewhere: a
    short retry, then the fallback file, within ``AUDIT_BUDGET``; the writer connects while the diagnosis runs.

    ``prefetch``: the target's GET goes out first; the engine's imports and the catalogue load while it is in
    flight."""
    spool = settings.audit.url.startswith("sqlite")
    retry = None
    if settings.audit.enabled and not spool:
        from ..audit.writer import RetryPolicy

        # one attempt may take the whole budget: a slow but alive server (a loaded machine) is waited for
        retry = RetryPolicy(give_up_after=AUDIT_BUDGET - 1.0, write_timeout=AUDIT_BUDGET - 1.0, max_delay=0.5)
    async with Kubewhy(
        settings, source="cli", prefetch=target, spool=spool, retry=retry, on_warning=warn, close_timeout=AUDIT_BUDGET
    ) as app:
        for w in app.warnings:
            warn(w)
        if retry is not None and app.audit is not None:
            await app.audit.start()  # connect and check the schema while the diagnosis runs, not after it
        if getattr(args, "pasted", None) is not None:
            report = await app.diagnose_described(args.pasted)
        else:
            report = await app.diagnose(target, incident=args.incident)
        if not spool:  # the row (or its fallback line) exists before the report shows
            await app.flush(timeout=AUDIT_BUDGET)
        if show(report, args) and args.chart_dir:
            await charts.after_report(report, app, args.chart_dir)
    if app.audit is not None and app.audit.stats.lost:
        warn(f"the diagnosis above was not recorded ({app.audit.stats.lost} audit record(s) lost)")
        return AUDIT_LOST
    return 0


def show(report: Report, args: argparse.Namespace) -> bool:
    """Print the report; False when the reader went away (``| head``): the rest of the output is dropped."""
    from ..render.text import to_json, to_markdown, to_text

    render = {"json": to_json, "markdown": to_markdown}.get(args.output)
    try:
        print(render(report) if render else to_text(report, verbose=args.verbose), flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # so the interpreter's own last flush cannot fail again
        os.dup2(devnull, sys.stdout.fileno())
        return False
    return True
