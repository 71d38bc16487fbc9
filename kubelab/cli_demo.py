"""``kubewhy demo``: a broken cluster to explore in seconds — the bundled workshop on the simulator, diagnosed."""

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
from kubewhy.settings import DISCOVER, Flags, Settings, load

from . import demo_prometheus


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(name, help=help_)
    demo.add_argument("--scenario", default="workshop", help="bundled scenario or path (default: workshop)")
    demo.add_argument("--port", type=int, default=0, help="simulator port (default: a free one)")
    demo.add_argument("--kubeconfig-out", default="kubewhy-demo.kubeconfig", metavar="FILE")
    demo.add_argument("--once", action="store_true", help="diagnose, print and exit instead of keeping the cluster up")
    demo.add_argument("--full", action="store_true", help="print every finding in full, not one line per target")
    demo.add_argument("--no-audit", action="store_true", help="do not record the diagnoses in the audit log")
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
    settings = load(environ, Flags(no_audit=args.no_audit, grace=args.grace if args.watch else None))
    try:
        scenario = scenarios.load(args.scenario)
    except scenarios.ScenarioError as exc:
        print(f"kubewhy demo: scenario error: {exc}", file=sys.stderr)
        return 2
    kubeconfig = Path(args.kubeconfig_out).resolve()
    sim = run_in_thread(scenario, SimOptions(), kubeconfig_out=kubeconfig, port=args.port)
    print(f"kubewhy demo: scenario {scenario.name!r} served at {sim.url}")
    print(f"  {scenario.description.splitlines()[0] if scenario.description else ''}")
    print(f"  kubeconfig: {kubeconfig}\n")
    prom = None
    if args.prometheus:
        prom = demo_prometheus.start(sim)
        if prom is not None:
            settings = dataclasses.replace(settings, prometheus=dataclasses.replace(settings.prometheus, url=DISCOVER))
    try:
        asyncio.run(_diagnose_all(scenario, kubeconfig, args.full, settings))
        exe = _command()
        print(
            f"\nTry:\n  kubectl --kubeconfig {kubeconfig} get pods -A\n"
            f"  {exe} why pod/q1/app-7d4b9c6f5-x2x7k --kubeconfig {kubeconfig}\n"
            f"  {exe} why node/node-3 --kubeconfig {kubeconfig} -o markdown\n"
            f"  {exe} history --since 1h"
        )
        if args.watch:
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


async def _diagnose_all(scenario: scenarios.Scenario, kubeconfig: Path, full: bool, settings: Settings) -> None:
    """Diagnose every target the scenario names, recording each diagnosis in the audit log (SQLite by default)."""
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
