"""``kubewhy history``: who asked what, what kubewhy said, which fixes were proposed and applied, which alerts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..app import Kubewhy
from ..errors import UsageError
from ..models.target import KINDS, Target
from .options import Environ, audit_settings, database_url_argument, run, warn

if TYPE_CHECKING:
    from ..audit.store import HistoryEntry


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    hist = sub.add_parser(name, help=help_)
    hist.add_argument("--since", metavar="AGE|TIME", help="e.g. 2h, 30m, 7d, or an ISO time (default: all)")
    hist.add_argument("--until", metavar="TIME", help="ISO time")
    hist.add_argument("--target", metavar="KIND/NAME", help="pod/x, deploy/ns/x, or a bare name")
    hist.add_argument("-n", "--namespace", help="namespace of --target")
    hist.add_argument("--incident", metavar="REF", help="only what is linked to this incident")
    hist.add_argument("--limit", type=int, default=100)
    hist.add_argument("-o", "--output", choices=["text", "json"], default="text")
    database_url_argument(hist)
    hist.set_defaults(func=cmd_history)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    if not text:
        return None
    from ..durations import parse_duration

    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot parse {text!r}: use an age (2h, 30m, 7d) or an ISO time") from None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def parse_target_filter(text: str | None, namespace: str | None) -> tuple[str | None, str | None, str | None]:
    """``NAME``, ``KIND/NAME`` or ``KIND/NAMESPACE/NAME`` → (kind, name, namespace)."""
    if not text:
        return None, None, None
    parts = text.split("/")
    if len(parts) == 1:
        return None, parts[0], namespace
    alias = parts[0].lower()
    if alias not in KINDS or len(parts) > 3:
        raise UsageError(f"cannot parse --target {text!r}: use NAME, KIND/NAME or KIND/NAMESPACE/NAME")
    return KINDS[alias], parts[-1], parts[1] if len(parts) == 3 else namespace


HISTORY_COUNT_BOUND = 100_000  # entries counted to say how many a --limit left out


def cmd_history(args: argparse.Namespace, environ: Environ) -> int:
    since, until = parse_since(args.since), parse_since(args.until)
    kind, name, namespace = parse_target_filter(args.target, args.namespace)
    settings = audit_settings(args, environ)

    async def go() -> int:
        target = Target(kind or "", name, namespace) if name else None  # no kind: any kind of that name
        async with Kubewhy(settings, cluster=False, on_warning=warn, close_timeout=10.0) as app:
            query = {"since": since, "until": until, "target": target, "incident": args.incident, "own_records": False}
            entries = await app.history(**query, limit=args.limit + 1)
            total = len(entries)
            if total > args.limit:  # cut: say how much, never silently (a count, up to a bound)
                total = len(await app.history(**query, limit=HISTORY_COUNT_BOUND))
                entries = entries[: args.limit]
        if total > len(entries):
            more = "more than " if total >= HISTORY_COUNT_BOUND else ""
            print(f"kubewhy: showing {len(entries)} of {more}{total} (--limit N)", file=sys.stderr)
        if args.output == "json":
            print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        else:
            print(format_history(entries) if entries else "no recorded actions match")
        return 0

    return run(go())


def format_history(entries: Sequence[HistoryEntry]) -> str:
    lines = []
    for e in reversed(entries):  # oldest first, like a log
        who = (e.actor or "?") + f" via {e.source}" + (f" {e.channel}" if e.channel else "")
        inc = f"  [{e.incident}]" if e.incident else ""
        lines.append(
            f"{e.at.strftime('%Y-%m-%d %H:%M:%S')}  {e.kind:<9}  {who:<28}  {e.target or '-':<28}  {e.summary}{inc}"
        )
    return "\n".join(lines)
