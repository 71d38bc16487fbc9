"""A real Alertmanager (Debian's ``prometheus-alertmanager``, installed by scripts/services) on loopback, on a
free port, routing to kubewhy's receiver; skipped, with the reason, only when the binary is missing. Alerts go in
through its own API v2 (``POST /api/v2/alerts``); silences are created and read there too."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.prometheus import free_port
from tests.waiting import until_answer
from tests.watch.conftest import cluster, slack  # noqa: F401 - the simulator and the Slack double

TOKEN = "am-test-token"


def binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def route_config(receiver_url: str, *, token: str = TOKEN, auth: str = "bearer") -> str:
    """kube-prometheus-style: grouped by namespace, second-scale waits, resolved notifications sent."""
    http = (
        f"authorization: {{type: Bearer, credentials: {token}}}"
        if auth == "bearer"
        else f"basic_auth: {{username: am, password: {token}}}"
    )
    return f"""
route:
  receiver: kubewhy
  group_by: [namespace]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {{receiver: blackhole, matchers: ['alertname = "Watchdog"']}}
receivers:
  - name: blackhole
  - name: kubewhy
    webhook_configs:
      - url: {receiver_url}
        send_resolved: true
        http_config:
          {http}
"""


@dataclass
class RunningAlertmanager:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    async def push(self, *alerts: dict[str, Any]) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            r = await http.post("/api/v2/alerts", json=list(alerts))
            assert r.status_code == 200, r.text

    async def silences(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            r = await http.get("/api/v2/silences")
            r.raise_for_status()
            return list(r.json())

    async def silence(self, matchers: list[dict[str, Any]], created_by: str = "test") -> str:
        now = datetime.now(UTC)
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            r = await http.post(
                "/api/v2/silences",
                json={
                    "matchers": matchers,
                    "startsAt": now.isoformat(),
                    "endsAt": (now + timedelta(hours=1)).isoformat(),
                    "createdBy": created_by,
                    "comment": "test",
                },
            )
            r.raise_for_status()
            return str(r.json()["silenceID"])


def alert(name: str, labels: dict[str, str], *, resolved: bool = False, **annotations: str) -> dict[str, Any]:
    """An alert as Prometheus posts it (kube-prometheus labels: ``job``/``instance`` name the exporter)."""
    now = datetime.now(UTC)
    out: dict[str, Any] = {
        "labels": {"alertname": name, "job": "kube-state-metrics", "instance": "10.0.0.9:8080", **labels},
        "annotations": annotations,
        "startsAt": (now - timedelta(minutes=15)).isoformat(),
    }
    if resolved:
        out["endsAt"] = (now - timedelta(seconds=1)).isoformat()
    return out


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[[str], RunningAlertmanager]]:
    found = binary()
    if found is None:
        pytest.skip("prometheus-alertmanager not installed (Debian package; run scripts/services)")
    started: list[RunningAlertmanager] = []

    def start(config: str) -> RunningAlertmanager:
        workdir = tmp_path / f"am{len(started)}"
        workdir.mkdir()
        (workdir / "alertmanager.yml").write_text(config)
        port = free_port()
        log = workdir / "log"
        process = subprocess.Popen(
            [
                found,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip: one instance
                "--log.level=info",
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        running = RunningAlertmanager(f"http://127.0.0.1:{port}", process, log)
        started.append(running)
        return running

    yield start
    for am in started:
        am.process.terminate()
        try:
            am.process.wait(10)
        except subprocess.TimeoutExpired:
            am.process.kill()


async def ready(am: RunningAlertmanager) -> None:
    async def probe() -> int:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(am.url + "/-/ready")).status_code

    await until_answer(
        probe,
        lambda status: status == 200,
        retry_on=(httpx.HTTPError,),
        timeout=30,
        what="Alertmanager to be ready",
        detail=lambda: am.log.read_text()[-2000:],
    )


@pytest.fixture
async def alertmanager_factory(
    start_alertmanager: Callable[[str], RunningAlertmanager],
) -> AsyncIterator[Callable[..., Any]]:
    async def make(receiver_url: str, **kwargs: Any) -> RunningAlertmanager:
        am = start_alertmanager(route_config(receiver_url, **kwargs))
        await ready(am)
        return am

    yield make
