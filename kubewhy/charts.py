"""Charts of a finding's evidence series: a PNG (Slack, ``kubewhy why --chart-dir``) and a text sparkline (TUI).

A playbook names, with ``chart:``, the ``prometheus`` check whose series are worth a picture (memory working set
with the limit as a line, the throttled-periods ratio, PVC usage). The chart is drawn from the last hour of that
query, rendered for the finding's subject exactly as the diagnosis rendered it (label values through ``q()``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .adapters.ports import KubeReader, MetricsReader
from .engine.runner import render_params
from .errors import KubewhyError
from .models.findings import Finding
from .models.target import parse_target
from .playbooks.loader import Catalog

BLOCKS = "▁▂▃▄▅▆▇█"
UNITS = {
    "bytes": "memory / bytes",
    "ratio": "share of CFS periods throttled",
    "cores": "CPU (cores)",
    "seconds": "seconds",
}


class ChartError(KubewhyError):
    """A chart that cannot be drawn (no Prometheus, no such check, no data); the message says why."""


@dataclass
class ChartData:
    title: str
    subject: str
    unit: str  # bytes | ratio | cores | seconds | ""
    query: str
    series: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)  # (label, [(ts, value)])
    lines: dict[str, float] = field(default_factory=dict)  # reference lines: label -> value (e.g. the limit)

    @property
    def points(self) -> int:
        return sum(len(v) for _, v in self.series)


def _label(metric: dict[str, Any]) -> str:
    for key in ("container", "persistentvolumeclaim", "pod"):
        if metric.get(key):
            return str(metric[key])
    return ", ".join(f"{k}={v}" for k, v in sorted(metric.items()) if k != "__name__") or "value"


async def chart_data(
    finding: Finding,
    *,
    catalog: Catalog,
    kube: KubeReader,
    prom: MetricsReader | None,
    seconds: float = 3600.0,
    step: float = 30.0,
) -> ChartData:
    """The series behind ``finding.chart`` over the last ``seconds``, from Prometheus."""
    if not finding.chart:
        raise ChartError(f"finding {finding.id} has no chart")
    if prom is None:
        raise ChartError("no Prometheus configured: charts need --prometheus URL")
    pb = catalog.by_id(finding.id)
    spec = next((c for c in (pb.checks if pb else ()) if c.id == finding.chart and c.use == "prometheus"), None)
    if spec is None:
        raise ChartError(f"playbook {finding.id} has no prometheus check {finding.chart!r} to chart")
    target = parse_target(finding.subject)
    obj = await kube.get(target.kind, target.namespace, target.name)
    if obj is None:
        raise ChartError(f"{finding.subject} no longer exists")
    obj.setdefault("kind", target.kind)
    activation = {"now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "target": obj}
    params = render_params(spec.params, activation)
    series = await prom.query_range(str(params["query"]), seconds=seconds, step=step)
    data = ChartData(
        title=pb.title if pb else finding.title,
        subject=finding.subject,
        unit=str(params.get("unit") or ""),
        query=str(params["query"]),
        lines={str(k): float(v) for k, v in (params.get("lines") or {}).items()},
    )
    for s in series:
        values = [(t, v) for t, v in s.get("values", []) if not math.isnan(v)]
        if values:
            data.series.append((_label(s.get("metric") or {}), values))
    if not data.series:
        raise ChartError(f"no data: Prometheus at {prom.endpoint} has no series for {data.query}")
    return data


# ---- text ---------------------------------------------------------------------------------------------------


def _resample(values: list[float], width: int) -> list[float]:
    if len(values) <= width:
        return values
    out = []
    for i in range(width):
        chunk = values[i * len(values) // width : (i + 1) * len(values) // width] or [values[-1]]
        out.append(max(chunk))  # keep spikes visible
    return out


def sparkline(values: list[float], width: int = 40, *, low: float | None = None, high: float | None = None) -> str:
    """Block characters, one per point (resampled to ``width``); ``low``/``high`` fix the scale (e.g. 0..limit)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return ""
    values = _resample(values, width)
    lo = min(values) if low is None else low
    hi = max(values) if high is None else high
    if hi <= lo:
        return BLOCKS[0] * len(values)
    return "".join(
        BLOCKS[max(0, min(len(BLOCKS) - 1, int((v - lo) / (hi - lo) * (len(BLOCKS) - 1) + 0.5)))] for v in values
    )


