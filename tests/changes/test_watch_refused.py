"""The change log where the RBAC grants only some of its kinds (a chart installed with ``watch.changes.enabled:
false``, an older chart, a cluster that forbids more): the watchers run as a ServiceAccount of the simulator whose
ClusterRole grants what they watch (nodes too), the change log's ConfigMaps, and Deployments to list but not to
watch. Each refused kind is asked once (Deployments: their LIST, then the refused WATCH), skipped and counted; the
watchers go on, and the kinds granted are recorded. ConfigMaps are granted no GET: the metadata-only watch's GET on
change is refused once, and they are read whole from then on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubewhy.changes.recorder import KINDS
from kubewhy.watch.engine import Watcher
from tests.bot.slack_double import SlackDouble
from tests.changes.watchers_up import watchers_up
from tests.waiting import until
from tests.watch.conftest import Cluster, caught_up, watch_environ

NS = "default"
ACCOUNT = "kubewhy-narrow"
GRANTED = {"ConfigMap", "Node"}  # nodes: the watchers need them anyway
LIST_ONLY = "Deployment"
RBAC = "rbac.authorization.k8s.io/v1"


def _narrow_rbac() -> list[dict[str, Any]]:
    rules = [
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, "namespace": NS}},
        {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": ACCOUNT}, "rules": rules},
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": ACCOUNT},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ACCOUNT},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NS}],
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags", "namespace": NS}, "data": {"a": "1"}},
    ]


async def _kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    """The simulator's kubeconfig with a token of the narrow ServiceAccount (a TokenRequest, as kubectl makes)."""
    r = await cluster.http.post(
        f"/api/v1/namespaces/{NS}/serviceaccounts/{ACCOUNT}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    r.raise_for_status()
    config = yaml.safe_load(Path(str(cluster.sim.kubeconfig)).read_text())
    config["users"][0]["user"] = {"token": r.json()["status"]["token"]}
    path = tmp_path / "narrow.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
async def narrow(cluster: Cluster, slack: SlackDouble, tmp_path: Path) -> AsyncIterator[Watcher]:
    await cluster.preload(_narrow_rbac())
    env = watch_environ(
        cluster,
        slack,
        tmp_path,
        KUBECONFIG=str(await _kubeconfig(cluster, tmp_path)),
        KUBEWHY_CHANGE_KEY="test-change-key",
        KUBEWHY_WATCH_LEADER_ELECTION="0",
    )  # KUBEWHY_WATCH_CHANGES unset: the change log is on by default
    async with watchers_up(env) as watcher:
        yield watcher


async def test_a_kind_the_rbac_refuses_is_skipped_once_and_counted_and_the_others_are_recorded(
    cluster: Cluster, narrow: Watcher
) -> None:
    recorder = narrow.changes
    assert recorder is not None and {i.kind for i in [*recorder.informers, *recorder.shared]} == set(KINDS)
    refused = set(KINDS) - GRANTED
    await until(lambda: set(recorder.skipped) == refused, what="the refused kinds skipped")
    assert recorder.stats["skipped"] == len(refused)
    granted = [i for i in recorder.informers if i.kind in GRANTED]
    await until(lambda: all(i.synced.is_set() for i in granted), what="the granted kinds listed")
    assert all("forbidden" in why for why in recorder.skipped.values()), recorder.skipped
    assert "cannot watch" in recorder.skipped[LIST_ONLY] and "cannot list" in recorder.skipped["Service"]

    r = await cluster.http.put(
        f"/api/v1/namespaces/{NS}/configmaps/flags",
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags", "namespace": NS}, "data": {}},
    )
    r.raise_for_status()
    await caught_up(granted, cluster)
    await until(lambda: recorder.stats["written"] >= 1, what="the ConfigMap change written")
    stats = (await cluster.http.get("/kubesim/v1/stats")).json()
    # each refused kind was asked once (its LIST, or the WATCH after it), never again: no retry loop
    expected = {f"{'watch' if k == LIST_ONLY else 'list'} {kind_plural(k)}": 1 for k in refused}
    # ConfigMaps are granted list and watch but not get: the metadata-only watch's GET on change is refused once,
    # and ConfigMaps are read whole from then on (the change is still recorded, above)
    expected["get configmaps"] = 1
    assert stats["denied"] == expected
    assert recorder.stats["whole"] == 1 and recorder.stats["gets"] == 0
    assert not [t for t in narrow._tasks if t.done() and not t.cancelled() and t.exception() is not None]
    assert narrow.ready.is_set() and narrow.pods.synced.is_set()


def kind_plural(kind: str) -> str:
    from kubewhy.kinds import info

    return info(kind).plural
