"""``kubewhy demo``: a broken cluster to explore in seconds — the bundled workshop on the simulator, diagnosed.

The demo records its diagnoses (and, with ``--watch``, its incidents) in its own audit database, a SQLite file
beside the kubeconfig it writes, made afresh on each run: the user's audit log (``$KUBEWHY_DATABASE_URL`` or the
default in ``~/.local/share/kubewhy``) never receives the workshop's made-up incidents. Only ``--database-url`` on
the demo's own command line points it at another database. Each step is announced on stderr as it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from kubesim import scenario as scenarios
from kubesim.runner import run_in_thread
from kubesim.server import SimOptions
from kubewhy import compose
from kubewhy.errors import KubewhyError
from kubewhy.models.target import parse_target
from kubewhy.render.text import to_text
from kubewhy.service import diagnose
from kubewhy.settings import DISCOVER, AuditSettings, Flags, Settings, load

from . import demo_prometheus

# The demo's own audit database and fallback file, beside the kubeconfig it writes (see the module's docstring).
DEMO_DB = "kubewhy-demo-audit.db"
DEMO_FALLBACK = "kubewhy-demo-audit-fallback.jsonl"


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(
        name,
        help=help_,
        description="Serve a bundled broken cluster on kubewhy's Kubernetes API simulator and diagnose every "
        f"broken object in it. The diagnoses are recorded in the demo's own audit database, {DEMO_DB} beside the "
        "kubeconfig (made afresh on each run), never in your audit log: $KUBEWHY_DATABASE_URL is not used, "
        "only --database-url.",
    )
    demo.add_argument("--scenario", default="workshop", help="bundled scenario or path (default: workshop)")
    demo.add_argument("--port", type=int, default=0, help="simulator port (default: a free one)")
    demo.add_argument(
        "--kubeconfig-out",
        default="kubewhy-demo.kubeconfig",
        metavar="FILE",
        help=f"the demo cluster's kubeconfig, {DEMO_DB} goes beside it (default: kubewhy-demo.kubeconfig)",
    )
    demo.add_argument("--once", action="store_true", help="diagnose, print and exit instead of keeping the cluster up")
    demo.add_argument("--full", action="store_true", help="print every finding in full, not one line per target")
    demo.add_argument("--no-audit", action="store_true", help="do not record the diagnoses at all")
    demo.add_argument(
        "--database-url",
        metavar="URL",
        help=f"record the diagnoses in this audit database (default: the demo's own, {DEMO_DB} beside the "
        "kubeconfig, made afresh on each run; $KUBEWHY_DATABASE_URL is ignored, so a demo never writes into your "
        "audit log)",
    )
    demo.add_argument(
        "--prometheus",
        action="store_true",
        help="also start Debian's Prometheus scraping the simulator, and diagnose with PromQL through "
        "the API server's service proxy (--prometheus discover)",
    )
    demo.add_argument(
        "--watch",
        action="store_true",
        help="then run the watchers on it, printing each page, update and resolve (kubewhy watch "
        "--stdout) until Ctrl-C",
    )
    demo.add_argument(
        "--grace", metavar="DURATION", default="5s", help="with --watch: every rule's grace period (default: 5s)"
    )
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    kubeconfig = Path(args.kubeconfig_out).resolve()
    own_db = kubeconfig.parent / DEMO_DB
    # The flag wins over $KUBEWHY_DATABASE_URL, which is then not even read: the demo's own database by default.
    url = args.database_url or f"sqlite:///{own_db}"
    settings = load(environ, Flags(no_audit=args.no_audit, grace=args.grace if args.watch else None, database_url=url))
    try:
        scenario = scenarios.load(args.scenario)
    except scenarios.ScenarioError as exc:
        print(f"kubewhy demo: scenario error: {exc}", file=sys.stderr)
        return 2
    recording = ""
    if settings.audit.enabled and not args.database_url:
        settings = dataclasses.replace(settings, audit=_own_audit(settings.audit, kubeconfig.parent))
        recording = f", recording them in {own_db}"
    _step(f"starting the simulator with scenario {scenario.name!r}")
    sim = run_in_thread(scenario, SimOptions(), kubeconfig_out=kubeconfig, port=args.port)
    print(f"kubewhy demo: scenario {scenario.name!r} served at {sim.url}")
    print(f"  {scenario.description.splitlines()[0] if scenario.description else ''}")
    print(f"  kubeconfig: {kubeconfig}\n")
    prom = None
    if args.prometheus:
        _step("starting Prometheus, scraping the simulator")
        prom = demo_prometheus.start(sim)
        if prom is not None:
            settings = dataclasses.replace(settings, prometheus=dataclasses.replace(settings.prometheus, url=DISCOVER))
    try:
        _step(f"diagnosing the scenario's {len({e.target for e in scenario.expect})} objects{recording}")
        asyncio.run(_diagnose_all(scenario, kubeconfig, args.full, settings))
        exe = _command()
        history = f"  {exe} history --since 1h"
        if settings.audit.enabled:  # where the demo recorded them; a URL given may hold a password: not echoed
            history += f" --database-url {'URL' if args.database_url else url}"
        print(
            f"\nTry:\n  kubectl --kubeconfig {kubeconfig} get pods -A\n"
            f"  {exe} why pod/q1/app-7d4b9c6f5-x2x7k --kubeconfig {kubeconfig}\n"
            f"  {exe} why node/node-3 --kubeconfig {kubeconfig} -o markdown\n"
            f"{history}"
        )
        if args.watch:
            _step("starting the watchers")
            print(
                f"\nWatching it (kubewhy watch --stdout, grace {args.grace}): each incident pages once, with "
                f"its cause. Break something, e.g.\n  kubectl --kubeconfig {kubeconfig} delete pod -n q5 db-0\n"
                "Ctrl-C stops.\n",
                flush=True,
            )
            return asyncio.run(_watch(settings, kubeconfig))
        if args.once:
            return 0
        print("\nThe simulated cluster stays up until you press Ctrl-C.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        if prom is not None:
            prom.stop()
        sim.stop()


def _own_audit(audit: AuditSettings, directory: Path) -> AuditSettings:
    """The demo's own audit database in ``directory``, made afresh: the previous run's file, its SQLite journals
    and the records it could not store are removed, so each run (and its watchers' incident ledger) starts empty.
    Its fallback file is beside it too, so no record of the demo waits in the user's fallback file to be imported
    into the user's database."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (DEMO_DB, f"{DEMO_DB}-journal", f"{DEMO_DB}-wal", f"{DEMO_DB}-shm", DEMO_FALLBACK):
        (directory / name).unlink(missing_ok=True)
    return dataclasses.replace(audit, fallback_path=directory / DEMO_FALLBACK)


def _step(message: str) -> None:
    """Announce a step on stderr as it starts (stdout keeps the report)."""
    print(f"kubewhy demo: {message}...", file=sys.stderr, flush=True)


async def _diagnose_all(scenario: scenarios.Scenario, kubeconfig: Path, full: bool, settings: Settings) -> None:
    """Diagnose every target the scenario names, recording each diagnosis in the demo's audit database."""
    settings = dataclasses.replace(settings, kube=dataclasses.replace(settings.kube, kubeconfig=str(kubeconfig)))
    seen: set[str] = set()
    async with compose.opened(settings) as deps:
        for w in deps.warnings:
            print(f"kubewhy demo: warning: {w}", file=sys.stderr)
        for exp in scenario.expect:
            if exp.target in seen:
                continue
            seen.add(exp.target)
            try:
                report = await diagnose(parse_target(exp.target), deps, actor=settings.actor or "demo", source="demo")
            except KubewhyError as exc:
                print(f"  {exp.target}: {exc}")
                continue
            if full:
                print(to_text(report) + "\n")
            elif report.healthy:
                print(f"  {exp.target:46} healthy")
            else:
                top = report.findings[0]
                more = f" (+{len(report.findings) - 1} more)" if len(report.findings) > 1 else ""
                print(f"  {exp.target:46} {top.id}{more}: {top.summary[:110]}")
    if deps.audit is not None:
        print(f"\n  diagnoses recorded in the audit log: {deps.audit.display_url}")


async def _watch(settings: Settings, kubeconfig: Path) -> int:
    """The watchers on the demo cluster, pages on stdout, one replica (no Lease), until Ctrl-C or SIGTERM."""
    import signal

    from kubewhy.watch.notify import StdoutNotifier
    from kubewhy.watch.run import run_watchers

    settings = dataclasses.replace(
        settings,
        kube=dataclasses.replace(settings.kube, kubeconfig=str(kubeconfig)),
        watch=dataclasses.replace(settings.watch, leader_election=False),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_watchers(settings, StdoutNotifier(), stop=stop)
    except KubewhyError as exc:
        print(f"kubewhy demo: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _command() -> str:
    """How to call kubewhy from here: the venv's script when it is not on PATH (scripts/demo installs there)."""
    import shutil

    beside = Path(sys.executable).parent / "kubewhy"
    if shutil.which("kubewhy") or not beside.exists():
        return "kubewhy"
    return os.path.relpath(beside) if not os.path.relpath(beside).startswith("..") else str(beside)
