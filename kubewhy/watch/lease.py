"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the holder renews
``renewTime`` every ``renew`` seconds; another replica takes the Lease once ``leaseDurationSeconds`` passed
without a renewal. Every write carries the resourceVersion it read, so of two replicas racing for an expired
Lease the API server lets exactly one win (the other gets 409 Conflict).

A holder that cannot renew stops leading *before* its Lease expires (``renew_deadline``), so two replicas never
both believe they lead. On shutdown the holder releases the Lease, and a successor takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..adapters.ports import Obj, ObjectWriter
from ..errors import KubeApiError, KubewhyError

log = logging.getLogger("kubewhy.watch")


def _micro(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class LeaseElector:
    def __init__(
        self,
        api: ObjectWriter,
        *,
        namespace: str,
        name: str,
        identity: str,
        duration: float = 15.0,
        renew: float = 5.0,
        renew_deadline: float = 10.0,
        retry: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        """``renew``: how often a candidate looks at the Lease; the holder renews every ``duration`` × 0.45
        (with one write: no read), and after a failed renewal retries every ``retry`` seconds until
        ``renew_deadline`` passes without one."""
        self.api, self.namespace, self.name, self.identity = api, namespace, name, identity
        self.duration, self.renew, self.renew_deadline, self.clock = duration, renew, renew_deadline, clock
        self.retry = retry
        self.is_leader = False
        self.transitions = 0
        self._last_renewed: datetime | None = None
        self._held: Obj | None = None  # the Lease as the holder last wrote it (its resourceVersion included)

    def next_wait(self, ok: bool) -> float:
        if not self.is_leader:
            return self.renew
        return self.duration * 0.45 if ok else self.retry

    async def run(self) -> None:
        """Acquire, then renew, until cancelled (then release)."""
        try:
            while True:
                ok = False
                try:
                    ok = await self.try_acquire_or_renew()
                except KubewhyError as exc:
                    log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                if (
                    self.is_leader
                    and self._last_renewed is not None
                    and self.clock() - self._last_renewed > timedelta(seconds=self.renew_deadline)
                ):
                    log.warning("lease %s/%s: could not renew in time; no longer leading", self.namespace, self.name)
                    self.is_leader = False
                    self._held = None
                await asyncio.sleep(self.next_wait(ok))
        finally:
            await asyncio.shield(self.release())

    async def try_acquire_or_renew(self) -> bool:
        now = self.clock()
        if self.is_leader and self._held is not None and await self._renew_held(now):
            return True
        lease = await self.api.get("Lease", self.namespace, self.name)
        spec_new = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.duration),
            "renewTime": _micro(now),
        }
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {**spec_new, "acquireTime": _micro(now), "leaseTransitions": 0},
            }
            try:
                self._held = await self.api.create("Lease", self.namespace, body)
            except KubeApiError as exc:
                if exc.status == 409:
                    return self._lost()
                raise
            return self._won(now)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        if holder and holder != self.identity and renewed is not None and now - renewed < timedelta(seconds=duration):
            return self._lost()
        new_spec = {**spec, **spec_new}
        if holder != self.identity:
            new_spec["acquireTime"] = _micro(now)
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        body = {**lease, "spec": new_spec}
        try:
            self._held = await self.api.replace("Lease", self.namespace, self.name, body)
        except KubeApiError as exc:
            if exc.status == 409:  # someone else wrote it since we read it
                return self._lost()
            raise
        return self._won(now)

    async def _renew_held(self, now: datetime) -> bool:
        """The holder's renewal: one PUT of the Lease it last wrote. A 409 means someone wrote it since (then
        read it again); any other error is retried by the caller."""
        assert self._held is not None
        spec = {**(self._held.get("spec") or {}), "renewTime": _micro(now)}
        try:
            self._held = await self.api.replace("Lease", self.namespace, self.name, {**self._held, "spec": spec})
        except KubeApiError as exc:
            self._held = None
            if exc.status == 409:
                return False
            raise
        self._won(now)
        return True

    def _won(self, now: datetime) -> bool:
        if not self.is_leader:
            self.transitions += 1
            log.info("lease %s/%s: %s now leads", self.namespace, self.name, self.identity)
        self.is_leader = True
        self._last_renewed = now
        return True

    def _lost(self) -> bool:
        self._held = None
        if self.is_leader:
            log.info("lease %s/%s: %s no longer leads", self.namespace, self.name, self.identity)
        self.is_leader = False
        return False

    async def release(self) -> None:
        """Give the Lease up (a successor need not wait for it to expire)."""
        if not self.is_leader:
            return
        self.is_leader = False
        self._held = None
        try:
            lease = await self.api.get("Lease", self.namespace, self.name)
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            spec = {**lease["spec"], "holderIdentity": "", "renewTime": _micro(self.clock()), "leaseDurationSeconds": 1}
            await self.api.replace("Lease", self.namespace, self.name, {**lease, "spec": spec})
        except KubewhyError as exc:
            log.info("lease %s/%s: release failed (%s); it expires by itself", self.namespace, self.name, exc)


__all__ = ["LeaseElector"]
