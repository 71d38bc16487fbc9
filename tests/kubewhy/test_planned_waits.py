"""`kubewhy why` plans no fixed waits: per bundled scenario, the pauses its diagnoses ask for stay <= 100 ms.

Every wait on the `why` path (today: the kube reader's pause before retrying a 429/503; the kubelet figures are
read once, without waiting) goes through the one ``sleep`` the application object is given
(``Kubewhy(settings, sleep=...)``). Here that sleep records what it is asked for and returns at once, so the
guard adds no time and asserts no wall clock: it sums what each scenario's diagnoses *planned*.

The diagnoses run as `kubewhy why` runs them: the live reader over HTTP against the simulator, no Prometheus, so
the kubelet checks read the nodes through the API server's node proxy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from kubesim.scenario import bundled_names
from kubewhy.app import Kubewhy
from kubewhy.errors import KubeApiError
from kubewhy.models.target import parse_target
from kubewhy.settings import KubeSettings, Settings
from tests.scenarios import scenario_copy

BUDGET = 0.100  # seconds of planned waits per scenario (issue 24)


class Planned:
    """An injectable sleep that records the pause asked for instead of taking it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings(sim: RunningSim) -> Settings:
    return Settings(kube=KubeSettings(kubeconfig=str(sim.kubeconfig)))  # no Prometheus: the kubelets answer


@pytest.mark.parametrize("scenario", bundled_names())
async def test_the_why_path_plans_at_most_100_ms_of_waits(
    scenario: str, start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    expect = scenario_copy(scenario).expect
    # the broken objects; a near-miss scenario has none, so its near misses
    targets = list(dict.fromkeys(e.target for e in expect if e.findings)) or [e.target for e in expect]
    sim = start_sim(scenario, timeline_mode="manual")
    planned = Planned()
    diagnosed = 0
    async with Kubewhy(settings(sim), audit=False, sleep=planned) as app:
        assert app.deps.prom is None and app.deps.kubelet is not None
        for target in targets:
            await app.diagnose(parse_target(target))
            diagnosed += 1
    assert diagnosed == len(targets) > 0, scenario
    assert sum(planned.waits) <= BUDGET, (scenario, planned.waits)


async def test_the_injected_sleep_sees_the_readers_retry_waits(start_sim: Callable[..., RunningSim]) -> None:
    """The guard above is only as good as its routing: a 503 from the node proxy (node-3's kubelet is down) makes
    the reader retry twice, and both pauses reach the injected sleep instead of the wall clock."""
    sim = start_sim("workshop", timeline_mode="manual")
    planned = Planned()
    async with Kubewhy(settings(sim), audit=False, sleep=planned) as app:
        nodes = app.kube.capabilities.nodes
        assert nodes is not None
        with pytest.raises(KubeApiError) as down:
            await nodes.node_proxy("node-3", "metrics/cadvisor")
    assert down.value.status == 503
    assert len(planned.waits) == 2 and all(w > 0 for w in planned.waits), planned.waits
