"""Facts fetched once per diagnosis: a single-flight cache in front of a KubeReader.

Two playbooks asking for the same events or the same node share one API request, even when they ask
at the same moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from ..redact import redact_object
from .ports import Capabilities, KubeReader, Obj

T = TypeVar("T")


class CachedKube:
    def __init__(self, inner: KubeReader):
        self.inner = inner
        self.endpoint = inner.endpoint
        self._futures: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def _once(self, key: tuple[Any, ...], call: Callable[[], Awaitable[T]]) -> T:
        fut = self._futures.get(key)
        if fut is None:
            fut = asyncio.ensure_future(call())
            self._futures[key] = fut
        return cast(T, await asyncio.shield(fut))

    def seed(self, kind: str, namespace: str | None, name: str, obj: Obj | None) -> Obj | None:
        """Answer ``get`` with an object the caller already holds. It did not come through an adapter, so it is
        redacted here, in place: the caller goes on using the same (now safe) dict."""
        if obj is not None:
            redact_object(obj)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(obj)
        self._futures[("get", kind, namespace, name)] = fut
        return obj

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def held(self, key: tuple[Any, ...]) -> Any:
        """What a finished read already answered (``("get", kind, namespace, name)`` or ``("list", kind, namespace,
        label_selector, field_selector)``), else None: a reader of what the diagnosis fetched makes no request."""
        fut = self._futures.get(key)
        if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
            return None
        return fut.result()

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        return await self._once(("get", kind, namespace, name), lambda: self.inner.get(kind, namespace, name))

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        return await self._once(
            ("list", kind, namespace, label_selector, field_selector),
            lambda: self.inner.list(kind, namespace, label_selector=label_selector, field_selector=field_selector),
        )

    async def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail: int | None = None
    ) -> str | None:
        return await self._once(
            ("logs", namespace, pod, container, previous, tail),
            lambda: self.inner.logs(namespace, pod, container, previous=previous, tail=tail),
        )