def format_value(value: float, unit: str) -> str:
    if unit == "bytes":
        for suffix, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{value / size:.1f}{suffix}"
        return f"{value:.0f}B"
    if unit == "ratio":
        return f"{value:.0%}"
    return f"{value:.3g}"


def text_chart(data: ChartData, width: int = 40) -> list[str]:
    """One line per series for a terminal: label, sparkline (from the lowest value to the highest value or line),
    the last value and the peak; then the reference lines."""
    every = [v for _, vs in data.series for _, v in vs]
    top = max(every + list(data.lines.values()) + ([1.0] if data.unit == "ratio" else []))
    bottom = 0.0 if data.unit == "ratio" else min(every)  # a share reads against 0; a size against its start
    out = []
    for label, values in data.series:
        vals = [v for _, v in values]
        out.append(
            f"{label:>18} {sparkline(vals, width, low=bottom, high=top)} "
            f"{format_value(vals[-1], data.unit)} (peak {format_value(max(vals), data.unit)})"
        )
    for label, value in data.lines.items():
        out.append(f"{label:>18} {'─' * min(width, 40)} {format_value(value, data.unit)}")
    return out


# ---- PNG ----------------------------------------------------------------------------------------------------


def render_png(data: ChartData, path: str | Path, *, width: float = 9.0, height: float = 4.2, dpi: int = 110) -> Path:
    """Draw the series (time on x, the unit on y) with the reference lines dashed, and write a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    scale, ylabel = 1.0, UNITS.get(data.unit, data.unit or "value")
    if data.unit == "bytes":
        top = max([v for _, vs in data.series for _, v in vs] + list(data.lines.values()) + [1.0])
        scale, suffix = next(
            ((s, n) for n, s in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)) if top >= s), (1.0, "B")
        )
        what = (
            "memory working set"
            if "working_set" in data.query
            else "volume used"
            if "volume_stats" in data.query
            else "bytes"
        )
        ylabel = f"{what} ({suffix})"
    fig, ax = plt.subplots(figsize=(width, height), dpi=dpi)
    try:
        for label, values in data.series:
            xs = [datetime.fromtimestamp(t, UTC) for t, _ in values]
            ys = [v / scale for _, v in values]
            # matplotlib's stubs leave out datetime x values, which its units registry (matplotlib.dates) converts
            ax.plot(xs, ys, linewidth=2.0, label=label)  # type: ignore[arg-type]
            ax.fill_between(xs, ys, alpha=0.12)  # type: ignore[arg-type]
        colours = ["#d62728", "#ff7f0e", "#9467bd"]
        for i, (label, value) in enumerate(data.lines.items()):
            ax.axhline(value / scale, color=colours[i % len(colours)], linestyle="--", linewidth=1.6, label=label)
        ax.set_ylim(
            bottom=0,
            top=max([v / scale for _, vs in data.series for _, v in vs] + [v / scale for v in data.lines.values()])
            * 1.12
            or 1,
        )
        if data.unit == "ratio":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        # matplotlib.dates ships without type annotations (no .pyi, unlike matplotlib.ticker)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
        ax.set_xlabel("time (UTC), last hour")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{data.title}\n{data.subject}", fontsize=11)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def chart_filename(finding: Finding) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in finding.subject.replace("/", "_"))
    return f"{finding.id}--{safe}.png"


__all__ = ["ChartData", "ChartError", "chart_data", "chart_filename", "render_png", "sparkline", "text_chart"]
