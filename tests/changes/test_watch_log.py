"""The watchers' change log against the simulator (real HTTP, a real SQLite audit database): a ConfigMap key
removed, a Deployment's image changed and a Secret rewritten become rows of ``change_log`` holding key names and
keyed HMACs only; ``kubewhy changes`` shows the key removal, which the API alone cannot tell; the retention job
prunes the log. The watchers' time is a virtual clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubewhy.audit import db
from kubewhy.audit.changelog import ChangeLog
from kubewhy.audit.writer import AuditLog
from kubewhy.cli import main
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from tests.bot.slack_double import SlackDouble
from tests.changes.watchers_up import watchers_up
from tests.waiting import until
from tests.watch.conftest import Cluster, caught_up, watch_environ

NS = "default"
PASSWORD, NEW_PASSWORD, TOKEN = "hunter2-old-pw", "hunter3-new-pw", "tok-en-plain-value"
DISCOUNT = "summer-sale-40pct"  # the ConfigMap value of the key that is removed
TABLE = "premium-tier-2026"  # the ConfigMap value that changes: kept as a keyed HMAC only
SECRET_VALUES = (PASSWORD, NEW_PASSWORD, TOKEN, DISCOUNT, TABLE)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _objects() -> list[dict[str, Any]]:
    container = {
        "name": "pricing",
        "image": "ghcr.io/acme/pricing:1.0.0",
        "env": [
            {"name": "TABLE", "valueFrom": {"configMapKeyRef": {"name": "pricing-config", "key": "price-table"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pricing-creds", "key": "password"}}},
        ],
    }
    return [
        *_policies(),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "pricing-config", "namespace": NS},
            "data": {"price-table": "standard", "discount": DISCOUNT},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pricing-creds", "namespace": NS},
            "type": "Opaque",
            "data": {"password": _b64(PASSWORD)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "pricing", "namespace": NS, "labels": {"app": "pricing"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "pricing"}},
                "template": {
                    "metadata": {"labels": {"app": "pricing"}},
                    "spec": {"serviceAccountName": "pricing", "containers": [container]},
                },
            },
        },
    ]


def _policies() -> list[dict[str, Any]]:
    """A PDB, a NetworkPolicy and a RoleBinding that touch pricing (its pods' labels, its service account), and a
    NetworkPolicy and a RoleBinding that do not (another app's pods, another account)."""
    net = "networking.k8s.io/v1"

    def netpol(name: str, app: str) -> dict[str, Any]:
        spec = {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"], "ingress": [{}]}
        return {"apiVersion": net, "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": NS}, "spec": spec}

    def binding(name: str, account: str) -> dict[str, Any]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": NS},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NS}],
        }

    return [
        netpol("pricing-ingress", "pricing"),
        netpol("search-ingress", "search"),
        binding("pricing-reads", "pricing"),
        binding("search-reads", "search"),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "pricing", "namespace": NS},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "pricing"}}},
        },
    ]


@pytest.fixture
async def watching(
    cluster: Cluster,
    slack: SlackDouble,
    tmp_path: Path,
) -> AsyncIterator[tuple[Watcher, Clock, dict[str, str]]]:
    await cluster.preload(_objects())
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        KUBEWHY_WATCH_CHANGES="1",
        KUBEWHY_WATCH_CHANGE_SECRETS="1",
        KUBEWHY_CHANGE_KEY="test-change-key",
        KUBEWHY_WATCH_LEADER_ELECTION="0",
    )
    clock = Clock()
    async with watchers_up(env, clock) as watcher:
        assert watcher.changes is not None
        await until(lambda: all(i.synced.is_set() for i in watcher.changes.informers), what="the change informers")
        yield watcher, clock, env


async def _put(api: Cluster, path: str, change: Any) -> None:
    obj = (await api.http.get(path)).json()
    change(obj)
    (await api.http.put(path, json=obj)).raise_for_status()


def _edit_config(cm: dict[str, Any]) -> None:
    cm["data"].pop("discount")
    cm["data"]["price-table"] = TABLE


