"""``kubewhy why ... --chart-dir DIR``: a PNG per finding whose playbook names a chart, plus a terminal sparkline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models.findings import Report
    from ..service import Deps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chart-dir",
        metavar="DIR",
        help="write a PNG chart of the metric evidence (last hour) of each finding into DIR (needs --prometheus)",
    )


async def write_charts(report: Report, deps: Deps, directory: str | Path) -> list[tuple[str, Path | None, str]]:
    """(finding id, PNG path or None, sparkline text or the reason there is no chart) per charted finding."""
    from ..charts import ChartError, chart_data, chart_filename, render_png, text_chart  # only with --chart-dir

    out: list[tuple[str, Path | None, str]] = []
    for finding in report.findings:
        if not finding.chart:
            continue
        try:
            data = await chart_data(finding, catalog=deps.catalog, kube=deps.kube, prom=deps.prom)
        except ChartError as exc:
            out.append((finding.id, None, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - an adapter error (Prometheus down) must not hide the diagnosis
            out.append((finding.id, None, str(exc)))
            continue
        path = render_png(data, Path(directory) / chart_filename(finding))
        out.append((finding.id, path, "\n".join(text_chart(data))))
    return out


async def after_report(report: Report, deps: Deps, directory: str | Path) -> None:
    """Called once the report is shown, with the same dependencies: write the charts (messages to stderr)."""
    if not any(f.chart for f in report.findings):
        return
    try:
        charts = await write_charts(report, deps, directory)
    except Exception as exc:  # noqa: BLE001 - reported, never raised over a finished diagnosis
        print(f"kubewhy: charts: {exc}", file=sys.stderr)
        return
    for fid, path, text in charts:
        if path is None:
            print(f"kubewhy: chart for {fid}: {text}", file=sys.stderr)
        else:
            print(f"chart {fid}: {path}\n{text}", file=sys.stderr)
