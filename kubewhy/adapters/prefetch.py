"""A reader that has already asked for the one object a diagnosis starts with.

``kubewhy why`` is a process: before its first request it imports the engine and loads the catalogue, and after
it the diagnosis waits a round trip for the target. :func:`kubewhy.compose.build_kube` with ``prefetch=`` sends
that ``GET`` at once, in the adapter's thread, so the round trip overlaps the start-up. The diagnosis then reads
the object from here. The request is counted when the object is used (``requests``), so the diagnosis that
uses it reports it as its own; an error of the prefetch surfaces there too, as if it had made the call.
"""

from __future__ import annotations

import asyncio

from .delegate import DelegatingKube
from .ports import KubeReader, Obj


class PrefetchingKube(DelegatingKube):
    def __init__(self, inner: KubeReader, kind: str, namespace: str | None, name: str):
        super().__init__(inner)
        self._key: tuple[str, str | None, str] | None = (kind, namespace, name)
        self._ahead: asyncio.Future[Obj | None] = asyncio.ensure_future(inner.get(kind, namespace, name))

    @property
    def requests(self) -> int:
        """The inner reader's requests, less the prefetch until it is used."""
        made = int(getattr(self._inner, "requests", 0))
        return made - 1 if self._key is not None and made > 0 else made

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        if self._key == (kind, namespace, name):
            self._key = None
            return await self._ahead
        return await self._inner.get(kind, namespace, name)


__all__ = ["PrefetchingKube"]
