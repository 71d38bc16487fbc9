"""Prometheus down, slow, answering an error, or without data: each check says so, the diagnosis goes on."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kubesim.prometheus import free_port
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom import PromMetrics
from kubewhy.models.findings import Report
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from tests.prometheus.promcases import MEMORY, OOM_BOUND, THROTTLED, load_scenario

CATALOG = load_dirs([])
Q1_POD = "pod/q1/app-7d4b9c6f5-x2x7k"
Q10_POD = "pod/q10/server-7b6f4c9d8c-jhk7g"


def diagnose_with(prom: PromMetrics, scenario: str, target: str) -> Report:
    kube = SnapshotKube([Path(p) for p in load_scenario(scenario).sources])
    return asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=CATALOG, clock=kube.clock, prom=prom)))


def check(report: Report, cid: str):  # type: ignore[no-untyped-def]
    found = [c for c in report.checks if c.id == cid]
    assert found, [c.id for c in report.checks]
    return found[0]


class _Handler(BaseHTTPRequestHandler):
    mode = "slow"
    released = threading.Event()  # a slow server answers once the test is over (each server has its own)

    def do_GET(self) -> None:  # noqa: N802
        if self.mode == "slow":
            self.released.wait(timeout=60)
            body, status = {"status": "success", "data": {"resultType": "vector", "result": []}}, 200
        else:
            body, status = (
                {
                    "status": "error",
                    "errorType": "execution",
                    "error": "query processing would load too many samples into memory",
                },
                422,
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[callable]:  # type: ignore[valid-type]
    """A tiny local HTTP server (not Prometheus) that is slow or answers errors: the faults to survive."""
    servers: list[ThreadingHTTPServer] = []

    def start(mode: str) -> str:
        handler = type("H", (_Handler,), {"mode": mode, "released": threading.Event()})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.RequestHandlerClass.released.set()  # type: ignore[attr-defined]
        s.shutdown()
        s.server_close()


def test_prometheus_down_is_an_error_naming_the_endpoint_and_the_rest_is_found() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    report = diagnose_with(PromMetrics(url, timeout=5), OOM_BOUND, Q1_POD)
    assert {"oom-killed", "liveness-throttled"} <= {f.id for f in report.findings}
    result = check(report, "liveness-throttled.throttling")
    assert result.status == "error" and url in result.detail and "connection refused" in result.detail


def test_slow_prometheus_is_a_timeout_and_the_rest_is_found(fake_server) -> None:  # type: ignore[no-untyped-def]
    report = diagnose_with(PromMetrics(fake_server("slow"), timeout=0.5), OOM_BOUND, Q1_POD)
    assert {"oom-killed", "liveness-throttled"} <= {f.id for f in report.findings}
    result = check(report, "liveness-throttled.throttling")
    assert result.status == "timeout", result
    assert "no answer within" in result.detail


def test_prometheus_error_answer_is_reported_with_its_message(fake_server) -> None:  # type: ignore[no-untyped-def]
    url = fake_server("error")
    report = diagnose_with(PromMetrics(url, timeout=5), OOM_BOUND, Q1_POD)
    assert {"oom-killed", "liveness-throttled"} <= {f.id for f in report.findings}
    result = check(report, "liveness-throttled.throttling")
    assert result.status == "error"
    assert url in result.detail and "422" in result.detail and "too many samples" in result.detail


def test_empty_result_is_no_data_not_a_cause(prometheus_for) -> None:  # type: ignore[no-untyped-def]
    # The memory scenario's Prometheus knows nothing about q10: every metric check finds no data.
    prom = PromMetrics(prometheus_for(MEMORY).url, timeout=10)
    report = diagnose_with(prom, THROTTLED, Q10_POD)
    assert "cpu-throttling" not in {f.id for f in report.findings}
    result = check(report, "cpu-throttling.throttling")
    assert result.status == "skipped" and "no data" in result.detail and prom.endpoint in result.detail
    assert check(report, "cpu-throttling.when").status != "error"


def test_bad_query_is_reported_with_prometheus_own_message(prometheus_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.yaml").write_text(
        "id: bad-query\ntitle: t\napplies_to: [Pod]\nstage: pod\nseverity: info\nsymptom: 'true'\n"
        "checks:\n  - id: m\n    use: prometheus\n    with: {query: 'rate(container_cpu_usage_seconds_total[5m]'}\n"
        "when: '!(m == null)'\nsummary: s\napiVersion: kubewhy.io/v1\n"
    )
    kube = SnapshotKube([Path(p) for p in load_scenario(THROTTLED).sources])
    catalog = load_dirs([tmp_path])
    prom = PromMetrics(prometheus_for(THROTTLED).url, timeout=10)
    report = asyncio.run(diagnose(parse_target(Q10_POD), Deps(kube=kube, catalog=catalog, clock=kube.clock, prom=prom)))
    result = check(report, "bad-query.m")
    assert result.status == "error" and "bad_data" in result.detail and "parse error" in result.detail
    assert "cpu-throttling" in {f.id for f in report.findings}  # the real playbooks are unaffected
