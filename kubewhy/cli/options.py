"""What several subcommands share: the ``--database-url`` option, warnings on stderr, running a coroutine."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Mapping
from typing import Any

from ..settings import Flags, Settings, load

URL_HELP = "audit database URL (default: $KUBEWHY_DATABASE_URL, else ~/.local/share/kubewhy/audit.db)"
Environ = Mapping[str, str] | None


def database_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL", help=URL_HELP)


def audit_settings(args: argparse.Namespace, environ: Environ) -> Settings:
    """Settings for a command that only needs the audit log."""
    return load(environ, Flags(database_url=getattr(args, "database_url", None)))


def warn(message: str) -> None:
    print(f"kubewhy: warning: {message}", file=sys.stderr)


def run(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)
