"""``kubewhy mcp``: the read-only MCP server over stdio, for an assistant that starts it as a subprocess.

The caller is the OS user; the namespaces it may read come from ``--namespaces``, ``KUBEWHY_MCP_NAMESPACES`` or
the Slack bot's ``KUBEWHY_SLACK_NAMESPACES``. Stdout is the protocol: warnings and logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..app import Kubewhy
from ..errors import UsageError
from ..settings import Flags, Settings, load
from .caller import Caller, ReadOnlyKube, stdio_caller

if TYPE_CHECKING:
    from .tokens import TokenMap

Environ = Mapping[str, str] | None


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(name, help=help_, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--context", help="kubeconfig context (default: $KUBEWHY_CONTEXT)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG)")
    p.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    p.add_argument("--snapshot", action="append", metavar="PATH", help="serve offline from kubectl -o yaml files")
    p.add_argument(
        "--prometheus", metavar="URL", help="Prometheus URL or 'discover' (default: $KUBEWHY_PROMETHEUS_URL)"
    )
    p.add_argument("--playbooks", action="append", default=[], metavar="DIR", help="extra playbook directory")
    p.add_argument("--timeout", type=float, default=None, help="deadline per check in seconds")
    p.add_argument(
        "--namespaces",
        metavar="NS[,NS]",
        help="namespaces the caller may read, or '*' (default: $KUBEWHY_MCP_NAMESPACES, else "
        "$KUBEWHY_SLACK_NAMESPACES, else all)",
    )
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP on HOST:PORT instead of stdio (off by default; callers by bearer token)",
    )
    p.add_argument(
        "--tokens",
        metavar="FILE",
        help="with --http: bearer tokens (sha256) -> caller names and namespaces (default: $KUBEWHY_MCP_TOKENS)",
    )
    p.add_argument("--no-audit", action="store_true", help="do not record the calls in the audit log")
    p.add_argument("--database-url", metavar="URL", help="audit database URL (default: $KUBEWHY_DATABASE_URL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, environ: Environ) -> int:
    settings = load(
        environ,
        Flags(
            kubeconfig=args.kubeconfig,
            context=args.context,
            in_cluster=args.in_cluster or None,
            snapshot=args.snapshot or (),
            prometheus=args.prometheus,
            playbooks=args.playbooks,
            database_url=args.database_url,
            no_audit=args.no_audit,
            check_timeout=args.timeout,
        ),
    )
    default_ns = None
    if not (settings.kube.snapshot or settings.kube.in_cluster):
        from ..adapters.kube_live import context_namespace

        default_ns = context_namespace(settings.kube.kubeconfig, settings.kube.context)
    if args.http:
        from pathlib import Path

        from .http import parse_address
        from .tokens import load_tokens

        host, port = parse_address(args.http)
        path = args.tokens or settings.mcp.tokens
        if not path:
            raise UsageError("--http needs --tokens FILE (or KUBEWHY_MCP_TOKENS): who may call, see docs/mcp.md")
        asyncio.run(serve_http(settings, load_tokens(Path(path)), host, port, default_ns))
        return 0
    caller = stdio_caller(settings, args.namespaces)
    asyncio.run(serve_stdio(settings, caller, default_ns))
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # stdout belongs to the protocol (stdio)


def _warn(message: str) -> None:
    _say(f"kubewhy: warning: {message}")


async def serve_stdio(settings: Settings, caller: Caller, default_namespace: str | None = None) -> None:
    """One application object, read-only, served over stdin/stdout until the client closes them."""
    from .server import build_server

    async with Kubewhy(settings, source="mcp", on_warning=_warn, start_audit=True) as app:
        for w in app.warnings:
            _warn(w)
        app.deps.kube = ReadOnlyKube(app.deps.kube)
        await build_server(app, caller, default_namespace=default_namespace).run_stdio_async()


async def serve_http(
    settings: Settings, tokens: TokenMap, host: str, port: int, default_namespace: str | None = None
) -> None:
    """The same application object, served over streamable HTTP until interrupted."""
    from . import http

    async with Kubewhy(settings, source="mcp", on_warning=_warn, start_audit=True) as app:
        for w in app.warnings:
            _warn(w)
        app.deps.kube = ReadOnlyKube(app.deps.kube)
        await http.serve_http(
            app, tokens, host, port, lambda url: _say(f"kubewhy mcp: serving {url}"), default_namespace
        )


__all__ = ["add_parser", "run", "serve_http", "serve_stdio"]
