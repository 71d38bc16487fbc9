"""A reader in front of another: the one place that forwards the ``KubeReader`` calls.

Several readers change one thing about the reader behind them and pass the rest through: the prefetch (the
first ``get``), the shared lists of long-lived front-ends (a ``list`` read moments ago), the MCP connection's
read-only view (no writer). Each subclasses :class:`DelegatingKube` and overrides only what it changes, so a call
added to the port is forwarded once, here.
"""

from __future__ import annotations

from typing import Any

from .ports import Capabilities, KubeReader, Obj


class DelegatingKube:
    def __init__(self, inner: KubeReader):
        self._inner = inner
        self.endpoint = inner.endpoint

    @property
    def inner(self) -> KubeReader:
        return self._inner

    @property
    def requests(self) -> int:
        """The requests the reader behind made (a reader that counts them: the simulator's, a snapshot)."""
        return int(getattr(self._inner, "requests", 0))

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        return await self._inner.get(kind, namespace, name)

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        return await self._inner.list(kind, namespace, label_selector=label_selector, field_selector=field_selector)

    async def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail: int | None = None
    ) -> str | None:
        return await self._inner.logs(namespace, pod, container, previous=previous, tail=tail)

    @property
    def capabilities(self) -> Capabilities:
        return self._inner.capabilities

    def __getattr__(self, name: str) -> Any:  # the reader's other read-side attributes (a snapshot's clock)
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


__all__ = ["DelegatingKube"]
