"""The MCP front-end applies nothing, as anyone (issue 27: no front-end acts with kubewhy's own rights): its
connection (:class:`kubewhy.mcp.caller.ReadOnlyKube`) has no writer, no access review and no impersonation, so a
fix's dry run, as the connection or as a person, and its apply are refused before anything reaches the API
server, although the kubeconfig here is the simulator's admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.errors import UsageError
from kubewhy.lifecycle import Identity
from kubewhy.mcp.caller import ReadOnlyKube
from kubewhy.models.target import parse_target
from kubewhy.settings import load as load_settings

pytestmark = pytest.mark.asyncio


async def test_the_mcp_connection_cannot_dry_run_review_or_apply_a_fix(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    settings = load_settings(
        {
            "KUBECONFIG": str(sim.kubeconfig),
            "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
            "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        }
    )
    async with Kubewhy(settings, source="mcp") as app:
        app.deps.kube = ReadOnlyKube(app.deps.kube)  # as kubewhy mcp serves it (kubewhy/mcp/command.py)
        report = await app.diagnose(parse_target("svc/q4/web"))
        action = next(iter(app.propose(report).values()))
        sim.reset_stats()
        with pytest.raises(UsageError, match="cannot apply changes"):
            await app.dry_run(action, actor="mcp-caller")
        with pytest.raises(UsageError, match="cannot act as another user"):
            await app.dry_run(action, actor="mcp-caller", identity=Identity.person("alice", ("sre",)))
        check = await app.precheck(action, actor="mcp-caller")
        assert check.rbac is None  # no access review could be asked: nothing says it may
        result = await app.apply(action, actor="mcp-caller")
        assert not result.ok and action.applied_as is None
    verbs = {key.split(" ")[0] for key in sim.stats()}
    assert verbs <= {"get", "list", "watch"}, sim.stats()  # no patch, no access review, no impersonated call
