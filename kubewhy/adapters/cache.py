"""Facts fetched once per diagnosis: a single-flight cache in front of a KubeReader.

Two playbooks asking for the same events or the same node share one API request, even when they ask
at the same moment.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from .ports import KubeReader, Obj


class CachedKube:
    def __init__(self, inner: KubeReader):
        self.inner = inner
        self.endpoint = inner.endpoint
        self._futures: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def _once(self, key: tuple[Any, ...], call: Callable[[], Awaitable[Any]]) -> Any:
        fut = self._futures.get(key)
        if fut is None:
            fut = asyncio.ensure_future(call())
            self._futures[key] = fut
        return await asyncio.shield(fut)

    def seed(self, kind: str, namespace: str | None, name: str, obj: Obj | None) -> None:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(obj)
        self._futures[("get", kind, namespace, name)] = fut

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        return await self._once(("get", kind, namespace, name), lambda: self.inner.get(kind, namespace, name))

    async def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None) -> list[Obj]:
        return await self._once(("list", kind, namespace, label_selector, field_selector),
                                lambda: self.inner.list(kind, namespace, label_selector=label_selector,
                                                        field_selector=field_selector))

    async def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                   tail: int | None = None) -> str | None:
        return await self._once(("logs", namespace, pod, container, previous, tail),
                                lambda: self.inner.logs(namespace, pod, container, previous=previous, tail=tail))
