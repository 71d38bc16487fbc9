"""``kubewhy sim``: start the bundled cluster simulator, or list its scenarios."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping

from kubesim import generate
from kubesim import scenario as scenarios
from kubesim.runner import serve_forever
from kubesim.server import SimOptions


def add_parser(sub: argparse._SubParsersAction, name: str, help_: str) -> None:  # type: ignore[type-arg]
    sim = sub.add_parser(name, help=help_)
    simsub = sim.add_subparsers(dest="sim_command", required=True)
    serve = simsub.add_parser("serve", help="serve a scenario over the Kubernetes API")
    serve.add_argument("--scenario", default="workshop", help="bundled scenario name or path (default: workshop)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001, help="port to listen on; 0 picks a free one (default 8001)")
    serve.add_argument("--kubeconfig-out", metavar="FILE", help="write a kubeconfig for kubectl and kubewhy here")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added latency per API request")
    serve.add_argument(
        "--timeline",
        choices=["auto", "manual"],
        default="auto",
        help="run scripted changes on the wall clock (auto) or only via the control API",
    )
    serve.add_argument(
        "--generate",
        metavar="SPEC",
        help="serve a generated cluster instead, e.g. pods=10000,nodes=500,events=50000 (failing=N: "
        "that many pods crash-looping, else one in 50)",
    )
    serve.set_defaults(func=cmd_serve)
    lst = simsub.add_parser("list", help="list the bundled scenarios")
    lst.set_defaults(func=cmd_list)


def _parse_generate(spec: str) -> dict[str, int]:
    out = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in ("pods", "nodes", "events", "namespaces", "failing") or not value.strip().isdigit():
            raise ValueError(f"--generate: expected pods=N,nodes=N,events=N[,namespaces=N,failing=N], got {part!r}")
        out[key.strip()] = int(value)
    return out


def cmd_serve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    try:
        if args.generate:
            scenario = generate.large_scenario(**_parse_generate(args.generate))
        else:
            scenario = scenarios.load(args.scenario)
    except (scenarios.ScenarioError, ValueError) as exc:
        print(f"kubewhy sim: scenario error: {exc}", file=sys.stderr)
        return 2
    options = SimOptions(latency_ms=args.latency_ms, timeline_mode=args.timeline)

    def announce(url: str) -> None:
        print(f"kubesim: serving scenario {scenario.name!r} at {url}", flush=True)
        if args.kubeconfig_out:
            print(
                f"kubesim: kubeconfig written to {args.kubeconfig_out}; try:\n"
                f"  kubectl --kubeconfig {args.kubeconfig_out} get pods -A",
                flush=True,
            )

    try:
        asyncio.run(
            serve_forever(
                scenario, options, host=args.host, port=args.port, kubeconfig_out=args.kubeconfig_out, announce=announce
            )
        )
    except OSError as exc:
        print(f"kubewhy sim: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def cmd_list(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    rows = scenarios.describe_bundled()
    width = max((len(n) for n, _ in rows), default=10)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0