async def test_the_watchers_log_a_removed_key_and_a_new_image_never_a_value(
    cluster: Cluster,
    watching: tuple[Watcher, Clock, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watcher, clock, env = watching
    assert watcher.changes is not None
    await _put(cluster, f"/api/v1/namespaces/{NS}/configmaps/pricing-config", _edit_config)
    await _put(
        cluster,
        f"/apis/apps/v1/namespaces/{NS}/deployments/pricing",
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="ghcr.io/acme/pricing:1.1.0"),
    )
    await _put(
        cluster,
        f"/api/v1/namespaces/{NS}/secrets/pricing-creds",
        lambda o: o.update(data={"password": _b64(NEW_PASSWORD), "token": _b64(TOKEN)}),
    )
    await caught_up(watcher.changes.informers, cluster)
    await until(lambda: watcher.changes is not None and watcher.changes.stats["written"] >= 3, what="3 rows")
    assert watcher.requests()["changes"] >= len(watcher.changes.informers) * 2  # a LIST and a WATCH each

    url = load(env).audit.url
    engine = db.make_engine(url)
    try:
        rows = await ChangeLog(engine, url).between(
            ["configmap/default/pricing-config", "deploy/default/pricing", "secret/default/pricing-creds"],
            clock.now - timedelta(hours=1),
            clock.now + timedelta(hours=1),
        )
    finally:
        await engine.dispose()
    by_subject = {r["subject"]: r for r in rows}
    config = by_subject["configmap/default/pricing-config"]
    assert config["details"] == ["data keys removed: discount", "data keys changed: price-table"]
    assert set(config["digests"]) == {"price-table"} and len(config["digests"]["price-table"]) == 32
    assert (
        "pricing: image ghcr.io/acme/pricing:1.0.0 → ghcr.io/acme/pricing:1.1.0"
        in (by_subject["deploy/default/pricing"]["details"])
    )
    secret = by_subject["secret/default/pricing-creds"]
    assert secret["details"] == ["data keys added: token"] and "digests" not in secret

    # the database (and its write-ahead log) holds no value: not plain, not base64, not an unkeyed sha256
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("audit.db*"))
    for value in SECRET_VALUES:
        for form in (value, _b64(value), hashlib.sha256(value.encode()).hexdigest()):
            assert form.encode() not in stored, form

    # `kubewhy changes` shows the removed key from the log; the API alone says only that the ConfigMap was written
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["changes", "deploy/pricing", "-n", NS, "--since", "2h", "-o", "json"]
    assert await asyncio.to_thread(main, args) == 0
    merged = json.loads(capsys.readouterr().out)
    assert any("data keys removed: discount" in c["details"] for c in merged["changes"])
    image = [c for c in merged["changes"] if c["subject"] == "deploy/default/pricing" and "image" in c["areas"]]
    assert len(image) == 1 and image[0]["source"] == "watch"  # the API's reading of that write is not repeated
    assert await asyncio.to_thread(main, [*args, "--no-change-log"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert not any("discount" in json.dumps(c) for c in alone["changes"])

    # the retention job prunes the change log with the other audit rows
    async with AuditLog(url, fallback_path=tmp_path / "prune-fallback.jsonl") as audit:
        counts = await audit.prune(timedelta(days=1), now=datetime.now(UTC) + timedelta(days=2))
    assert counts["change_log"] >= 3


async def test_the_policies_that_touch_a_workload_join_its_timeline_and_the_others_do_not(
    cluster: Cluster,
    watching: tuple[Watcher, Clock, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A NetworkPolicy that selects pricing's pods now denies all ingress, the RoleBinding of its service account
    binds another role, its PDB allows no disruption: each is in ``kubewhy changes deploy/pricing`` from the change
    log. The same edits to another app's NetworkPolicy and RoleBinding are recorded but not in pricing's timeline."""
    watcher, _, env = watching
    assert watcher.changes is not None
    net, rbac = f"/apis/networking.k8s.io/v1/namespaces/{NS}", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}"
    for name in ("pricing-ingress", "search-ingress"):
        await _put(cluster, f"{net}/networkpolicies/{name}", lambda o: o["spec"].update(ingress=[]))
    for name in ("pricing-reads", "search-reads"):
        await _put(
            cluster, f"{rbac}/rolebindings/{name}", lambda o: o["subjects"].append({**o["subjects"][0], "name": "ci"})
        )
    await _put(
        cluster,
        f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/pricing",
        lambda o: o["spec"].update(minAvailable=2),
    )
    await caught_up(watcher.changes.informers, cluster)
    await until(lambda: watcher.changes is not None and watcher.changes.stats["written"] >= 5, what="5 rows")
    assert watcher.changes.stats["skipped"] == 0 and not watcher.changes.skipped

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["changes", "deploy/pricing", "-n", NS, "--since", "2h", "-o", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    by_subject = {c["subject"]: c for c in changes if c["source"] == "watch"}
    assert "spec.ingress changed" in by_subject["netpol/default/pricing-ingress"]["details"]
    assert "subjects changed" in by_subject["rolebinding/default/pricing-reads"]["details"]
    assert "spec.minAvailable: 1 → 2" in by_subject["poddisruptionbudget/default/pricing"]["details"]
    assert not {"netpol/default/search-ingress", "rolebinding/default/search-reads"} & {c["subject"] for c in changes}
