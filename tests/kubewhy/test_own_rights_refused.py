"""The lifecycle's second line (issue 27): a fix is never applied with kubewhy's own service account. The bot
refuses an unmapped approver first; here the application object is handed that identity directly, as an
in-cluster front-end with no identity map would be, and the simulator's Service stays as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.lifecycle import Identity
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, load

SERVICE = parse_target("svc/q4/web")


async def test_an_approval_made_as_kubewhys_service_account_applies_nothing(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    own = Identity("service-account", "kubewhy's service account")
    async with Kubewhy(load(env, Flags()), source="slack", acting_as=own) as app:
        report = await app.diagnose(SERVICE)
        action = next(iter(app.propose(report, channel="c1").values()))
        before = await app.get(SERVICE)
        assert (await app.dry_run(action, actor="alice")).ok  # reading and a dry run are harmless
        sim.reset_stats()
        result = await app.apply(action, actor="alice")
        assert not result.ok and "never applies a fix with its own service account" in result.message
        assert action.state != "applied" and action.approved_by is None
        assert not [k for k in sim.stats() if k.startswith(("patch", "update"))], sim.stats()
        assert (await app.get(SERVICE)) == before
        entries = await app.history(target=SERVICE)
        assert [e.summary.split(":", 1)[0] for e in entries if e.kind == "fix_event"][0] == "declined"
