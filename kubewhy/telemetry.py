"""What the core counts about itself, for a front-end to export (``k8sbot``'s ``/metrics``, ``bot/health.py``).

The core imports no metrics library: it calls :func:`count` and :func:`observe` with a name from :data:`METRICS`,
and whoever installed a :class:`Sink` (the bot installs a prometheus-client one) turns them into series. With no
sink installed (the CLI, the tests of the core) both are a dictionary look-up and nothing else.

Every metric is declared here, with its kind, help text and label names, so the exporter can show it (at zero)
before the first event and a typo in a name fails at once instead of creating a new series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "histogram"]
    help: str
    labels: tuple[str, ...] = ()


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "kubewhy_diagnoses_total",
            "counter",
            "Diagnoses run, by where they were asked from and how they ended.",
            ("source", "outcome"),
        ),
        Metric("kubewhy_check_duration_seconds", "histogram", "How long each playbook check took.", ("playbook",)),
        Metric(
            "kubewhy_api_errors_total",
            "counter",
            "Failed calls to an API kubewhy reads (Kubernetes, Prometheus), by API and HTTP code (0: unreachable).",
            ("api", "code"),
        ),
        Metric(
            "kubewhy_sampler_requests_total",
            "counter",
            "The kubelet sampler's node proxy requests, by outcome (ok; forbidden, absent, unavailable, timeout, "
            "unreachable, error: the node skipped).",
            ("outcome",),
        ),
        Metric("kubewhy_sampler_rounds_total", "counter", "Rounds of the kubelet sampler over the nodes it reads."),
        Metric(
            "kubewhy_sampler_stretch",
            "histogram",
            "Each sampler round's length / the sampling interval (1: on time; more: stretched by the request budget).",
        ),
    )
}


class Sink(Protocol):
    def count(self, metric: Metric, labels: tuple[str, ...], amount: float) -> None: ...

    def observe(self, metric: Metric, labels: tuple[str, ...], value: float) -> None: ...


_sink: Sink | None = None


def install(sink: Sink | None) -> Sink | None:
    """Send the core's metrics to ``sink`` (None: nowhere); returns the one it replaces."""
    global _sink
    previous, _sink = _sink, sink
    return previous


def _labels(metric: Metric, values: dict[str, str]) -> tuple[str, ...]:
    if set(values) != set(metric.labels):
        raise ValueError(f"{metric.name} takes the labels {metric.labels}, not {tuple(values)}")
    return tuple(str(values[label]) for label in metric.labels)


def _metric(name: str, kind: str) -> Metric:
    metric = METRICS[name]
    if metric.kind != kind:
        raise ValueError(f"{name} is a {metric.kind}, not a {kind}")
    return metric


def count(name: str, amount: float = 1.0, **labels: str) -> None:
    """Add ``amount`` to the counter ``name`` (a KeyError for an undeclared name, a ValueError for wrong labels)."""
    metric = _metric(name, "counter")
    values = _labels(metric, labels)
    if _sink is not None:
        _sink.count(metric, values, amount)


def observe(name: str, value: float, **labels: str) -> None:
    """Record ``value`` in the histogram ``name``."""
    metric = _metric(name, "histogram")
    values = _labels(metric, labels)
    if _sink is not None:
        _sink.observe(metric, values, value)


__all__ = ["METRICS", "Metric", "Sink", "count", "install", "observe"]
