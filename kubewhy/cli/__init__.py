"""The ``kubewhy`` command line. Subcommands come from a table and are imported only when chosen.

``kubewhy --help`` lists the table without importing any subcommand, and ``kubewhy demo`` (in ``kubelab``) or
``kubewhy bot`` (in ``bot``) are reached without the core importing those packages. Each subcommand module has
``add_parser(sub, name, help)`` and sets ``func(args, environ) -> int``; settings are read from ``environ`` once,
by :func:`kubewhy.settings.load`.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from ..errors import KubewhyError

# (name, module, one-line help): the order is the order of ``kubewhy --help``.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("why", "kubewhy.cli.why", "diagnose a pod, node, workload, Service, PVC or HPA"),
    ("changes", "kubewhy.cli.changes", "what changed around an object: rollouts, config, node, scaling (--since 2h)"),
    ("playbooks", "kubewhy.cli.playbooks", "validate or list playbooks"),
    ("history", "kubewhy.cli.history", "who asked what, what kubewhy said, which fixes, which alerts"),
    ("postmortem", "kubewhy.cli.postmortem", "a blameless post-mortem draft (Markdown) for an incident"),
    ("incident", "kubewhy.cli.incident", "open or resolve an incident that groups diagnoses, alerts and fixes"),
    ("db", "kubewhy.cli.db", "audit database: upgrade, downgrade, current, prune"),
    ("stats", "kubewhy.cli.stats", "fixes proposed, approved, applied and verified per playbook; pages, acks"),
    ("audit", "kubewhy.cli.audit", "audit log: verify its hash chain, name the first broken link"),
    ("mcp", "kubewhy.mcp.command", "serve the read-only diagnosis tools to AI assistants (MCP over stdio or HTTP)"),
    ("demo", "kubelab.cli_demo", "start the bundled broken cluster on the simulator and diagnose it"),
    ("eval", "kubelab.cli_eval", "run scenarios' expectations and score the playbooks"),
    ("sim", "kubelab.cli_sim", "run the Kubernetes cluster simulator (demo, tests, benchmarks)"),
    ("bot", "bot.cli", "run the Slack bot (HTTP or Socket Mode; configured by environment)"),
    ("watch", "bot.watch_cli", "watch the cluster and page Slack once per incident, with its diagnosis"),
)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``chosen``'s module is imported (the others are listed by name and help)."""
    parser = argparse.ArgumentParser(prog="kubewhy", description="Kubernetes incident copilot: why is it broken?")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_ in COMMANDS:
        if name == chosen:
            importlib.import_module(module).add_parser(sub, name, help_)
        else:
            sub.add_parser(name, help=help_, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """``environ`` defaults to the process environment (read once, in :func:`kubewhy.settings.load`)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_in if not a.startswith("-")), None)
    try:
        parser = build_parser(chosen if chosen in {c[0] for c in COMMANDS} else None)
    except ImportError as exc:
        print(f"kubewhy: the {chosen!r} command is not available here: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(args_in)
    try:
        code = int(args.func(args, environ) or 0)
        sys.stdout.flush()  # a reader that went away is seen here, not by the interpreter's last flush
        return code
    except KubewhyError as exc:
        print(f"kubewhy: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): the rest of the output is dropped, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's last flush cannot fail
        return 0


# Commands whose process may end without tearing the interpreter down (module by module, 15–20 ms for a
# ``why``): they leave no thread running and keep nothing unwritten (the audit record is fsync-ed before the
# report is printed). atexit handlers still run (the kubernetes client removes its temporary certificate files).
QUICK_EXIT = frozenset({"why"})


def _end(code: int, quick: bool) -> NoReturn:
    if not quick:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what was left to write is dropped, as on a normal exit
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def _short_lived() -> None:
    """A ``why`` process allocates for a few hundred milliseconds and ends. The cyclic garbage collector's passes
    over the growing heap of imported modules, decoded objects and compiled playbooks were about 7 % of its CPU;
    with a higher first threshold they run a few times instead of dozens (what a cycle leaves is bounded by the
    one diagnosis, and freed at exit)."""
    gc.set_threshold(50_000, 20, 100)


def console_main() -> NoReturn:
    """Entry point of the installed ``kubewhy`` command: :func:`main`, then a quick exit for ``why``."""
    argv = sys.argv[1:]
    quick = next((a for a in argv if not a.startswith("-")), None) in QUICK_EXIT
    if quick:
        _short_lived()
    _end(main(argv), quick)


def kubectl_plugin_main() -> NoReturn:
    """Entry point for ``kubectl why ...`` (installed as ``kubectl-why``)."""
    _short_lived()
    _end(main(["why", *sys.argv[1:]]), True)


__all__ = ["COMMANDS", "build_parser", "console_main", "kubectl_plugin_main", "main"]
