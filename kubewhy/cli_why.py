"""``kubewhy why TARGET`` (also ``kubectl why``) and ``kubewhy playbooks check|list``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from . import cli_audit, cli_charts
from .adapters.kube_live import LiveKube, build_api_client
from .adapters.kube_snapshot import SnapshotKube
from .errors import KubewhyError, TargetNotFound
from .models.findings import Report
from .models.target import parse_target
from .playbooks.loader import load_dirs
from .render.text import to_json, to_markdown, to_text
from .service import Deps


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    why = sub.add_parser("why", help="diagnose a pod, node, workload, Service, PVC or HPA")
    why.add_argument("target", nargs="?", default="", help="pod-x, pod/x, node/x, deploy/x, svc/x, pvc/x, hpa/x")
    why.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    why.add_argument("--context", help="kubeconfig context")
    why.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), help="kubeconfig file")
    why.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    why.add_argument("--snapshot", action="append", metavar="PATH",
                     help="diagnose offline from kubectl -o yaml files or a directory (repeatable)")
    why.add_argument("--prometheus", default=os.environ.get("KUBEWHY_PROMETHEUS_URL"), metavar="URL",
                     help="Prometheus URL, or 'discover' to find its Service in the cluster; token, basic auth, "
                          "CA and timeout from KUBEWHY_PROMETHEUS_TOKEN/_USER/_PASSWORD/_CA/_INSECURE/_TIMEOUT")
    why.add_argument("--playbooks", action="append", default=[], metavar="DIR",
                     help="extra playbook directory (repeatable; also KUBEWHY_PLAYBOOKS, ':'-separated)")
    why.add_argument("-o", "--output", choices=["text", "markdown", "json"], default="text")
    why.add_argument("-v", "--verbose", action="store_true", help="list every check")
    why.add_argument("--timeout", type=float, default=5.0, help="deadline per check in seconds (default 5)")
    cli_charts.add_arguments(why)
    cli_audit.add_why_arguments(why)
    why.set_defaults(func=cmd_why)
    pb = sub.add_parser("playbooks", help="validate or list playbooks")
    pbsub = pb.add_subparsers(dest="pb_command", required=True)
    chk = pbsub.add_parser("check", help="validate playbook files; exits non-zero on any error")
    chk.add_argument("dirs", nargs="*", help="directories or files (default: the bundled playbooks)")
    chk.set_defaults(func=cmd_check)
    lst = pbsub.add_parser("list", help="list loaded playbooks")
    lst.add_argument("--playbooks", action="append", default=[], metavar="DIR")
    lst.set_defaults(func=cmd_list)


def extra_playbook_dirs(flags: list[str]) -> list[Path]:
    env = [p for p in os.environ.get("KUBEWHY_PLAYBOOKS", "").split(":") if p]
    return [Path(p) for p in env + list(flags)]


def _context_namespace(kubeconfig: str | None, context: str | None) -> str | None:
    try:
        from kubernetes import config

        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        return (chosen or {}).get("context", {}).get("namespace")
    except Exception:  # no kubeconfig: the default namespace applies
        return None


def build_deps(args: argparse.Namespace) -> tuple[Deps, list[str]]:
    catalog = load_dirs(extra_playbook_dirs(args.playbooks))
    warnings = [f"playbook skipped: {e}" for e in catalog.errors]
    if args.snapshot:
        kube = SnapshotKube([Path(p) for p in args.snapshot])
        return Deps(kube=kube, catalog=catalog, prom=_prometheus(args, kube, warnings), clock=kube.clock,
                    check_timeout=args.timeout), warnings
    api = build_api_client(args.kubeconfig, args.context, in_cluster=args.in_cluster)
    kube = LiveKube(api)
    return Deps(kube=kube, catalog=catalog, prom=_prometheus(args, kube, warnings), check_timeout=args.timeout), \
        warnings


def _prometheus(args: argparse.Namespace, kube: object, warnings: list[str]) -> object:
    """--prometheus URL (auth and TLS from KUBEWHY_PROMETHEUS_*), or ``discover``: a Prometheus Service in-cluster."""
    if not args.prometheus:
        return None
    from .adapters.prom import PromMetrics, PromSettings, discover

    url = args.prometheus
    if url == "discover":
        url = asyncio.run(discover(kube))
        if url is None:
            warnings.append("no Prometheus Service found in the cluster: metric checks are skipped")
            return None
    return PromMetrics(PromSettings.from_environ(url, dict(os.environ)))


def cmd_why(args: argparse.Namespace) -> int:
    try:
        default_ns = None if args.snapshot or args.in_cluster else _context_namespace(args.kubeconfig, args.context)
        target = parse_target(args.target, args.namespace, default_ns or "default")  # validated before any API call
        deps, warnings = build_deps(args)
        for w in warnings:
            print(f"kubewhy: warning: {w}", file=sys.stderr)
        asyncio.run(cli_audit.diagnose_and_record(target, deps, args, show=lambda r: _show(r, args)))
    except TargetNotFound as exc:
        print(f"kubewhy: {exc}", file=sys.stderr)
        return exc.exit_code
    except KubewhyError as exc:
        print(f"kubewhy: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _show(report: Report, args: argparse.Namespace) -> None:
    render = {"json": to_json, "markdown": to_markdown}.get(args.output)
    print(render(report) if render else to_text(report, verbose=args.verbose), flush=True)
    cli_charts.after_report(report, args)


def cmd_check(args: argparse.Namespace) -> int:
    dirs = [Path(d) for d in args.dirs]
    catalog = load_dirs(dirs, include_bundled=not dirs)
    for err in catalog.errors:
        print(f"{err.location}: error: {err.detail}")
    print(f"{len(catalog.playbooks)} playbooks valid, {len(catalog.errors)} errors", file=sys.stderr)
    return 1 if catalog.errors else 0


def cmd_list(args: argparse.Namespace) -> int:
    catalog = load_dirs(extra_playbook_dirs(args.playbooks))
    for pb in sorted(catalog.playbooks, key=lambda p: p.id):
        print(f"{pb.id:28} {','.join(pb.applies_to):30} {pb.severity:8} {pb.title}")
    for err in catalog.errors:
        print(f"kubewhy: warning: playbook skipped: {err}", file=sys.stderr)
    return 0


def add_eval_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ev = sub.add_parser("eval", help="run scenarios' expectations and score the playbooks")
    ev.add_argument("paths", nargs="*", type=Path, help="scenario files or directories (default: bundled)")
    ev.add_argument("--playbooks", action="append", default=[], metavar="DIR")
    ev.add_argument("--mode", choices=["live", "snapshot"], default="live",
                    help="diagnose through the simulator over HTTP (live) or offline from the files (snapshot)")
    ev.add_argument("-o", "--output", choices=["text", "json"], default="text")
    ev.add_argument("--prometheus", default=None, metavar="auto|off|URL",
                    help="metrics for the scenarios: auto back-fills each scenario's last hour into a real "
                         "Prometheus (default when prometheus and promtool are installed), off, or a server URL")
    ev.add_argument("--coverage", type=Path, metavar="FILE",
                    help="also write the failure-mode catalogue's coverage (playbook, scenarios, result per entry) "
                         "as Markdown to FILE")
    ev.add_argument("--catalogue", type=Path, default=None, metavar="CATALOGUE.md",
                    help="the catalogue to cover (default: ../shared/CATALOGUE.md next to the repository)")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from .evaluate import format_table, run

    catalog = load_dirs(extra_playbook_dirs(args.playbooks))
    for err in catalog.errors:
        print(f"kubewhy: warning: playbook skipped: {err}", file=sys.stderr)
    from .testing.prometheus import default_setting

    prometheus = args.prometheus or default_setting()
    result = run(args.paths, catalog, args.mode, prometheus)
    if args.output == "json":
        print(json.dumps({"precision": result.precision, "recall": result.recall, "passed": result.passed,
                          "playbooks": {k: dict(v) for k, v in result.per_playbook().items()},
                          "cases": [{**c.__dict__, "passed": c.passed} for c in result.cases]}, indent=2))
    else:
        print(format_table(result))
    if args.coverage:
        from .evaluate import DEFAULT_CATALOGUE, coverage_command, coverage_markdown

        catalogue = args.catalogue or DEFAULT_CATALOGUE
        if not catalogue.is_file():
            print(f"kubewhy: catalogue not found: {catalogue} (use --catalogue)", file=sys.stderr)
            return 2
        command = coverage_command(args.paths, args.mode, prometheus, args.coverage)
        args.coverage.write_text(coverage_markdown(result, catalog, catalogue, command), encoding="utf-8")
        print(f"coverage written to {args.coverage}", file=sys.stderr)
    return 0 if result.passed else 1
