"""``kubewhy db upgrade|downgrade|current|prune``, ``kubewhy history``, ``kubewhy postmortem``, ``kubewhy incident``
and the audit side of ``kubewhy why`` (record the diagnosis unless ``--no-audit``).

The audit package (SQLAlchemy, Alembic) is imported only when one of these runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .models.target import KINDS

if TYPE_CHECKING:
    from .audit.store import TargetFilter
    from .models.findings import Report
    from .models.target import Target
    from .service import Deps

URL_HELP = "audit database URL (default: $KUBEWHY_DATABASE_URL, else ~/.local/share/kubewhy/audit.db)"


def _url_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", metavar="URL", help=URL_HELP)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dbp = sub.add_parser("db", help="audit database: upgrade, downgrade, current, prune")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="bring the audit database to the latest schema (rows are kept)")
    up.add_argument("revision", nargs="?", default="head")
    down = dbsub.add_parser("downgrade", help="go back to an older schema revision (may drop data)")
    down.add_argument("revision", help="revision id, or 'base'")
    cur = dbsub.add_parser("current", help="show the database's schema revision")
    prune = dbsub.add_parser("prune", help="delete audit rows older than an age")
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h, 2w")
    for p in (up, down, cur, prune):
        _url_arg(p)
        p.set_defaults(func=cmd_db)

    hist = sub.add_parser("history", help="who asked what, what kubewhy said, which fixes, which alerts")
    hist.add_argument("--since", metavar="AGE|TIME", help="e.g. 2h, 30m, 7d, or an ISO time (default: all)")
    hist.add_argument("--until", metavar="TIME", help="ISO time")
    hist.add_argument("--target", metavar="KIND/NAME", help="pod/x, deploy/ns/x, or a bare name")
    hist.add_argument("-n", "--namespace", help="namespace of --target")
    hist.add_argument("--incident", metavar="REF", help="only what is linked to this incident")
    hist.add_argument("--limit", type=int, default=100)
    hist.add_argument("-o", "--output", choices=["text", "json"], default="text")
    _url_arg(hist)
    hist.set_defaults(func=cmd_history)

    pm = sub.add_parser("postmortem", help="a blameless post-mortem draft (Markdown) for an incident")
    pm.add_argument("incident", metavar="INCIDENT", help="incident ref (e.g. INC-42) or id")
    pm.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    _url_arg(pm)
    pm.set_defaults(func=cmd_postmortem)

    inc = sub.add_parser("incident", help="open or resolve an incident that groups diagnoses, alerts and fixes")
    incsub = inc.add_subparsers(dest="incident_command", required=True)
    op = incsub.add_parser("open")
    op.add_argument("ref", help="short name, e.g. INC-42")
    op.add_argument("title")
    op.add_argument("--summary", default="")
    rs = incsub.add_parser("resolve")
    rs.add_argument("ref")
    rs.add_argument("--summary")
    for p in (op, rs):
        _url_arg(p)
        p.set_defaults(func=cmd_incident)


def add_why_arguments(why: argparse.ArgumentParser) -> None:
    why.add_argument("--no-audit", action="store_true", help="do not record this diagnosis in the audit log")
    why.add_argument("--incident", metavar="REF", help="link the recorded diagnosis to an incident (e.g. INC-42)")
    _url_arg(why)


def actor() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to fail
        return ""


def _warn(message: str) -> None:
    print(f"kubewhy: warning: {message}", file=sys.stderr)


async def diagnose_and_record(target: Target, deps: Deps, args: argparse.Namespace,
                              show: Callable[[Report], None]) -> Report:
    """Run the diagnosis with the audit log attached, show it, then flush (briefly: a CLI must not hang)."""
    from .service import diagnose

    audit = None
    if not getattr(args, "no_audit", False):
        try:
            from .audit import AuditLog, RetryPolicy, db

            audit = AuditLog(db.resolve_url(getattr(args, "database_url", None)), auto_migrate=True,
                             retry=RetryPolicy(give_up_after=1.0, write_timeout=2.0, max_delay=0.5),
                             on_warning=_warn)
            deps.audit = audit
        except Exception as exc:  # noqa: BLE001 - the diagnosis matters more than its record
            _warn(f"audit: disabled ({exc})")
    try:
        report = await diagnose(target, deps, actor=actor(), source="cli", incident=getattr(args, "incident", None))
        show(report)
    finally:
        if audit is not None:
            await audit.aclose(timeout=3.0)
    return report


def _run(coro: Awaitable[int]) -> int:
    from .audit.db import display_url  # noqa: F401  (fail early if the audit extras are missing)

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - one line for the user, not a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, (SQLAlchemyError, OSError)):
            print(f"kubewhy: audit database error: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
        raise


def cmd_db(args: argparse.Namespace) -> int:
    from .audit import db, migrate

    url = db.resolve_url(args.database_url)

    async def go() -> int:
        engine = db.make_engine(url)
        try:
            if args.db_command == "upgrade":
                before = await migrate.current(engine)
                await migrate.upgrade(engine, args.revision)
                after = await migrate.current(engine)
                print(f"{db.display_url(url)}: {before or 'empty'} -> {after}"
                      if before != after else f"{db.display_url(url)}: already at {after}")
            elif args.db_command == "downgrade":
                await migrate.downgrade(engine, args.revision)
                print(f"{db.display_url(url)}: now at {await migrate.current(engine) or 'base (empty)'}")
            elif args.db_command == "current":
                rev = await migrate.current(engine)
                state = "up to date" if rev == migrate.head() else f"behind head {migrate.head()}"
                print(f"{db.display_url(url)}: {rev or 'empty (run: kubewhy db upgrade)'} ({state})")
            elif args.db_command == "prune":
                from .audit.durations import parse_duration
                from .audit.writer import AuditLog

                audit = AuditLog(url, engine=engine)
                counts = await audit.prune(parse_duration(args.older_than))
                print("pruned " + ", ".join(f"{n} {t}" for t, n in counts.items()))
            return 0
        finally:
            await engine.dispose()

    try:
        return _run(go())
    except ValueError as exc:
        print(f"kubewhy: {exc}", file=sys.stderr)
        return 2


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    if not text:
        return None
    from .audit.durations import parse_duration

    try:
        return (now or datetime.now(timezone.utc)) - parse_duration(text)
    except ValueError:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def parse_target_filter(text: str | None, namespace: str | None) -> TargetFilter | None:
    from .audit.store import TargetFilter

    if not text:
        return None
    parts = text.split("/")
    if len(parts) == 1:
        return TargetFilter(None, parts[0], namespace)
    alias = parts[0].lower()
    if alias not in KINDS or len(parts) > 3:
        raise ValueError(f"cannot parse --target {text!r}: use NAME, KIND/NAME or KIND/NAMESPACE/NAME")
    return TargetFilter(KINDS[alias], parts[-1], parts[1] if len(parts) == 3 else namespace)


def cmd_history(args: argparse.Namespace) -> int:
    from .audit import db, store

    try:
        since, until = parse_since(args.since), parse_since(args.until)
        target = parse_target_filter(args.target, args.namespace)
    except ValueError as exc:
        print(f"kubewhy: {exc}", file=sys.stderr)
        return 2
    url = db.resolve_url(args.database_url)

    async def go() -> int:
        engine = db.make_engine(url)
        try:
            async with db.make_sessionmaker(engine)() as session:
                entries = await store.history(session, since=since, until=until, target=target,
                                              incident=args.incident, limit=args.limit)
        finally:
            await engine.dispose()
        if args.output == "json":
            print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        else:
            print(format_history(entries) if entries else "no recorded actions match")
        return 0

    return _run(go())


def format_history(entries: list[Any]) -> str:
    lines = []
    for e in reversed(entries):  # oldest first, like a log
        who = (e.actor or "?") + f" via {e.source}" + (f" {e.channel}" if e.channel else "")
        inc = f"  [{e.incident}]" if e.incident else ""
        lines.append(f"{e.at.strftime('%Y-%m-%d %H:%M:%S')}  {e.kind:<9}  {who:<28}  {e.target or '-':<28}  "
                     f"{e.summary}{inc}")
    return "\n".join(lines)


def cmd_postmortem(args: argparse.Namespace) -> int:
    from .audit import db, postmortem, store

    url = db.resolve_url(args.database_url)

    async def go() -> int:
        engine = db.make_engine(url)
        try:
            async with db.make_sessionmaker(engine)() as session:
                data = await store.load_postmortem(session, args.incident)
        finally:
            await engine.dispose()
        if data is None:
            print(f"kubewhy: no incident {args.incident!r} in {db.display_url(url)}", file=sys.stderr)
            return 3
        text = postmortem.render(data)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            print(text)
        return 0

    return _run(go())


def cmd_incident(args: argparse.Namespace) -> int:
    from .audit import AuditLog, db

    url = db.resolve_url(args.database_url)

    async def go() -> int:
        audit = AuditLog(url, auto_migrate=True, on_warning=_warn)
        if args.incident_command == "open":
            audit.open_incident(args.ref, args.title, actor=actor(), source="cli", summary=args.summary)
        else:
            audit.resolve_incident(args.ref, actor=actor(), summary=args.summary)
        await audit.aclose(timeout=10.0)
        return 1 if audit.stats.to_fallback else 0

    return _run(go())
