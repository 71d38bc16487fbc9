"""Faults injected into the API server (``/kubesim/v1/faults``), Prometheus and the Slack Web API: a diagnosis
returns what it could, names the checks that failed, retries what is worth retrying, and never waits past its
deadline."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from kubesim.runner import RunningSim
from kubewhy import compose, service
from kubewhy.cli import main
from kubewhy.errors import KubeApiError
from kubewhy.models.findings import Report
from kubewhy.models.target import Target
from kubewhy.settings import load as load_settings
from tests.bot.test_slack_bot import Bot, text_of
from tests.scenarios import KUBELET_SAMPLE

POD = Target("Pod", "app-7d4b9c6f5-x2x7k", "q1")


def inject(sim: RunningSim, **spec: Any) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{sim.url}/kubesim/v1/faults",
        data=json.dumps(spec).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def fired(sim: RunningSim) -> int:
    with urllib.request.urlopen(f"{sim.url}/kubesim/v1/faults", timeout=10) as resp:
        return sum(f["hits"] for f in json.loads(resp.read())["faults"])


@pytest.fixture
def sim(start_sim: Any) -> RunningSim:
    return start_sim("workshop", timeline_mode="manual")  # type: ignore[no-any-return]


async def diagnose(sim: RunningSim, **env: str) -> Report:
    settings = load_settings(
        {
            "KUBECONFIG": str(sim.kubeconfig),
            "KUBEWHY_NO_AUDIT": "1",
            "KUBEWHY_CHECK_TIMEOUT": "1",
            **KUBELET_SAMPLE,
            **env,
        }
    )
    async with compose.opened(settings) as deps:
        return await service.diagnose(POD, deps)


# ------------------------------------------------------------------------------------- the API server


@pytest.mark.parametrize(
    "fault,status,words",
    [
        ({"status": 500}, "error", "HTTP 500"),
        ({"status": 403}, "error", "not allowed"),
        ({"reset": True}, "error", "cannot reach"),
        ({"delay": 3}, "timeout", "no answer within 1s"),
    ],
)
async def test_a_failing_events_api_gives_a_partial_report_naming_the_failed_checks(
    sim: RunningSim, fault: dict[str, Any], status: str, words: str
) -> None:
    inject(sim, path="/events", times=None, **fault)
    report = await diagnose(sim)
    assert "oom-killed" in [f.id for f in report.findings]  # what the pod's own status proves is still found
    failed = {c.id: c for c in report.incomplete}
    assert "oom-killed.events" in failed and failed["oom-killed.events"].status == status
    assert words in failed["oom-killed.events"].detail
    assert not report.healthy
    assert fired(sim) >= 1


async def test_a_slow_api_server_never_holds_a_check_past_its_deadline(sim: RunningSim) -> None:
    inject(sim, path="/events", times=None, delay=3)
    report = await diagnose(sim)
    events = [c for c in report.checks if c.id.endswith("events")]
    assert events and all(c.status == "timeout" and c.duration_ms < 2000 for c in events)


async def test_429_with_retry_after_is_waited_for_then_retried(sim: RunningSim) -> None:
    inject(sim, path="/pods/app-7d4b9c6f5-x2x7k", status=429, retry_after=1, times=2)
    report = await diagnose(sim)
    assert "oom-killed" in [f.id for f in report.findings]
    assert fired(sim) == 2


async def test_a_connection_reset_on_a_read_is_retried_once(sim: RunningSim) -> None:
    inject(sim, path="/pods/app-7d4b9c6f5-x2x7k", reset=True, times=1)
    report = await diagnose(sim)
    assert "oom-killed" in [f.id for f in report.findings] and fired(sim) == 1


async def test_a_persistent_500_on_the_target_is_a_clear_error(sim: RunningSim) -> None:
    inject(sim, path="/pods/app-7d4b9c6f5-x2x7k", status=500, times=None)
    with pytest.raises(KubeApiError, match="HTTP 500"):
        await diagnose(sim)


@pytest.mark.parametrize("status,words", [(401, "not allowed"), (403, "not allowed")])
def test_expired_or_forbidden_credentials_exit_with_one_clear_line(
    sim: RunningSim, status: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inject(sim, status=status, times=None)
    code = main(
        ["why", "pod/q1/app-7d4b9c6f5-x2x7k", "--no-audit"], {"KUBECONFIG": str(sim.kubeconfig), **KUBELET_SAMPLE}
    )
    err = capsys.readouterr().err
    assert code != 0 and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_fault_control_rejects_bad_specs_clearly(sim: RunningSim) -> None:
    for spec in ({"status": 200}, {"path": "/x"}, {"status": 500, "times": 0}, {"bogus": 1}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            inject(sim, **spec)
        assert caught.value.code == 422 and "bad fault" in caught.value.read().decode()
    req = urllib.request.Request(f"{sim.url}/kubesim/v1/faults", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read()) == {"ok": True}


# ------------------------------------------------------------------------------------- Prometheus


@pytest.fixture
async def slow_prometheus() -> AsyncIterator[str]:
    released = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:  # answers only when the test is over
        await released.wait()
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": []}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    released.set()
    await runner.cleanup()


async def test_prometheus_down_leaves_the_cluster_evidence(sim: RunningSim) -> None:
    report = await diagnose(sim, KUBEWHY_PROMETHEUS_URL="http://127.0.0.1:9")
    assert "oom-killed" in [f.id for f in report.findings]
    metric = [c for c in report.incomplete if c.reason == "backend-error"]
    assert metric and all("127.0.0.1:9" in c.detail for c in metric)  # the CLI names the endpoint


async def test_a_slow_prometheus_times_out_per_query(sim: RunningSim, slow_prometheus: str) -> None:
    report = await diagnose(sim, KUBEWHY_PROMETHEUS_URL=slow_prometheus, KUBEWHY_PROMETHEUS_TIMEOUT="0.5")
    assert "oom-killed" in [f.id for f in report.findings]
    slow = [c for c in report.incomplete if c.status == "timeout"]
    assert slow and all(c.duration_ms < 3000 for c in slow)


# ------------------------------------------------------------------------------------- Slack Web API


async def test_slack_5xx_and_429_are_retried_in_order_and_nothing_is_dropped(rbot: Bot) -> None:
    rbot.double.fail("chat.update", "internal_error", status=503, times=2)
    rbot.double.rate_limit("chat.postMessage", times=1, retry_after=1)
    for pod in ("app-7d4b9c6f5-x2x7k", "db-0"):
        ns = "q1" if pod.startswith("app") else "q5"
        await rbot.command(f"why {pod} -n {ns}")
        await rbot.double.wait_for("chat.update", 1 if pod.startswith("app") else 2)
    updates = rbot.double.to("chat.update")
    assert len(updates) == 2  # pages expected vs sent: both answers arrived, once each
    assert "app-7d4b9c6f5-x2x7k" in text_of(updates[0]["blocks"]) and "db-0" in text_of(updates[1]["blocks"])
    methods = [c.method for c in rbot.double.calls]
    assert methods.count("chat.update:503:internal_error") == 2 and methods.count("chat.postMessage:429") == 1
