"""The ``kubewhy`` command line: the composition root for every front-end of the shared core."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import cli_audit, cli_bot, cli_demo, cli_sim, cli_why


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubewhy", description="Kubernetes incident copilot: why is it broken?")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_why.add_parsers(sub)
    cli_why.add_eval_parser(sub)
    cli_sim.add_parser(sub)
    cli_audit.add_parsers(sub)
    cli_demo.add_parser(sub)
    cli_bot.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


def kubectl_plugin_main() -> int:
    """Entry point for ``kubectl why ...`` (installed as ``kubectl-why``)."""
    return main(["why", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
