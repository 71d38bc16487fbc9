"""``k8stui``: the terminal UI on the current kubeconfig context, ``--demo`` (the workshop on the simulator) or
``--snapshot PATH`` (offline). Settings are read once, by :func:`kubewhy.settings.load`; bad input is a one-line
error and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubewhy.errors import KubewhyError
from kubewhy.settings import Flags, load

DEMO_MODULE = "kubelab.tui_demo"  # reached by name: the TUI does not import the simulator


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="k8stui", description="Kubernetes incident copilot, in the terminal")
    p.add_argument("--context", help="kubeconfig context (default: the current one; switch with :ctx NAME)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("-n", "--namespace", help="start in this namespace (default: all)")
    p.add_argument("--demo", action="store_true", help="the bundled workshop cluster on the simulator, in-process")
    p.add_argument("--scenario", default="workshop", help=argparse.SUPPRESS)
    p.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="PATH",
        help="browse and diagnose a dump or support bundle offline (repeatable)",
    )
    p.add_argument("--prometheus", metavar="URL", help="Prometheus for metric checks and charts (or 'discover')")
    p.add_argument("--database-url", help="audit database (default: SQLite in ~/.local/share/kubewhy)")
    p.add_argument("--no-audit", action="store_true", help="record nothing in the audit log")
    p.add_argument("--start", default="home", help="first screen: home, pods, nodes, events, ... (a : command)")
    return p


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.demo and args.snapshot:
        print("k8stui: --demo and --snapshot cannot be combined", file=sys.stderr)
        return 2
    missing = [p for p in args.snapshot if not Path(p).exists()]
    if missing:
        print(f"k8stui: --snapshot {missing[0]}: no such file or directory", file=sys.stderr)
        return 2
    demo: Any = None
    try:
        if args.demo:
            try:
                demo = importlib.import_module(DEMO_MODULE).start(args.scenario)
            except ImportError as exc:
                print(f"k8stui: --demo needs the simulator (kubesim), which is not installed: {exc}", file=sys.stderr)
                return 2
            except Exception as exc:  # noqa: BLE001 - a bad scenario name or file: say so, no traceback
                print(f"k8stui: the demo cluster did not start: {exc}", file=sys.stderr)
                return 2
        flags = Flags(
            kubeconfig=str(demo.kubeconfig) if demo else args.kubeconfig,
            context=None if demo else args.context,
            snapshot=args.snapshot,
            prometheus=args.prometheus,
            database_url=demo.audit_url if demo else args.database_url,
            no_audit=args.no_audit,
            grace="0s" if demo else None,  # the demo's problems are old already: its watchers open them at once
        )
        settings = load(environ, flags)
        from .app import K8sTui
        from .data import Session

        # --demo: nobody else watches the demo's cluster, so the session runs the watchers (home's open incidents)
        app = K8sTui(Session(settings, watch_incidents=demo is not None), namespace=args.namespace, start=args.start)
        code = app.run()
        if demo is not None:
            print(f"k8stui: the demo's audit log: {demo.audit_url} (kubewhy history --database-url URL)")
        return int(code or 0)
    except KubewhyError as exc:
        print(f"k8stui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        if demo is not None:
            demo.stop()


def console_main() -> None:
    sys.exit(main())


__all__ = ["console_main", "main", "parser"]
