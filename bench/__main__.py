"""The benchmark harness: every benchmark, each in its own process, against the simulator; one report.

    .venv/bin/python -m bench                       # everything; rewrites docs/benchmarks.md
    .venv/bin/python -m bench --only why --latency-ms 50 --sizes 1000,5000,20000
    .venv/bin/python -m bench --smoke --out /tmp/b.md   # a few seconds each, no thresholds (the test suite runs it)
    .venv/bin/python -m bench --only watch          # re-runs one benchmark; its section and target rows are
                                                    # replaced in docs/benchmarks.md, the others kept

Each benchmark is a script in bench/ run as a subprocess with the harness's sizes and repeats; what it prints
(Markdown) becomes its section, and the targets it reports (``--json-out``) are marked met or not met in the
summary at the top. The hand-written notes (bench/notes.md: what the profiles showed, what changed) are appended.
In smoke mode the figures are meaningless (tiny clusters, one repeat) and nothing is judged: it only proves that
every benchmark still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@dataclass
class Bench:
    name: str
    title: str
    script: str
    full: list[str]
    smoke: list[str]
    json_out: bool = False
    note: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)


def benches(args: argparse.Namespace) -> list[Bench]:
    lat = str(args.latency_ms)
    return [
        Bench(
            "why",
            "`kubewhy why` as a process vs the kubectl loop; start-up; scale (issue 12)",
            "bench_why.py",
            [
                "--sizes",
                args.sizes,
                "--main-size",
                str(args.main_size),
                "--latency-ms",
                lat,
                "--repeats",
                str(args.repeats),
                "--scale-repeats",
                str(max(3, args.repeats // 2)),
            ]
            + (["--profile"] if args.profile else []),
            ["--sizes", "200", "--main-size", "200", "--latency-ms", lat, "--repeats", "1", "--scale-repeats", "1"],
            json_out=True,
        ),
        Bench(
            "sim",
            "Simulator: LIST of a large cluster and WATCH fan-out (issue 2)",
            "bench_sim.py",
            [
                "--pods",
                "10000",
                "--nodes",
                "500",
                "--events",
                "50000",
                "--rate",
                "1000",
                "--seconds",
                "10",
                "--watchers",
                "10",
            ],
            [
                "--pods",
                "300",
                "--nodes",
                "15",
                "--events",
                "600",
                "--rate",
                "100",
                "--seconds",
                "1",
                "--watchers",
                "2",
                "--repeats",
                "2",
            ],
            note="Simulator and client in one process; the client is aiohttp.",
        ),
        Bench(
            "audit",
            "Audit log: records/s on SQLite and Postgres (issue 6)",
            "bench_audit.py",
            ["--records", "20000", "--concurrency", "1000", "--batch-size", "200"],
            ["--records", "300", "--concurrency", "50", "--batch-size", "100"],
            note="Needs Postgres on 127.0.0.1:5432 (`bash scripts/services`). 1,000 concurrent tasks call "
            "`record_diagnosis`; the clock runs from the first call until `aclose()` has committed the last "
            "row. This is the writer of long-lived front-ends (bot, TUI, watchers); `kubewhy why` spools "
            "instead (docs/audit.md).",
        ),
        Bench(
            "bot",
            "Slack bot: acknowledgement and full answer (issue 7)",
            "bench_bot.py",
            ["--latency-ms", lat, "--repeats", "20"],
            ["--latency-ms", lat, "--repeats", "2"],
            json_out=True,
            note="The real Bolt app in HTTP mode behind aiohttp, signed requests, the workshop scenario on a "
            "simulator process, the Slack Web API double on loopback.",
        ),
        Bench(
            "prometheus",
            "A real Prometheus per scenario: back-fill, start-up, queries (issue 5)",
            "bench_prometheus.py",
            ["--repeats", "3", "--queries", "30"],
            ["--repeats", "1", "--queries", "3"],
            note="Debian's Prometheus; medians; the back-fill is the scenario's last hour at a 15 s step.",
        ),
        Bench(
            "watch",
            "Watchers: page latency, API load, memory, throughput (issue 13)",
            "bench_watch.py",
            [
                "--latency-ms",
                lat,
                "--grace",
                "0s",
                "--incidents",
                "20",
                "--latency-pods",
                "10000",
                "--sizes",
                "1000,10000,20000",
                "--window",
                "300",
                "--rate",
                "2000",
                "--seconds",
                "60",
            ],
            [
                "--latency-ms",
                lat,
                "--grace",
                "0s",
                "--incidents",
                "2",
                "--latency-pods",
                "200",
                "--pause",
                "0.2",
                "--sizes",
                "200",
                "--window",
                "2",
                "--settle",
                "0.2",
                "--poll",
                "1",
                "--rate",
                "200",
                "--seconds",
                "1",
                "--churn-pods",
                "200",
                "--churn-nodes",
                "10",
            ],
            json_out=True,
            note="`kubewhy watch` as a process against simulator processes, the Slack Web API double in the "
            "benchmark's process; the throughput's churn is written into the simulator's store by its host "
            "process (see the section).",
        ),
        Bench(
            "sampler",
            "Kubelet sampler: node proxy requests/min and watcher RSS vs a Prometheus scrape (issue 31)",
            "bench_sampler.py",
            ["--sizes", "500,5000", "--window", "120"],
            ["--sizes", "20", "--window", "5"],
            json_out=True,
            note="`kubewhy watch --stdout` as a process against a simulator process, with and without the sampler; "
            "the Prometheus columns are computed from the scrape configuration (see the section).",
        ),
        Bench(
            "scale",
            "Watchers at 150,000 pods and 5,000 nodes (issue 24)",
            "bench_scale.py",
            ["--pods", "150000", "--nodes", "5000", "--events", "150000", "--failing", "300", "--new", "10"]
            + ["--latency-ms", lat, "--window", "300"],
            ["--pods", "300", "--nodes", "10", "--events", "300", "--failing", "5", "--new", "2"]
            + ["--latency-ms", lat, "--window", "2", "--cap", "120"],
            json_out=True,
            note="The simulator in its own process (its throughput in the table), `kubewhy watch` as a process "
            "twice: a first run opens the incidents, a second is timed from its start to its first page.",
        ),
        Bench(
            "tui",
            "k8stui at 10,000 pods in a real terminal: home vs `kubectl get pods -A`, keystroke to screen, "
            "`:events`; memory under live updates (issues 14, 24)",
            "bench_tui_term.py",
            [
                "--pods",
                "10000",
                "--nodes",
                "500",
                "--events",
                "50000",
                "--latency-ms",
                lat,
                "--pairs",
                "5",
                "--rounds",
                "3",
                "--rss-seconds",
                "120",
                "--rate",
                "200",
            ],
            [
                "--pods",
                "300",
                "--nodes",
                "10",
                "--events",
                "300",
                "--latency-ms",
                lat,
                "--pairs",
                "1",
                "--rounds",
                "1",
                "--rss-seconds",
                "1",
                "--rate",
                "50",
            ],
            json_out=True,
            note="The simulator in its own process; k8stui and kubectl as processes, k8stui in a tmux pane of its "
            "own tmux server read with `capture-pane`; then the in-process figures (the app headless at 160x50, "
            "fed by the watch informer; the live phase is 2 minutes: memory is flat after the first 30 s). At "
            "150,000 pods: `bench/bench_tui_term.py --pods 150000 --nodes 5000 --events 50000 --pairs 2`.",
        ),
    ]


def machine() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs{mem}, Python {platform.python_version()}"


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, timeout=10
        )
        return out.stdout.strip()
    except OSError:
        return ""


def run_bench(b: Bench, smoke: bool, timeout: float) -> tuple[str, float, bool]:
    argv = [sys.executable, str(HERE / b.script), *(b.smoke if smoke else b.full)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "section.json"
        extra = ["--json-out", str(out)] if b.json_out else []
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(argv + extra, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
            ok, text = proc.returncode == 0, proc.stdout
            if not ok:
                text += f"\n\n**Failed (exit {proc.returncode}):**\n\n```\n{proc.stderr[-2000:]}\n```"
        except subprocess.TimeoutExpired:
            ok, text = False, f"**Timed out after {timeout:.0f} s.**"
        elapsed = time.perf_counter() - t0
        if ok and out.exists():
            data = json.loads(out.read_text(encoding="utf-8"))
            b.targets = list(data.get("targets", []))
            text = data.get("markdown", text)
    command = ".venv/bin/python " + " ".join(
        shlex.quote(a) for a in [f"bench/{b.script}", *(b.smoke if smoke else b.full)]
    )
    section = [f"## {b.title}", "", f"Command: `{command}`" + (f" ({b.note})" if b.note else ""), "", text.strip()]
    if b.targets and not smoke:
        section += ["", "Targets:", ""] + [
            f"- {t['name']}: **{t['figure']}** (target {t['target']}: {'met' if t['met'] else '**not met**'})"
            for t in b.targets
        ]
    return "\n".join(section), elapsed, ok


def merge(
    existing: str,
    order: list[str],
    sections: dict[str, str],
    summary: list[tuple[str, dict[str, Any]]],
    stamp: str,
    notes: str = "",
) -> str:
    """An existing report with the sections and target rows of the benchmarks just run replaced (a section not
    there yet goes before the notes); the header and the other sections are kept as they were, the notes replaced
    by ``notes`` (bench/notes.md, which starts with its ``## Notes…`` title) when given."""
    head, *blocks = ("\n" + existing).split("\n## ")
    fresh = {
        text.split("\n", 1)[0].removeprefix("## "): text.replace("\n\n", f"\n\n{stamp}\n\n", 1)
        for text in sections.values()
    }
    rows = [
        f"| {name} | {t['name']}: {t['target']} | {t['figure']} | {'met' if t['met'] else '**not met**'} |"
        for name, t in summary
    ]

    def bench_of(row: str) -> str:
        return row.split(" | ")[0].removeprefix("| ")

    out: list[str] = []
    for block in blocks:
        title = block.split("\n", 1)[0]
        if title == "Targets":
            table = [line for line in block.splitlines() if line.startswith("|")]
            kept = [row for row in table[2:] if bench_of(row) not in sections]
            ranked = sorted(kept + rows, key=lambda r: order.index(bench_of(r)) if bench_of(r) in order else 99)
            out.append("\n".join(["## Targets", "", *table[:2], *ranked]))
        elif title in fresh:
            out.append(fresh.pop(title))
        elif title.startswith("Notes") and notes:
            out += list(fresh.values())  # new sections go before the notes
            fresh.clear()
            out.append(notes)  # the hand-written notes as they are now (bench/notes.md)
            notes = ""
        else:
            if title.startswith("Notes"):
                out += list(fresh.values())
                fresh.clear()
            out.append("## " + block)
    out += list(fresh.values())
    return head.strip("\n") + "\n\n" + "\n\n".join(o.strip("\n") for o in out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, no thresholds")
    ap.add_argument(
        "--only",
        action="append",
        help="run only these benchmarks (why, sim, audit, bot, prometheus, "
        "watch, tui); into an existing report their sections and target rows are merged, the others kept",
    )
    ap.add_argument("--latency-ms", type=float, default=20.0, help="added to every simulated API request")
    ap.add_argument("--sizes", default="1000,5000,20000", help="cluster sizes (pods) for the scale figures")
    ap.add_argument("--main-size", type=int, default=5000, help="the size of the kubectl comparison")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--profile", action="store_true", help="also profile one `kubewhy why` (pyinstrument)")
    ap.add_argument("--out", type=Path, help="default: docs/benchmarks.md (not written in smoke mode)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per benchmark, seconds")
    args = ap.parse_args()
    chosen = [b for b in benches(args) if not args.only or b.name in args.only]
    started, load_before = datetime.now(UTC), load()
    sections, summary, failed = [], [], []
    for b in chosen:
        print(f"bench: {b.name} …", file=sys.stderr, flush=True)
        text, elapsed, ok = run_bench(b, args.smoke, args.timeout)
        print(f"bench: {b.name} {'ok' if ok else 'FAILED'} in {elapsed:.1f} s", file=sys.stderr, flush=True)
        sections.append(text)
        summary += [(b.name, t) for t in b.targets]
        if not ok:
            failed.append(b.name)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    doc = [
        "# Benchmarks",
        "",
        "Produced by the harness (`bench/__main__.py`); do not edit by hand: edit `bench/notes.md` or a "
        "benchmark, then re-run it. Speed and memory targets are measured here, never asserted in tests.",
        "",
        f"- Command: `{command.strip()}` (from the repository root, after `bash scripts/install`)",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; commit {commit() or '?'}",
        f"- Machine: {machine()}",
        f"- Load average (1/5/15 min) before: {load_before}; after: {load()}",
        f"- Simulated API latency: {args.latency_ms:g} ms per request"
        + ("; **smoke mode: tiny sizes, figures meaningless**" if args.smoke else ""),
        "",
    ]
    if summary and not args.smoke:
        doc += ["## Targets", "", "| benchmark | target | measured | |", "|---|---|---|---|"]
        doc += [
            f"| {name} | {t['name']}: {t['target']} | {t['figure']} | {'met' if t['met'] else '**not met**'} |"
            for name, t in summary
        ]
        doc.append("")
    doc += ["\n\n".join(sections), ""]
    notes = HERE / "notes.md"
    if notes.exists() and not args.only:
        doc += [notes.read_text(encoding="utf-8").strip(), ""]
    text = "\n".join(doc)
    out = args.out or (None if args.smoke else ROOT / "docs" / "benchmarks.md")
    if out is not None and args.only and not args.smoke and out.exists():
        stamp = (
            f"Run on its own: `{command.strip()}`, {started.strftime('%Y-%m-%d %H:%M UTC')}, commit "
            f"{commit() or '?'}, load average before {load_before}, after {load()}; "
            f"{args.latency_ms:g} ms per simulated request."
        )
        text = merge(
            out.read_text(encoding="utf-8"),
            [b.name for b in benches(args)],
            dict(zip([b.name for b in chosen], sections, strict=True)),
            summary,
            stamp,
            notes.read_text(encoding="utf-8").strip() if notes.exists() else "",
        )
    if out is not None:
        out.write_text(text, encoding="utf-8")
        print(f"bench: wrote {out}", file=sys.stderr)
    else:
        print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
