"""Leader election on a real Lease served by the simulator (optimistic concurrency: 409 on a stale write)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.watch.lease import LeaseElector

from .conftest import Cluster


async def test_exactly_one_of_two_racing_replicas_leads_and_the_other_takes_over_after_expiry(cluster: Cluster) -> None:
    api = LiveKube(build_api_client(str(cluster.sim.kubeconfig)))
    clock = {"now": datetime.now(UTC)}

    def elector(name: str) -> LeaseElector:
        return LeaseElector(
            api, namespace="default", name="kubewhy-watch", identity=name, duration=15, clock=lambda: clock["now"]
        )

    a, b = elector("a"), elector("b")
    won = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(won) == [False, True]  # both read "no Lease"; the API server let one create it
    leader, other = (a, b) if a.is_leader else (b, a)
    await asyncio.to_thread(cluster.sim.reset_stats)
    clock["now"] += timedelta(seconds=1)
    assert await leader.try_acquire_or_renew() and not await other.try_acquire_or_renew()
    stats = await asyncio.to_thread(cluster.sim.stats)
    assert stats == {"update leases": 1, "get leases": 1}  # the holder renews with one write; a candidate reads

    # a stale write loses: the other read the Lease before the leader renewed it
    lease = await api.get("Lease", "default", "kubewhy-watch")
    assert lease is not None
    clock["now"] += timedelta(seconds=1)
    await leader.try_acquire_or_renew()  # renews: a new resourceVersion
    stale = {**lease, "spec": {**lease["spec"], "holderIdentity": other.identity}}
    try:
        await api.replace("Lease", "default", "kubewhy-watch", stale)
        raise AssertionError("a write with a stale resourceVersion was accepted")
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "status", None) == 409

    clock["now"] += timedelta(seconds=17)  # the leader died: no renewal for longer than the Lease lasts
    assert await other.try_acquire_or_renew() and other.is_leader
    assert not await leader.try_acquire_or_renew() and not leader.is_leader
    held = await api.get("Lease", "default", "kubewhy-watch")
    assert held is not None and held["spec"]["holderIdentity"] == other.identity
    assert held["spec"]["leaseTransitions"] == 1

    await other.release()  # a clean stop hands over at once
    assert await leader.try_acquire_or_renew()
