"""``kubewhy watch``: the watchers in the foreground, paging Slack (``SLACK_BOT_TOKEN``, the channel from
``--channel`` or ``KUBEWHY_ALERT_CHANNEL``) or printing each page, update and resolve (``--stdout``, ``-o json``).

It lives in ``bot`` because its default notifier is Slack's; the watching itself is the core's
(:mod:`kubewhy.watch`), on one application object (:class:`kubewhy.app.Kubewhy`) like every front-end's:
:func:`kubewhy.watch.run.run_watchers` opens it from the settings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kubewhy.cli.options import database_url_argument
from kubewhy.errors import KubewhyError
from kubewhy.settings import Flags, Settings, SettingsError, load

if TYPE_CHECKING:
    from kubewhy.watch.notify import Notifier


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        help=help_,
        description="Watch nodes, pods and events; page a Slack channel once per "
        "incident with its diagnosis. Format of the rules: docs/watchers.md.",
    )
    p.add_argument("--rules", metavar="FILE", help="watch rules (default: the bundled ones; see --print-default-rules)")
    p.add_argument("--print-default-rules", action="store_true", help="print the bundled rules and exit")
    p.add_argument("--grace", metavar="DURATION", help="override every rule's grace period (e.g. 5s, for demos)")
    p.add_argument("--channel", help="default Slack channel (else $KUBEWHY_ALERT_CHANNEL)")
    p.add_argument("--stdout", action="store_true", help="print pages instead of posting them to Slack")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="with --stdout: JSON lines")
    p.add_argument("--kubeconfig")
    p.add_argument("--context")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus for the metric rules (or 'discover')")
    database_url_argument(p)
    p.add_argument("-v", "--verbose", action="store_true", help="log what the watchers do")
    p.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    if args.print_default_rules:
        from kubewhy.watch.rules import default_rules_text

        sys.stdout.write(default_rules_text())
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load(
        environ,
        Flags(
            kubeconfig=args.kubeconfig,
            context=args.context,
            prometheus=args.prometheus,
            database_url=args.database_url,
            rules=args.rules,
            grace=args.grace,
            channel=args.channel,
        ),
    )
    from kubewhy.watch.run import rules_for

    rules_for(settings)  # a bad rules file fails here, with file and line, before anything starts
    if not args.stdout:
        if not settings.slack.bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set: set it to page Slack, or use --stdout")
        if not settings.watch.channel and not any(r.channel or r.routes for r in rules_for(settings).rules):
            raise SettingsError("no channel to page: --channel, KUBEWHY_ALERT_CHANNEL or a route in the rules")
    return asyncio.run(_watch(settings, stdout=args.stdout, json_lines=args.output == "json"))


async def _watch(settings: Settings, *, stdout: bool, json_lines: bool) -> int:
    from kubewhy.watch.run import run_watchers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if stdout:
        from kubewhy.watch.notify import StdoutNotifier

        notifier: Notifier = StdoutNotifier(json_lines=json_lines)
    else:
        from .app import build_client
        from .pager import SlackNotifier

        notifier = SlackNotifier(build_client(settings.slack))
    try:
        await run_watchers(settings, notifier, stop=stop)
    except KubewhyError as exc:
        print(f"kubewhy watch: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
