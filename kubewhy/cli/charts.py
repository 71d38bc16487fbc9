"""``kubewhy why ... --chart-dir DIR``: a PNG per finding whose playbook names a chart, plus a terminal sparkline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import Kubewhy
    from ..models.findings import Report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chart-dir",
        metavar="DIR",
        help="write a PNG chart of the metric evidence (last hour) of each finding into DIR (needs --prometheus)",
    )


async def write_charts(report: Report, app: Kubewhy, directory: str | Path) -> list[tuple[str, Path | None, str]]:
    """(finding id, PNG path or None, sparkline text or the reason there is no chart) per charted finding."""
    from ..charts import chart_filename, render_png, text_chart  # only with --chart-dir

    out: list[tuple[str, Path | None, str]] = []
    for finding in report.findings:
        if not finding.chart:
            continue
        try:
            data = await app.chart(finding)
        except Exception as exc:  # noqa: BLE001 - ChartError, or an adapter's (Prometheus down): never hides the report
            out.append((finding.id, None, str(exc)))
            continue
        path = render_png(data, Path(directory) / chart_filename(finding))
        out.append((finding.id, path, "\n".join(text_chart(data))))
    return out


async def after_report(report: Report, app: Kubewhy, directory: str | Path) -> None:
    """Called once the report is shown, with the same application: write the charts (messages to stderr)."""
    if not any(f.chart for f in report.findings):
        return
    try:
        charts = await write_charts(report, app, directory)
    except Exception as exc:  # noqa: BLE001 - reported, never raised over a finished diagnosis
        print(f"kubewhy: charts: {exc}", file=sys.stderr)
        return
    for fid, path, text in charts:
        if path is None:
            print(f"kubewhy: chart for {fid}: {text}", file=sys.stderr)
        else:
            print(f"chart {fid}: {path}\n{text}", file=sys.stderr)
