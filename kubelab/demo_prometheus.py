"""`kubewhy demo --prometheus`: Debian's Prometheus scraping the simulator, reached the way a laptop reaches an
in-cluster Prometheus: through the API server's service proxy (the simulator forwards the scenario's Prometheus
Services to it), so the demo's diagnoses take the PromQL path of ``--prometheus discover``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from kubesim import prometheus as promserver
from kubesim.runner import RunningSim


class DemoPrometheus:
    """The running Prometheus and its work directory; :meth:`stop` ends both."""

    def __init__(self, server: promserver.RunningPrometheus, workdir: tempfile.TemporaryDirectory[str]):
        self.server, self.workdir = server, workdir

    def stop(self) -> None:
        self.server.stop()
        self.workdir.cleanup()


def _prometheus_services(sim: RunningSim) -> list[str]:
    """``NS/NAME`` of the scenario's Services that look like a Prometheus with a 9090 port."""
    out = []
    for svc in sim.cluster.store.all_objects(("", "services")):
        meta = svc.get("metadata") or {}
        ports = [p.get("port") for p in (svc.get("spec") or {}).get("ports") or []]
        if "prometheus" in str(meta.get("name", "")) and 9090 in ports:
            out.append(f"{meta.get('namespace')}/{meta.get('name')}")
    return out


def _scraped_twice(url: str) -> bool:
    query = urllib.parse.urlencode({"query": "count_over_time(up[5m])"})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as resp:
            result = json.loads(resp.read())["data"]["result"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(result) and float(result[0]["value"][1]) >= 2


def start(sim: RunningSim, *, wait: float = 60.0) -> DemoPrometheus | None:
    """Start it and wait for two scrapes (``rate()`` needs them); None, saying why, when it cannot run."""
    if promserver.binaries() is None:
        print(
            "kubewhy demo: --prometheus: Debian's `prometheus` package is not installed (scripts/services "
            "installs it); diagnosing without it",
            file=sys.stderr,
        )
        return None
    services = _prometheus_services(sim)
    if not services:
        print(
            "kubewhy demo: --prometheus: the scenario has no Prometheus Service to proxy to; diagnosing without it",
            file=sys.stderr,
        )
        return None
    workdir = tempfile.TemporaryDirectory(prefix="kubewhy-demo-prom-")
    try:
        server = promserver.scrape(sim.url, Path(workdir.name))
    except promserver.PrometheusUnavailable as exc:
        workdir.cleanup()
        print(f"kubewhy demo: --prometheus: {exc}", file=sys.stderr)
        return None
    for service in services:
        sim.server.options.service_proxies[service] = server.url
    print(
        f"  Prometheus {server.url} scrapes the simulator; it is reached through the API server's service "
        f"proxy as {', '.join(services)}"
    )
    print("  waiting for its first two scrapes ...", flush=True)
    deadline = time.monotonic() + wait
    while not _scraped_twice(server.url) and time.monotonic() < deadline:
        time.sleep(0.5)
    return DemoPrometheus(server, workdir)


__all__ = ["DemoPrometheus", "start"]
