"""The README's ``kubewhy why pod/x --prometheus discover --chart-dir ./charts``, end to end: the simulator's
Prometheus Service is discovered, the real Prometheus answers (reached through an HTTP proxy, since the
discovered ``*.svc`` name only resolves inside a cluster), the diagnosis and the chart are written."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

TARGET = "pod/q10/server-7b6f4c9d8c-jhk7g"


class _Forward(BaseHTTPRequestHandler):
    """A forward proxy that sends every request to one upstream (the test's Prometheus) and counts them."""

    upstream = ""
    hosts: ClassVar[list[str]] = []

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        type(self).hosts.append(parts.netloc)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        request = urllib.request.Request(f"{self.upstream}{parts.path}?{parts.query}", data=body,
                                         method=self.command,
                                         headers={k: v for k, v in self.headers.items()
                                                  if k.lower() in ("authorization", "content-type", "accept")})
        with urllib.request.urlopen(request, timeout=30) as answer:
            data = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy_to(request: pytest.FixtureRequest) -> Iterator[type[_Forward]]:
    handler = type("Forward", (_Forward,), {"hosts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.address = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()


def test_readme_why_with_prometheus_discover_and_chart_dir(start_sim, prometheus_for, proxy_to,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    proxy_to.upstream = prometheus_for("workshop/q10-p99-latency").url
    charts = tmp_path / "charts"
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig), "HTTP_PROXY": proxy_to.address,
           "NO_PROXY": "127.0.0.1,localhost", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("KUBEWHY_DATABASE_URL", None)
    proc = subprocess.run(check=False, args=[sys.executable, "-m", "kubewhy", "why", TARGET, "--prometheus", "discover",
                           "--chart-dir", str(charts)], capture_output=True, text=True, env=env, timeout=120)
    assert "asyncio.run() cannot be called" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "kube-prometheus-stack-prometheus.monitoring.svc:9090" in set(proxy_to.hosts)  # the discovered server
    assert "cpu-throttling" in proc.stdout or "throttl" in proc.stdout.lower()
    pngs = list(charts.glob("*.png"))
    assert pngs and pngs[0].stat().st_size > 10_000, proc.stderr  # a real chart from the real Prometheus
