"""The back-filler: OpenMetrics history with the labels of the simulator's /metrics, in a real TSDB."""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime
from itertools import pairwise

from kubesim.history import openmetrics
from kubesim.runner import run_in_thread
from kubesim.server import SimOptions
from tests.prometheus.promcases import FILLING, MEMORY, THROTTLED, load_scenario
from tests.waiting import until_sync

END = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?P<labels>\{.*\}) (?P<value>\S+) (?P<ts>\S+)$")


def parse(text: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            series.setdefault((m["name"], m["labels"]), []).append((float(m["ts"]), float(m["value"])))
    return series


def test_openmetrics_ends_with_eof_and_covers_the_last_hour() -> None:
    text = openmetrics(load_scenario(THROTTLED), end=END, step=15)
    assert text.endswith("# EOF\n")
    series = parse(text)
    assert series
    for points in series.values():
        times = [t for t, _ in points]
        assert times == sorted(times)
        assert times[0] == END.timestamp() - 3600 and times[-1] == END.timestamp()


def test_counters_grow_and_throttling_ratio_is_as_given() -> None:
    series = parse(openmetrics(load_scenario(THROTTLED), end=END))
    key = '{namespace="q10",pod="server-7b6f4c9d8c-jhk7g",container="server",node="node-1"}'
    periods = series[("container_cpu_cfs_periods_total", key)]
    throttled = series[("container_cpu_cfs_throttled_periods_total", key)]
    for points in (periods, throttled, series[("container_cpu_usage_seconds_total", key)]):
        values = [v for _, v in points]
        assert all(b >= a for a, b in pairwise(values)), "a counter went down"
    ratio = (throttled[-1][1] - throttled[-21][1]) / (periods[-1][1] - periods[-21][1])
    assert 0.55 < ratio < 0.70  # throttledRatio 0.62 with a small wobble
    # At the end the counters match what /metrics serves when the simulator starts (3600 s of uptime).
    assert abs(periods[-1][1] - 10 * 3600) < 1


def test_memory_climbs_toward_the_limit_and_pvc_fills() -> None:
    mem = parse(openmetrics(load_scenario(MEMORY), end=END))
    ws = [
        v
        for _, v in mem[
            (
                "container_memory_working_set_bytes",
                '{namespace="mem",pod="api-5c8d7f9b6d-k2m4p",container="api",node="node-1"}',
            )
        ]
    ]
    assert ws == sorted(ws) and ws[-1] == 476 * 2**20 and ws[0] == (476 - 90) * 2**20  # 1.5Mi/min for 60 min
    assert ws[-1] / (512 * 2**20) > 0.9
    vol = parse(openmetrics(load_scenario(FILLING), end=END))
    avail = [
        v
        for _, v in vol[
            ("kubelet_volume_stats_available_bytes", '{namespace="ingest",persistentvolumeclaim="data-collector-0"}')
        ]
    ]
    assert avail == sorted(avail, reverse=True) and avail[0] - avail[-1] == 60 * 24 * 2**20


def test_oom_bound_container_history_is_a_sawtooth_up_to_the_limit() -> None:
    mem = parse(openmetrics(load_scenario("workshop/q01-app-crash"), end=END))
    ws = [
        v
        for _, v in mem[
            (
                "container_memory_working_set_bytes",
                '{namespace="q1",pod="app-7d4b9c6f5-x2x7k",container="app",node="node-1"}',
            )
        ]
    ]
    drops = sum(1 for a, b in pairwise(ws) if b < a)
    assert drops >= 2, "the container should have been OOM-killed (and restarted) several times in the hour"
    assert max(ws) <= 96 * 2**20 and max(ws) > 0.95 * 96 * 2**20


def test_same_series_labels_as_the_simulator_metrics_endpoint() -> None:
    scenario = load_scenario(THROTTLED)
    history = {(name, labels) for name, labels in parse(openmetrics(scenario, end=END))}
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"))
    try:
        with urllib.request.urlopen(f"{sim.url}/metrics", timeout=10) as resp:
            live_text = resp.read().decode()
    finally:
        sim.stop()
    live = {
        (m["name"], m["labels"])
        for m in (re.match(r"^(?P<name>[a-z_]+)(?P<labels>\{.*\}) \S+$", ln) for ln in live_text.splitlines())
        if m
    }
    q10 = {s for s in live if 'namespace="q10"' in s[1]}
    assert q10 and q10 <= history, sorted(q10 - history)[:5]


def test_prometheus_scrapes_the_simulator_metrics_endpoint(prometheus_binaries, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The demo's live mode: a real Prometheus scraping /metrics sees the throttled server."""
    import json
    import urllib.parse

    from kubesim.prometheus import scrape

    sim = run_in_thread(load_scenario(THROTTLED), SimOptions(timeline_mode="manual"))
    server = scrape(sim.url, tmp_path, interval="1s")
    try:
        query = 'container_cpu_cfs_periods_total{namespace="q10",pod="server-7b6f4c9d8c-jhk7g",job="kubesim"}'
        url = f"{server.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        result: list = []  # type: ignore[type-arg]

        def scraped() -> bool:  # the first scrape lands within a few seconds
            nonlocal result
            with urllib.request.urlopen(url, timeout=5) as resp:
                result = json.loads(resp.read())["data"]["result"]
            return bool(result)

        until_sync(scraped, timeout=30, interval=0.1, what="the first scrape")
        assert float(result[0]["value"][1]) >= 10 * 3600
    finally:
        server.stop()
        sim.stop()
