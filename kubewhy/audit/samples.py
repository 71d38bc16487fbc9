"""The kubelet sampler's latest readings (``kubelet_samples``): one row per container and per volume, replaced at
each reading of its node, so that every replica (the leader samples; any may answer ``/k8s why``) reads the same
recent figures. Rows are plain dicts here: the audit layer sits below the watchers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from .models import KubeletSample
from .queries import store_errors

Row = dict[str, Any]
FIELDS = (
    "periods",
    "throttled",
    "working_set",
    "used",
    "capacity",
    "available",
    "prev_at",
    "prev_periods",
    "prev_throttled",
)


def _row(s: KubeletSample) -> Row:
    return {
        "kind": s.kind,
        "namespace": s.namespace,
        "name": s.name,
        "container": s.container,
        "node": s.node,
        "at": s.at,
        "instance": s.instance,
        **{f: getattr(s, f) for f in FIELDS},
    }


class SampleStore:
    def __init__(self, engine: AsyncEngine, url: str = "", *, cluster: str):
        self.url, self.cluster = url, cluster
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def replace(self, readings: Sequence[tuple[str, str, Iterable[Row]]]) -> int:
        """``(node, kind, rows)``: each node's rows of that kind replace what it had (a container gone from the node
        goes from the table); one transaction for all. Returns how many rows were written."""
        written = 0
        with store_errors(self.url):
            async with self._sessions() as session:
                for node, kind, rows in readings:
                    batch = [dict(r) for r in rows]
                    keys = [(r["namespace"], r["name"], r.get("container", "")) for r in batch]
                    where = KubeletSample.node == node
                    if keys:  # a volume read before from another node, a pod recreated elsewhere
                        key_cols = tuple_(KubeletSample.namespace, KubeletSample.name, KubeletSample.container)
                        where = or_(where, key_cols.in_(keys))
                    await session.execute(
                        delete(KubeletSample).where(
                            and_(KubeletSample.cluster == self.cluster, KubeletSample.kind == kind, where)
                        )
                    )
                    session.add_all(
                        KubeletSample(
                            cluster=self.cluster,
                            kind=kind,
                            namespace=r["namespace"],
                            name=r["name"],
                            container=r.get("container", ""),
                            node=node,
                            at=float(r["at"]),
                            instance=str(r.get("instance") or "")[:300],
                            **{f: (None if r.get(f) is None else float(r[f])) for f in FIELDS},
                        )
                        for r in batch
                    )
                    written += len(batch)
                await session.commit()
        return written

    async def of_node(self, node: str) -> list[Row]:
        """The latest rows read from ``node`` (containers and volumes)."""
        with store_errors(self.url):
            async with self._sessions() as session:
                found = await session.execute(
                    select(KubeletSample).where(KubeletSample.cluster == self.cluster, KubeletSample.node == node)
                )
                return [_row(s) for s in found.scalars()]

    async def prune(self, before: float) -> int:
        """Delete the rows read before ``before`` (epoch seconds): nodes and claims gone, or no longer sampled."""
        with store_errors(self.url):
            async with self._sessions() as session:
                result = await session.execute(
                    delete(KubeletSample).where(KubeletSample.cluster == self.cluster, KubeletSample.at < before)
                )
                await session.commit()
                return int(getattr(result, "rowcount", 0) or 0)

    async def count(self) -> int:
        with store_errors(self.url):
            async with self._sessions() as session:
                found = await session.execute(
                    select(func.count()).select_from(KubeletSample).where(KubeletSample.cluster == self.cluster)
                )
                return int(found.scalar_one())


__all__ = ["SampleStore"]
