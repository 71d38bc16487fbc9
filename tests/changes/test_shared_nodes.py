"""Nodes recorded from the watchers' own node informer (:meth:`ChangeRecorder.share`), not from a second LIST
and WATCH: one informer whose projection is the watchers' (``project_node``) with the change log's beside it
(:func:`with_changes`). A cordon is recorded; a condition transition moves only the watchers' part and records
nothing; the informer's requests are the watchers' (none counted for the change log)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.audit import db
from kubewhy.audit.changelog import ChangeLog
from kubewhy.changes.recorder import SHARED, ChangeRecorder, projection, with_changes
from kubewhy.watch.detect import project_node
from kubewhy.watch.informer import Change, Informer
from tests.waiting import until
from tests.watch.conftest import Cluster, caught_up

KEY = b"test-change-key"


async def _patch_node(cluster: Cluster, name: str, patch: dict[str, Any], sub: str = "") -> None:
    r = await cluster.http.patch(
        f"/api/v1/nodes/{name}{sub}", json=patch, headers={"Content-Type": "application/merge-patch+json"}
    )
    r.raise_for_status()


async def test_a_shared_node_informer_records_a_cordon_and_not_a_condition(cluster: Cluster, tmp_path: Path) -> None:
    kube = LiveKube(build_api_client(str(cluster.sim.kubeconfig)))
    nodes = Informer(kube, "Node", project=with_changes(project_node, projection("Node", KEY)))
    seen: list[Change] = []
    nodes.listeners.append(seen.append)  # the watchers' own listener (their node rules)
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    engine = db.make_engine(url)
    recorder = ChangeRecorder(ChangeLog(engine, url), KEY, clock=lambda: datetime.now(UTC))
    recorder.share(nodes)
    task = asyncio.create_task(nodes.run())
    try:
        await until(nodes.synced.is_set, what="the node informer listed")
        name = next(iter(nodes.items))[1]
        assert set(nodes.items[("", name)]) == {"name", "labels", "conditions", SHARED}
        assert not recorder.pending and recorder.informers == [] and recorder.shared == [nodes]

        await _patch_node(cluster, name, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, "/status")
        await caught_up([nodes], cluster)
        await until(lambda: any(c.type == "MODIFIED" for c in seen), what="the condition seen by the watchers")
        assert recorder.stats["seen"] == 0 and not recorder.pending  # the change log's part did not move

        await _patch_node(cluster, name, {"spec": {"unschedulable": True}})
        await caught_up([nodes], cluster)
        await until(lambda: len(recorder.pending) == 1, what="the cordon queued")
        (row,) = recorder.pending
        assert row["subject"] == f"node/{name}" and row["details"] == ["spec.unschedulable: unset → true"]
        assert recorder.requests() == {"lists": 0, "watches": 0, "gets": 0}  # all of them the watchers'
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()
