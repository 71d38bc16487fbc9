"""Odd objects never crash a playbook: no status, empty or missing containers, unknown enum values, wrong types
where a map or list belongs (hypothesis), huge logs and non-UTF-8 log bytes (served by the simulator)."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubesim.runner import RunningSim
from kubewhy import service
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.compose import build_catalog
from kubewhy.models.target import Target
from kubewhy.render.text import to_json, to_markdown, to_text
from kubewhy.service import Deps
from kubewhy.settings import load as load_settings
from tests.reliability.test_api_faults import diagnose, inject

CATALOG = build_catalog(load_settings({"KUBEWHY_NO_AUDIT": "1"}), [])

odd: st.SearchStrategy[Any] = (
    st.none()
    | st.integers(-2, 10**12)
    | st.text(max_size=12)
    | st.booleans()
    | st.just([])
    | st.just({})
    | st.sampled_from(["CrashLoopBackOff", "OOMKilled", "Unknown", "Weird", "Pending", "True", "False", "137", "-1"])
)
state = st.fixed_dictionaries(
    {},
    optional={
        "waiting": st.fixed_dictionaries({}, optional={"reason": odd, "message": odd}) | odd,
        "terminated": st.fixed_dictionaries(
            {}, optional={"reason": odd, "exitCode": odd, "finishedAt": odd, "startedAt": odd}
        )
        | odd,
        "running": st.fixed_dictionaries({}, optional={"startedAt": odd}) | odd,
    },
)
container_status = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "sidecar"])},
    optional={"ready": odd, "restartCount": odd, "state": state | odd, "lastState": state | odd, "image": odd},
)
container = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "sidecar"])},
    optional={
        "image": odd,
        "resources": st.fixed_dictionaries(
            {},
            optional={
                "limits": st.dictionaries(st.sampled_from(["cpu", "memory"]), odd, max_size=2) | odd,
                "requests": st.dictionaries(st.sampled_from(["cpu", "memory"]), odd, max_size=2) | odd,
            },
        )
        | odd,
        "livenessProbe": st.dictionaries(
            st.sampled_from(["httpGet", "periodSeconds", "failureThreshold"]), odd, max_size=3
        )
        | odd,
    },
)
pods = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Pod"), "metadata": st.just({"name": "odd-1", "namespace": "lab"})},
    optional={
        "spec": st.fixed_dictionaries(
            {}, optional={"containers": st.lists(container, max_size=2) | odd, "nodeName": odd, "volumes": odd}
        )
        | odd,
        "status": st.fixed_dictionaries(
            {},
            optional={
                "phase": odd,
                "reason": odd,
                "message": odd,
                "startTime": odd,
                "conditions": st.lists(
                    st.fixed_dictionaries({"type": odd, "status": odd}, optional={"reason": odd}), max_size=3
                )
                | odd,
                "containerStatuses": st.lists(container_status, max_size=2) | odd,
            },
        )
        | odd,
    },
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(pods)
async def test_any_pod_shape_gives_a_report(pod: dict[str, Any]) -> None:
    deps = Deps(kube=SnapshotKube([], objects=[pod]), catalog=CATALOG, prom=None, check_timeout=2.0, audit=None)
    report = await service.diagnose(Target("Pod", "odd-1", "lab"), deps)
    crashed = [c for c in report.checks if c.reason == "check-error"]
    assert not crashed, [(c.id, c.detail) for c in crashed]  # a check's own bug, i.e. a crash, never happens
    for render in (to_text, to_markdown, to_json):  # and every way of showing it works
        assert render(report)


async def test_non_utf8_and_huge_logs_are_shown_safely(start_sim: Any) -> None:
    sim: RunningSim = start_sim("workshop", timeline_mode="manual")
    junk = b"\xff\xfe\x00 panic: \xc3\x28 invalid utf-8 \x80\x81\n" + b"x" * 2_000_000 + b"\nKilled\n"
    inject(sim, path="/pods/app-7d4b9c6f5-x2x7k/log", body_base64=base64.b64encode(junk).decode(), times=None)
    report = await diagnose(sim)
    assert "oom-killed" in [f.id for f in report.findings]
    assert not [c for c in report.checks if c.reason == "check-error"]
    evidence = [e for f in report.findings for e in f.evidence]
    assert all(len(e) < 2_000 for e in evidence)  # lines are cut, nothing huge reaches an answer
