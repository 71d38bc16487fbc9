"""``kubewhy bot``: run the Slack bot (configuration from the environment; see docs/slack.md)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bot = sub.add_parser("bot", help="run the Slack bot (HTTP or Socket Mode; configured by environment)")
    bot.set_defaults(func=cmd_bot)


def cmd_bot(args: argparse.Namespace) -> int:
    from bot.runner import main

    return main()
