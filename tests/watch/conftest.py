"""The watchers against the simulator (real HTTP), the Slack Web API double and a real database: cluster
changes are made with real API writes, as a kubelet or a drain would make them."""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubesim.runner import RunningSim
from kubewhy.audit import db
from kubewhy.audit.ledger import Ledger
from kubewhy.watch.engine import Watcher
from kubewhy.watch.informer import Informer
from tests.audit.conftest import PG_ADMIN
from tests.bot.slack_double import SlackDouble
from tests.waiting import until

DATA = Path(__file__).parent / "data"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Cluster:
    """Real API writes to the simulator."""

    sim: RunningSim
    http: httpx.AsyncClient

    async def node_ready(self, name: str, ready: bool) -> None:
        node = (await self.http.get(f"/api/v1/nodes/{name}")).json()
        conditions = [c for c in node["status"]["conditions"] if c["type"] != "Ready"]
        conditions.insert(
            0,
            {
                "type": "Ready",
                "status": "True" if ready else "Unknown",
                "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
                "lastHeartbeatTime": now_iso(),
                "lastTransitionTime": now_iso(),
            },
        )
        r = await self.http.patch(
            f"/api/v1/nodes/{name}/status",
            json={"status": {"conditions": conditions}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        r.raise_for_status()

    async def create_pod(
        self, namespace: str, name: str, node: str, *, owner: str | None = None, status: dict[str, Any] | None = None
    ) -> None:
        r = await self.http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod(namespace, name, node, owner=owner))
        r.raise_for_status()
        await self.pod_status(namespace, name, status or running())

    async def preload(self, objects: list[dict[str, Any]]) -> None:
        """Objects that were there before the story starts (before the watchers start), in one request to the
        simulator's control API: a few hundred pods made through the API, two writes each, take seconds."""
        r = await self.http.post("/kubesim/v1/apply", json={"steps": [{"create": o} for o in objects]})
        r.raise_for_status()

    async def pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        r = await self.http.patch(
            f"/api/v1/namespaces/{namespace}/pods/{name}/status",
            json={"status": status},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        r.raise_for_status()

    async def delete_pod(self, namespace: str, name: str) -> None:
        (await self.http.delete(f"/api/v1/namespaces/{namespace}/pods/{name}")).raise_for_status()

    async def resource_version(self) -> int:
        """The simulator's newest resourceVersion: every write made so far is at or below it."""
        r = await self.http.get("/api/v1/nodes", params={"limit": 1})
        r.raise_for_status()
        return int(r.json()["metadata"]["resourceVersion"])


def pod(
    namespace: str, name: str, node: str, *, owner: str | None = None, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A pod on ``node``; with ``owner``, a Deployment's (through its ReplicaSet)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"app": owner or name}}
    if owner:
        meta["labels"]["pod-template-hash"] = "5c8d7f9b6d"
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "controller": True,
                "name": f"{owner}-5c8d7f9b6d",
                "uid": f"rs-{owner}",
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]},
        **({"status": status} if status is not None else {}),
    }


def running(restarts: int = 0) -> dict[str, Any]:
    return {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": restarts, "state": {"running": {"startedAt": now_iso()}}}
        ],
    }


def crash_looping(restarts: int = 5, reason: str = "Error") -> dict[str, Any]:
    return {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": restarts,
                "state": {
                    "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}
                },
                "lastState": {
                    "terminated": {
                        "exitCode": 137 if reason == "OOMKilled" else 1,
                        "reason": reason,
                        "startedAt": now_iso(),
                        "finishedAt": now_iso(),
                    }
                },
            }
        ],
    }


def evicted(node: str) -> dict[str, Any]:
    return {
        "phase": "Failed",
        "reason": "Evicted",
        "message": f"The node was low on resource: memory. Threshold quantity: 100Mi, available: 60Mi. "
        f"Container app was using 900Mi (node {node}).",
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 137, "reason": "Evicted", "finishedAt": now_iso()}},
            }
        ],
    }


@dataclass
class Pages:
    """What the watchers said in Slack, read from the double."""

    slack: SlackDouble
    channel: str = "#alerts"
    seen: list[str] = field(default_factory=list)

    def posts(self) -> list[dict[str, Any]]:
        """Top-level messages (pages), not thread replies."""
        return [p for p in self.slack.to("chat.postMessage") if not p.get("thread_ts")]

    def replies(self) -> list[dict[str, Any]]:
        return [p for p in self.slack.to("chat.postMessage") if p.get("thread_ts")]

    def updates(self) -> list[dict[str, Any]]:
        return self.slack.to("chat.update")

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        await until(predicate, timeout=timeout, what=what, detail=lambda: f"posts={self.summary()}")

    def summary(self) -> list[str]:
        return [
            f"{c.method} {c.params.get('thread_ts', '')} {c.params.get('text', '')[:80]}"
            for c in self.slack.calls
            if c.method.startswith("chat.")
        ]


