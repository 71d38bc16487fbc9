"""The ``kubewhy`` command line. Subcommands come from a table and are imported only when chosen.

``kubewhy --help`` lists the table without importing any subcommand, and ``kubewhy demo`` (in ``kubelab``) or
``kubewhy bot`` (in ``bot``) are reached without the core importing those packages. Each subcommand module has
``add_parser(sub, name, help)`` and sets ``func(args, environ) -> int``; settings are read from ``environ`` once,
by :func:`kubewhy.settings.load`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import importlib.util
import marshal
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import CodeType
from typing import Any, NoReturn

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
    _compiled_dataclass_methods()


# ---- dataclass methods compiled once ------------------------------------------------------------------------------
#
# ``dataclasses`` writes each class's ``__init__``, ``__repr__``, ``__eq__`` … as source text and ``exec``-s it: a
# ``why`` process made 337 such calls for 57 dataclasses, and Python's parser compiling them was a tenth of its
# instructions. The text depends only on the class's definition, so its code object is kept, as a ``.pyc`` keeps a
# module's: ``dataclasses``' ``exec`` is given code compiled from the same text, with the same flags (none are
# inherited: ``dataclasses`` has no ``__future__`` import), from a file beside this package's bytecode, written
# when new texts were met (not when bytecode is not written). The functions are made as before, in their module's
# globals; only the parsing is skipped.

_METHODS_MAX = 4096  # distinct texts kept (a few hundred in practice)


def _methods_file() -> Path | None:
    try:
        return Path(importlib.util.cache_from_source(str(Path(__file__).with_name("_dataclass_methods.py"))))
    except (NotImplementedError, ValueError):  # no cache tag: bytecode is not cached either
        return None


def _load_methods(path: Path, header: bytes) -> dict[str, CodeType]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(header):
        return {}
    try:
        codes = marshal.loads(data[len(header) :])
    except (EOFError, ValueError, TypeError):
        return {}
    return codes if isinstance(codes, dict) else {}


def _compiled_dataclass_methods() -> None:
    import dataclasses

    if "exec" in vars(dataclasses):  # already installed (or someone else's)
        return
    path = _methods_file()
    if path is None:
        return
    header = importlib.util.MAGIC_NUMBER + f"kubewhy-dataclass-methods/1/O{sys.flags.optimize}\n".encode()
    codes = _load_methods(path, header)
    new: list[str] = []
    used: set[str] = set()

    def exec_compiled(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            used.add(source)
            code = codes.get(source)
            if not isinstance(code, CodeType):
                code = codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
                new.append(source)
            source = code
        exec(source, globals, locals)

    def save() -> None:
        if not new or sys.dont_write_bytecode:
            return
        kept = codes if len(codes) <= _METHODS_MAX else {text: codes[text] for text in used}  # texts of old code go
        part = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            part.write_bytes(header + marshal.dumps(kept))
            os.replace(part, path)  # readers see the old file or the new one, never half of one
        except OSError:  # a directory that cannot be written only means parsing again next time
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)

    dataclasses.exec = exec_compiled  # type: ignore[attr-defined]
    atexit.register(save)


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
