"""An hour of metric history for a scenario, as OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

The simulator's ``/metrics`` shows one moment; a diagnosis (``rate(...[5m])``, ``deriv``, a chart of the last
hour) needs history. This module derives it from the scenario's ``usage`` section with the same metric names
and labels as ``/metrics`` (kubesim/usage.py), ending at the moment the scenario is shifted to ("now"):

* CPU counters grow at the given rate (with a small deterministic wobble) and reach, at the end, the value
  ``/metrics`` serves when the simulator starts, so a live scrape continues the back-filled series;
* ``throttledRatio`` of the CFS periods are throttled, period by period;
* with ``memoryGrowthPerMinute`` the working set climbs at that rate and reaches the given value at the end;
  when it hits the memory limit the container is OOM-killed and starts again low (a sawtooth);
* a volume with ``growthPerMinute`` fills at that rate and reaches ``used`` at the end.

A container that is not running now (e.g. in CrashLoopBackOff) reports until its last termination, as cAdvisor
does. Nothing here evaluates PromQL; Prometheus does that.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .scenario import Scenario, parse_time
from .usage import CFS_PERIODS_PER_SECOND, ContainerUsage, quantity, usage_of

UPTIME_AT_END = 3600.0  # /metrics counters behave as if the containers had run an hour before the simulator started


@dataclass
class _Container:
    usage: ContainerUsage
    ends: float  # seconds relative to the end of the history (0 = still running)


def _containers(scenario: Scenario) -> list[_Container]:
    """Running containers, plus containers with explicit usage that stopped (until they stopped)."""
    out = []
    for pod in scenario.objects:
        if pod.get("kind") != "Pod":
            continue
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        if status.get("phase") != "Running":
            continue
        given = scenario.pod_usage.get(f"{meta.get('namespace')}/{meta.get('name')}", {})
        statuses = {c.get("name"): c for c in status.get("containerStatuses") or []}
        for c in spec.get("containers") or []:
            cs = statuses.get(c["name"], {})
            u = given.get(c["name"])
            ends = 0.0
            if "running" not in (cs.get("state") or {}):
                if u is None:
                    continue
                finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
                if finished:
                    ends = min(0.0, (parse_time(str(finished)) - scenario.captured_at).total_seconds())
            out.append(_Container(usage_of(pod, c, cs, u or {}), ends))
    return out


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_esc(str(v))}"' for k, v in kw.items()) + "}"


def _wobble(key: str, x: float, amplitude: float) -> float:
    """A deterministic, smooth variation around 1.0 (two sines with a phase taken from the series key)."""
    phase = (zlib.crc32(key.encode()) % 1000) / 1000 * 2 * math.pi
    return 1.0 + amplitude * (0.7 * math.sin(2 * math.pi * x / 900 + phase) + 0.3 * math.sin(2 * math.pi * x / 170))


def memory_at(u: ContainerUsage, x: float) -> float:
    """Working set ``x`` seconds after the end of the history (x <= 0 in the past)."""
    growth = u.memory_growth_per_s
    limit = u.memory_limit
    if growth <= 0:
        value = u.memory * _wobble(f"{u.namespace}/{u.pod}/{u.container}/mem", x, 0.015)
        return min(value, limit) if limit else value
    if limit and u.memory < limit:
        floor = min(u.memory, 0.3 * limit)
        span = limit - floor
        # Climb at ``growth`` to the limit; the OOM kill restarts the container at ``floor``.
        return floor + ((u.memory - floor) + growth * x) % span
    return max(u.memory + growth * x, 0.05 * u.memory)


def volume_used_at(v: dict[str, Any], x: float) -> tuple[float, float]:
    cap = quantity(v.get("capacity"), 0)
    used = quantity(v.get("used"), 0) + quantity(v.get("growthPerMinute"), 0) / 60 * x
    used = max(used, 0.0)
    return cap, min(used, cap) if cap else used


def _times(start: float, stop: float, step: float) -> Iterator[float]:
    n = int(math.floor((stop - start) / step + 1e-9))
    for i in range(n + 1):
        yield start + i * step


def openmetrics(
    scenario: Scenario, *, end: datetime | None = None, duration: float = 3600.0, step: float = 15.0, ahead: float = 0.0
) -> str:
    """OpenMetrics text (ending with ``# EOF``) for ``duration`` seconds before ``end`` (default: now).

    ``ahead`` extends the series that far past ``end`` at the same trend, so that instant queries keep finding
    fresh samples (Prometheus looks back 5 minutes) while a long test session or demo runs.
    """
    end_ts = (end or datetime.now(UTC)).timestamp()
    out: list[str] = []
    families: dict[str, list[str]] = {}

    def sample(name: str, labels: str, x: float, value: float) -> None:
        families.setdefault(name, []).append(f"{name}{labels} {value:.17g} {end_ts + x:.3f}")

    grid = list(_times(-duration, ahead, step))
    for c in _containers(scenario):
        u = c.usage
        xs = [x for x in grid if x <= (c.ends if c.ends < 0 else ahead)]
        if not xs:
            continue
        lbl = _labels(namespace=u.namespace, pod=u.pod, container=u.container, node=u.node)
        key = f"{u.namespace}/{u.pod}/{u.container}"
        # Counters: integrate a wobbling rate from the container's start (UPTIME_AT_END before the end).
        cpu_total = u.cpu * (UPTIME_AT_END + xs[0])
        periods = CFS_PERIODS_PER_SECOND * (UPTIME_AT_END + xs[0])
        throttled = periods * u.throttled_ratio
        throttled_s = throttled / CFS_PERIODS_PER_SECOND * (u.cpu_limit or 0)
        prev = xs[0]
        for x in xs:
            dt = x - prev
            prev = x
            cpu_total += u.cpu * _wobble(key + "/cpu", x, 0.08) * dt
            periods += CFS_PERIODS_PER_SECOND * dt
            ratio = min(1.0, max(0.0, u.throttled_ratio * _wobble(key + "/thr", x, 0.06)))
            throttled += CFS_PERIODS_PER_SECOND * dt * ratio
            throttled_s += dt * ratio * (u.cpu_limit or 0)
            sample("container_cpu_usage_seconds_total", lbl, x, cpu_total)
            sample("container_memory_working_set_bytes", lbl, x, round(memory_at(u, x)))
            sample("container_spec_memory_limit_bytes", lbl, x, u.memory_limit or 0)
            if u.cpu_limit:
                sample("container_cpu_cfs_periods_total", lbl, x, round(periods))
                sample("container_cpu_cfs_throttled_periods_total", lbl, x, round(throttled))
                sample("container_cpu_cfs_throttled_seconds_total", lbl, x, throttled_s)
                sample("container_spec_cpu_quota", lbl, x, u.cpu_limit * 100000)
                sample("container_spec_cpu_period", lbl, x, 100000)
            for metric, attr, resource, unit in (
                ("limits", "cpu_limit", "cpu", "core"),
                ("limits", "memory_limit", "memory", "byte"),
                ("requests", "cpu_request", "cpu", "core"),
                ("requests", "memory_request", "memory", "byte"),
            ):
                if getattr(u, attr) is not None:
                    sample(
                        f"kube_pod_container_resource_{metric}",
                        _labels(
                            namespace=u.namespace,
                            pod=u.pod,
                            container=u.container,
                            node=u.node,
                            resource=resource,
                            unit=unit,
                        ),
                        x,
                        getattr(u, attr),
                    )
            sample(
                "kube_pod_container_status_restarts_total",
                _labels(namespace=u.namespace, pod=u.pod, container=u.container),
                x,
                u.restarts,
            )
    for key, v in sorted(scenario.volume_usage.items()):
        ns, pvc = key.split("/", 1)
        lbl = _labels(namespace=ns, persistentvolumeclaim=pvc)
        for x in grid:
            cap, used = volume_used_at(v, x)
            sample("kubelet_volume_stats_capacity_bytes", lbl, x, cap)
            sample("kubelet_volume_stats_used_bytes", lbl, x, round(used))
            sample("kubelet_volume_stats_available_bytes", lbl, x, round(max(cap - used, 0)))
    for name, lines in families.items():
        out.append(f"# TYPE {name} {'counter' if name.endswith('_total') else 'gauge'}")
        # Samples of one family are grouped per series (the order they were made in), oldest first.
        out.extend(_group_by_series(lines))
    out.append("# EOF")
    return "\n".join(out) + "\n"


def _group_by_series(lines: list[str]) -> list[str]:
    series: dict[str, list[str]] = {}
    for line in lines:
        series.setdefault(line.rsplit(" ", 2)[0], []).append(line)
    return [ln for group in series.values() for ln in group]


def scrape_config(target: str, *, interval: str = "5s", job: str = "kubesim") -> str:
    """A Prometheus configuration that scrapes a simulator's ``/metrics`` (``host:port``), for the demo."""
    return (
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        f"scrape_configs:\n  - job_name: {job}\n    honor_labels: true\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )


def has_usage(scenario: Scenario) -> bool:
    return bool(scenario.pod_usage or scenario.volume_usage)


__all__ = ["openmetrics", "scrape_config", "memory_at", "volume_used_at", "has_usage", "UPTIME_AT_END"]
