"""A real Prometheus for tests, ``kubewhy eval`` and the demo: back-filled from a scenario, or scraping a simulator.

``backfill`` writes the scenario's history (kubesim/history.py) as OpenMetrics and turns it into TSDB blocks with
``promtool tsdb create-blocks-from openmetrics``; ``start`` runs ``prometheus`` over a data directory on a free
loopback port and waits until it is ready. Nothing is mocked: the queries go to the real server over HTTP.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .history import openmetrics, scrape_config
from .scenario import Scenario


class PrometheusUnavailable(RuntimeError):
    """The binaries are missing, or the server did not start; the message says which and why."""


def binaries() -> tuple[str, str] | None:
    """Paths of ``prometheus`` and ``promtool`` (PATH, then Debian's /usr/bin), or None when either is missing."""
    found = []
    for name in ("prometheus", "promtool"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if path is None:
            return None
        found.append(path)
    return found[0], found[1]


def _need() -> tuple[str, str]:
    found = binaries()
    if found is None:
        raise PrometheusUnavailable(
            "prometheus/promtool not installed (Debian package `prometheus`; scripts/services installs it)"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backfill(
    scenario: Scenario,
    data_dir: str | Path,
    *,
    end: datetime | None = None,
    duration: float = 3600.0,
    step: float = 15.0,
    ahead: float = 0.0,
) -> Path:
    """Write TSDB blocks with the scenario's history ending at ``end`` (default: now) into ``data_dir``."""
    _, promtool = _need()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}.om.txt"
    source.write_text(openmetrics(scenario, end=end or datetime.now(UTC), duration=duration, step=step, ahead=ahead))
    proc = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise PrometheusUnavailable(
            f"promtool create-blocks-from openmetrics {source} failed: {(proc.stderr or proc.stdout).strip()[-500:]}"
        )
    return data_dir


@dataclass
class RunningPrometheus:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float = 0.0  # seconds until /-/ready answered
    _log_file: object = field(default=None, repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]

    def __enter__(self) -> RunningPrometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    data_dir: str | Path, *, config: str | None = None, port: int = 0, ready_timeout: float = 60.0
) -> RunningPrometheus:
    """Run ``prometheus`` over ``data_dir`` on 127.0.0.1 (a free port unless given); return once it is ready."""
    prometheus, _ = _need()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = data_dir.parent / f"{data_dir.name}.prometheus.yml"
    config_file.write_text(config or "global:\n  scrape_interval: 1m\n")
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between choosing it and binding it
        chosen = port or free_port()
        log = data_dir.parent / f"{data_dir.name}.prometheus.log"
        log_file = open(log, "wb")
        began = time.monotonic()
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{chosen}",
                "--storage.tsdb.retention.time=3650d",
                "--web.enable-lifecycle",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{chosen}"
        running = RunningPrometheus(url, data_dir, proc, log, _log_file=log_file)
        while time.monotonic() - began < ready_timeout:
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        running.started_in = time.monotonic() - began
                        return running
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        running.stop()
        last_error = log.read_text(errors="replace").strip()[-800:]
        if port:
            break
    raise PrometheusUnavailable(f"prometheus did not become ready: {last_error}")


def serve_scenario_history(
    scenario: Scenario, workdir: str | Path, *, end: datetime | None = None, ahead: float = 900.0
) -> RunningPrometheus:
    """Back-fill ``scenario``'s last hour (plus ``ahead`` seconds) into ``workdir``/tsdb and start Prometheus."""
    data_dir = Path(workdir) / "tsdb"
    backfill(scenario, data_dir, end=end, ahead=ahead)
    return start(data_dir)


def scrape(sim_url: str, workdir: str | Path, *, interval: str = "5s") -> RunningPrometheus:
    """A Prometheus that scrapes a running simulator's ``/metrics`` (the live demo)."""
    target = sim_url.split("://", 1)[-1].rstrip("/")
    return start(Path(workdir) / "tsdb", config=scrape_config(target, interval=interval))


__all__ = [
    "PrometheusUnavailable",
    "RunningPrometheus",
    "backfill",
    "binaries",
    "free_port",
    "scrape",
    "serve_scenario_history",
    "start",
]
