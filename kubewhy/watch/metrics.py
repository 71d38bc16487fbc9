"""The rules that need Prometheus (CPU throttling, memory near the limit, a PVC filling), evaluated by the
scheduler every ``every``: one query per rule for the whole cluster, whose answer says which containers or
volumes are over the threshold *for the whole* ``for`` (a subquery's minimum), so one noisy sample never pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..adapters.ports import MetricsReader
from .detect import Signal, container_signal, memory_limit_bytes, volume_signal
from .rules import Rule

if TYPE_CHECKING:
    from .engine import Watcher


def _window(rule: Rule) -> str:
    return f"{max(int(rule.for_.total_seconds()), 60)}s"


def query(rule: Rule) -> str:
    w = _window(rule)
    if rule.detect == "cpu-throttling":
        return (
            f"min_over_time((sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total"
            f'{{container!=""}}[1m])) / sum by (namespace, pod, container) (rate('
            f'container_cpu_cfs_periods_total{{container!=""}}[1m])))[{w}:15s])'
        )
    if rule.detect == "memory-near-limit":
        return (
            f"min_over_time(max by (namespace, pod, container) (container_memory_working_set_bytes"
            f'{{container!=""}})[{w}:15s])'
        )
    if rule.detect == "pvc-filling":
        return (
            f"min_over_time((1 - kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes)[{w}:30s])"
        )
    raise ValueError(f"{rule.detect} is not a metric rule")


def filling_query(rule: Rule) -> str:
    """Volumes whose free bytes, at the trend of the last 30 minutes, reach 0 within the rule's window."""
    return f"predict_linear(kubelet_volume_stats_available_bytes[30m], {int(rule.window.total_seconds())}) < 0"


async def evaluate(rule: Rule, prom: MetricsReader, watcher: Watcher) -> int:
    """Run the rule's query and feed what is over the threshold to the watcher; returns how many are."""
    rows = await prom.query(query(rule))
    present: dict[str, Signal] = {}
    full_soon: set[tuple[str, str]] = set()
    if rule.detect == "pvc-filling":  # or full soon at the current trend (catalogue: pvc-filling)
        full_soon = {
            ((r.get("metric") or {}).get("namespace", ""), (r.get("metric") or {}).get("persistentvolumeclaim", ""))
            for r in await prom.query(filling_query(rule))
        }
    for row in rows:
        m, value = row.get("metric") or {}, float(row.get("value") or 0.0)
        ns = m.get("namespace", "")
        if rule.detect == "pvc-filling":
            claim = m.get("persistentvolumeclaim", "")
            if not claim or (value < rule.threshold and (ns, claim) not in full_soon):
                continue
            present[f"pvc/{ns}/{claim}"] = volume_signal(
                rule,
                ns,
                claim,
                f"volume {claim} in {ns} is filling up (full within "
                f"{_human(rule.window)} at its current trend, or over {rule.threshold:.0%})",
            )
            continue
        pod = watcher.pods.items.get((ns, m.get("pod", "")))
        if pod is None:
            continue
        container = m.get("container", "")
        if rule.detect == "memory-near-limit":
            limit = next(
                (memory_limit_bytes(c.get("memory_limit")) for c in pod["containers"] if c["name"] == container), None
            )
            if not limit:
                continue
            value = value / limit
        if value < rule.threshold:
            continue
        what = "CPU-throttled" if rule.detect == "cpu-throttling" else "at its memory limit"
        present[f"metric/{rule.id}/{ns}/{pod['name']}/{container}"] = container_signal(
            rule,
            pod,
            container,
            f"container {container} of pod/{ns}/{pod['name']} {what} ({value:.0%} for {_window(rule)})",
        )
    watcher.metric_results(rule, present)
    return len(present)


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 3600} h" if seconds >= 3600 and seconds % 3600 == 0 else f"{seconds // 60} min"


__all__ = ["evaluate", "filling_query", "query"]
