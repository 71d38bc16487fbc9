"""``kubewhy bot``: the subcommand ``kubewhy.cli`` imports only when it is chosen (the core never imports ``bot``)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    bot = sub.add_parser(name, help=help_, description="Configuration comes from the environment: see docs/slack.md.")
    bot.set_defaults(func=cmd_bot)


def cmd_bot(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    from .runner import main

    return main(environ)
