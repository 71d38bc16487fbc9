"""The chart's RBAC, enforced: the rendered ServiceAccount, Roles and bindings are loaded into the simulator, whose
authorizer applies them as the API server's RBAC does, and kubewhy runs as that ServiceAccount with a token from
``TokenRequest``. The workshop's diagnoses and the watchers with their Lease are then refused nothing; the
fixes, in dry run, are refused and said so: the service account patches nothing itself, whatever the values
(issue 27: a fix is applied as the approving person, impersonated).

(``tests/test_helm_chart.py`` compares the granted rules with the calls the simulator counted; this runs them.)
"""

from __future__ import annotations

import asyncio
import copy
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.runner import RunningSim, run_in_thread
from kubesim.scenario import load
from kubesim.server import SimOptions
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kubelet import KubeletStats
from kubewhy.fixes import apply_patch
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from kubewhy.settings import load as load_settings
from tests.test_helm_chart import FULL, NAMESPACE, lead_and_watch, one, render

pytestmark = pytest.mark.kubectl


def _chart_settings(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The settings of the release's ConfigMap that decide what the watchers call: the Lease's name, and the
    Prometheus URL (without one, metric evidence comes from the kubelets)."""
    maps = [d for d in docs if d["kind"] == "ConfigMap" and "KUBEWHY_WATCH_LEASE_NAME" in (d.get("data") or {})]
    assert len(maps) == 1, "the chart's settings ConfigMap names the Lease"
    return {
        k: str(v) for k, v in maps[0]["data"].items() if k in ("KUBEWHY_WATCH_LEASE_NAME", "KUBEWHY_PROMETHEUS_URL")
    }


def _cluster_with_the_chart(values: dict[str, Any], tmp: Path) -> tuple[RunningSim, Path, dict[str, str]]:
    """The workshop with the release's namespace, ServiceAccount and RBAC, a kubeconfig holding a token of that
    ServiceAccount, and the release's settings."""
    docs = render(values)
    rbac = [
        d for d in docs if d["kind"] in ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    ]
    scenario = copy.deepcopy(load("workshop"))
    scenario.objects += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, *rbac]
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp / "admin.kubeconfig")
    account = one(docs, "ServiceAccount")["metadata"]["name"]
    req = urllib.request.Request(
        f"{sim.url}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{account}/token",
        data=json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        token = json.loads(resp.read())["status"]["token"]
    config = yaml.safe_load(Path(str(sim.kubeconfig)).read_text())
    config["users"][0]["user"] = {"token": token}
    kubeconfig = tmp / "kubewhy-bot.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    return sim, kubeconfig, _chart_settings(docs)


async def _diagnose_and_fix(kubeconfig: Path, values: dict[str, Any]) -> list[str]:
    """Every workshop target diagnosed as the ServiceAccount, every proposed patch applied in dry run; the
    refusals the fixes met. Without a Prometheus in the values, metric evidence comes from the kubelets, as
    kubewhy.compose wires it in the cluster."""
    catalog = load_dirs([])
    kube = LiveKube(build_api_client(str(kubeconfig)))
    kubelet = None if (values.get("prometheus") or {}).get("url") else KubeletStats(kube)
    refused = []
    for expected in load("workshop").expect:
        report = await diagnose(parse_target(expected.target), Deps(kube=kube, catalog=catalog, kubelet=kubelet))
        forbidden = [c.detail for c in report.checks if "forbidden" in c.detail]
        assert not forbidden, forbidden
        for fix in (fx for f in report.findings for fx in f.fixes if fx.patch is not None):
            assert fix.patch is not None
            result = await apply_patch(kube.capabilities.writer, fix.patch, dry_run=True)
            if not result.ok:
                refused.append(result.message)
    return refused


async def _watch_and_lead(kubeconfig: Path, tmp: Path, chart: dict[str, str]) -> None:
    settings = load_settings(
        {
            **chart,
            "KUBECONFIG": str(kubeconfig),
            "HOME": str(tmp),
            "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp / 'audit.db'}",
            "KUBEWHY_AUDIT_FALLBACK": str(tmp / "fallback.jsonl"),
            "KUBEWHY_WATCH_LEASE_DURATION": "3",
            "POD_NAMESPACE": NAMESPACE,
            "POD_NAME": "kw-kubewhy-0",
            "KUBEWHY_WATCH_GRACE": "0s",
        }
    )
    await lead_and_watch(settings)


def test_with_everything_set_the_service_account_is_refused_only_its_own_patches(tmp_path: Path) -> None:
    """FULL sets the old ``rbac.applyFixes``: it grants nothing any more."""
    sim, kubeconfig, settings = _cluster_with_the_chart(FULL, tmp_path)
    try:
        refused = asyncio.run(_diagnose_and_fix(kubeconfig, FULL))
        asyncio.run(_watch_and_lead(kubeconfig, tmp_path, settings))
        assert refused and all("forbidden" in r for r in refused), refused
        assert {k.split(" ")[0] for k in sim.denied()} == {"patch"}, sim.denied()
    finally:
        sim.stop()


def test_the_read_only_install_diagnoses_and_watches_but_may_not_patch(tmp_path: Path) -> None:
    sim, kubeconfig, settings = _cluster_with_the_chart({}, tmp_path)
    try:
        refused = asyncio.run(_diagnose_and_fix(kubeconfig, {}))
        asyncio.run(_watch_and_lead(kubeconfig, tmp_path, settings))
        assert sim.stats().get("get nodes/proxy/metrics/cadvisor"), "the kubelets were asked for metric evidence"
        assert refused and all("not allowed to patch" in r for r in refused), refused
        assert refused and all("forbidden" in r for r in refused)
        assert {k.split(" ")[0] for k in sim.denied()} == {"patch"}, sim.denied()
    finally:
        sim.stop()


def test_the_service_account_impersonates_the_mapped_people_only(tmp_path: Path) -> None:
    """Issue 27: with slack.identities, the release's ServiceAccount may act as the mapped users and groups (the
    API server then authorizes each request as them) and as nobody else."""
    from kubewhy.access import may
    from tests.test_helm_chart import IDENTITIES

    sim, kubeconfig, _ = _cluster_with_the_chart({"slack": {"identities": IDENTITIES}}, tmp_path)

    async def probe() -> tuple[bool | None, str, str]:
        kube = LiveKube(build_api_client(str(kubeconfig)))
        assert kube.capabilities.impersonate is not None
        alice = kube.capabilities.impersonate.impersonating("alice@example.com", ("sre",))
        answer = await may(alice.objects, "get", "Pod", "q1", "x")  # asked as alice: the API server answers
        mallory = kube.capabilities.impersonate.impersonating("mallory@example.com")
        refused = await may(mallory.objects, "get", "Pod", "q1", "x")
        masters = kube.capabilities.impersonate.impersonating("alice@example.com", ("system:masters",))
        escalated = await may(masters.objects, "get", "Pod", "q1", "x")
        return answer.allowed, refused.reason, escalated.reason

    try:
        allowed, refused, escalated = asyncio.run(probe())
        assert allowed is False  # alice has no RBAC of her own here: her rights, not the bot's
        assert 'cannot impersonate resource "users"' in refused
        assert 'cannot impersonate resource "groups"' in escalated
    finally:
        sim.stop()