async def caught_up(streams: Sequence[Informer | None], cluster: Cluster, timeout: float = 20.0) -> None:
    """Until each stream has seen every write made to the cluster so far: its resourceVersion reaches the
    simulator's (a quiet stream gets there on a bookmark, sent every ``watch_bookmark_interval``)."""
    target = await cluster.resource_version()
    await until(
        lambda: all(int(s.resource_version or 0) >= target for s in streams if s is not None),
        timeout=timeout,
        what=f"the watch streams to reach resourceVersion {target}",
        detail=lambda: [(s.kind, s.resource_version) for s in streams if s is not None],
    )


@dataclass
class Ticks:
    """A watcher's ticks, counted as each ends, and the last one that ended idle (see ``idle``)."""

    count: int = 0
    last_idle: int = 0


_TICKS: weakref.WeakKeyDictionary[Watcher, Ticks] = weakref.WeakKeyDictionary()


def ticks_of(watcher: Watcher) -> Ticks:
    """Count ``watcher``'s ticks from now on (its run loop calls ``self.tick()`` afresh each time)."""
    if watcher not in _TICKS:
        ticks = _TICKS[watcher] = Ticks()
        original = watcher.tick

        async def tick() -> None:
            await original()
            ticks.count += 1
            if idle(watcher):
                ticks.last_idle = ticks.count

        watcher.tick = tick  # type: ignore[method-assign]
    return _TICKS[watcher]


def idle(watcher: Watcher) -> bool:
    """Nothing to do without a change in the cluster: no page, update or resolve in flight (a tick's work starts
    as the tick ends, so one just started counts), none waiting to be retried, and no candidate still waiting out
    its grace to be paged. (A muted, held or absorbed candidate is not idle: use it only where there are none.)"""
    if any(not t.done() and not t.get_name().startswith("informer-") for t in watcher._tasks):
        return False
    now, mono = watcher.clock(), time.monotonic()
    for c in watcher.candidates.values():
        if c.busy or c.retry_at > mono:
            return False
        if c.active(now) and not c.suppressed and (c.incident is None or c.incident.message_ts is None):
            return False
    return True


async def settled(watcher: Watcher, cluster: Cluster, timeout: float = 20.0) -> None:
    """Until the watcher is done with the cluster as it is now: its streams have seen every write so far, then a
    whole tick (one that began after that) ended idle. What it paged by then is all it pages until the cluster
    changes again."""
    ticks = ticks_of(watcher)
    await caught_up([watcher.nodes, watcher.pods, watcher.events], cluster, timeout)
    after = ticks.count + 1  # the tick under way may have begun before the streams caught up
    await until(
        lambda: ticks.last_idle > after,
        timeout=timeout,
        what="a whole tick with nothing to do",
        detail=lambda: {k: (c.busy, c.incident) for k, c in watcher.candidates.items()},
    )


async def open_incidents(database_url: str) -> dict[str, str | None]:
    """What a watcher process's incident ledger holds open: subject -> the page's message id (None: not posted
    yet), read from its database."""
    url = db.resolve_url(database_url)
    engine = db.make_engine(url)
    try:
        return {i.subject: i.message_ts for i in await Ledger(engine, url).open_incidents()}
    finally:
        await engine.dispose()


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + " " + json.dumps(message.get("blocks") or [])


@pytest.fixture
async def slack() -> AsyncIterator[SlackDouble]:
    double = SlackDouble()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
async def cluster(start_sim: Callable[..., RunningSim]) -> AsyncIterator[Cluster]:
    sim = start_sim(DATA / "two-nodes.yaml", timeline_mode="manual", watch_bookmark_interval=0.5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as http:
        yield Cluster(sim, http)


def watch_environ(
    cluster: Cluster, slack: SlackDouble, tmp_path: Path, *, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    import os

    env = {
        "KUBECONFIG": str(cluster.sim.kubeconfig),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "KUBEWHY_SLACK_API_URL": slack.url + "/api/",
        "KUBEWHY_ALERT_CHANNEL": "#alerts",
        "KUBEWHY_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        "KUBEWHY_WATCH_UPDATE_INTERVAL": "0.3",
        "KUBEWHY_WATCH_LEASE_DURATION": "3",
        "KUBEWHY_CLUSTER_NAME": "test",
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(tmp_path / "cache")),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PATH": os.environ.get("PATH", ""),
    }
    env.update(extra)
    return env


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    import uuid

    import asyncpg

    name = f"kubewhy_watch_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN)
    except OSError as exc:
        pytest.skip(f"no Postgres at {PG_ADMIN}: {exc}")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()
