"""The composition root: one ``compose.build(settings)`` gives every front-end its reader, metrics, catalog and
audit; the diagnosis is recorded once, by the service, with who asked and from where."""

from __future__ import annotations

from pathlib import Path

from kubesim import load as load_scenario
from kubewhy import actions, compose, service
from kubewhy.adapters.kube_live import LiveKube
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.prom_proxy import PromThroughKube
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, load

SNAPSHOT = [str(p) for p in load_scenario("workshop/q01-app-crash").sources]
TARGET = parse_target("pod/q1/app-7d4b9c6f5-x2x7k")


async def test_one_build_gives_reader_catalog_audit_and_diagnose_records_once(tmp_path: Path) -> None:
    broken = tmp_path / "playbooks"
    broken.mkdir()
    (broken / "broken.yaml").write_text("id: [\n")
    env = {
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "USER": "alice",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
    }
    settings = load(env, Flags(snapshot=SNAPSHOT, playbooks=[str(broken)]))
    async with compose.opened(settings) as deps:
        assert isinstance(deps.kube, SnapshotKube) and deps.prom is None and deps.settings is settings
        assert any("playbook skipped" in w and "broken.yaml" in w for w in deps.warnings)
        assert deps.clock() == deps.kube.clock()  # a snapshot's now, not the wall clock
        report = await service.diagnose(TARGET, deps, actor=settings.actor, source="tui", channel="session-1")
        assert not report.healthy
        actions.record_action(deps, "show_events", actor="alice", source="tui", target=TARGET)
        entries = await actions.history(deps.audit)
    diagnoses = [e for e in entries if e.kind == "diagnosis"]
    assert [(e.actor, e.source, e.channel, e.target) for e in diagnoses] == [
        ("alice", "tui", "session-1", "pod/q1/app-7d4b9c6f5-x2x7k")
    ]
    assert any(e.kind == "action" and e.summary == "show events" for e in entries)
    assert not (tmp_path / "fallback.jsonl").exists()


async def test_no_audit_means_no_audit_log(tmp_path: Path) -> None:
    settings = load({"XDG_DATA_HOME": str(tmp_path)}, Flags(snapshot=SNAPSHOT, no_audit=True))
    async with compose.opened(settings) as deps:
        assert deps.audit is None
        await service.diagnose(TARGET, deps)
        assert actions.record_action(deps, "describe", actor="a", source="cli") is None
    assert not (tmp_path / "kubewhy").exists()


async def test_prometheus_discover_runs_inside_the_callers_event_loop(start_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The bot, the watchers and the TUI already run a loop: discovery is awaited, never ``asyncio.run()``."""
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "KUBEWHY_PROMETHEUS_URL": "discover", "KUBEWHY_PROMETHEUS_TOKEN": "t"}
    async with compose.opened(load(env, Flags(no_audit=True))) as deps:
        assert isinstance(deps.kube, LiveKube) and isinstance(deps.prom, PromThroughKube)
        # From outside the cluster `NAME.NS.svc` does not resolve: the API server's service proxy, with the
        # kubeconfig's credentials (tests/prometheus/test_discover_through_proxy.py queries it end to end).
        assert deps.prom.base == "/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:9090/proxy"
        assert deps.prom.proxy is deps.kube


async def test_discover_without_a_prometheus_service_is_a_warning(mini) -> None:  # type: ignore[no-untyped-def]
    settings = load({"KUBECONFIG": str(mini.kubeconfig)}, Flags(prometheus="discover", no_audit=True))
    async with compose.opened(settings) as deps:
        assert deps.prom is None
        assert any("no Prometheus Service found" in w for w in deps.warnings)


async def test_a_registry_passed_to_build_compiles_the_users_playbooks(tmp_path: Path) -> None:
    """The watchers, the TUI and tests plug checks of their own in through compose, not by import side effects."""
    from kubewhy.checks import CheckContext, Param, check, default_registry

    async def team_owner(ctx: CheckContext, team: str) -> dict[str, str]:
        return {"pager": f"#{team}-oncall"}

    registry = default_registry()
    check("team_owner", registry=registry, params={"team": Param("string", required=True)}, result={"pager": "string"})(
        team_owner
    )
    mine = tmp_path / "playbooks"
    mine.mkdir()
    (mine / "owner.yaml").write_text(
        "apiVersion: kubewhy.io/v1\nid: team-owner\ntitle: Who to page\napplies_to: [Pod]\nstage: pod\n"
        "severity: info\nsymptom: 'true'\nchecks:\n  - {id: o, use: team_owner, with: {team: payments}}\n"
        "summary: 'page {{ o.pager }}'\n"
    )
    settings = load({"XDG_DATA_HOME": str(tmp_path)}, Flags(snapshot=SNAPSHOT, playbooks=[str(mine)], no_audit=True))
    async with compose.opened(settings, registry=registry) as deps:
        assert deps.warnings == []
        report = await service.diagnose(TARGET, deps)
    assert [f.summary for f in report.findings if f.id == "team-owner"] == ["page #payments-oncall"]
    async with compose.opened(settings) as deps:  # the default registry has no such check: skipped, with the line
        assert any("owner.yaml:9" in w and "unknown check 'team_owner'" in w for w in deps.warnings)
