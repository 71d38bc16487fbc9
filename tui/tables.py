"""Any kind the API server serves (discovery: CRDs included), listed with the columns the server prints.

:class:`TableStore` is the live cache of one such resource, behind the same interface as the informers the fixed
lists use (:class:`tui.data.Store`): a paged LIST in the server's Table format (``kubectl get``'s columns, the
core's :meth:`kubewhy.adapters.kube_live.LiveKube.list_table`), then a WATCH of Tables from its resourceVersion;
a watch that ends or breaks is resumed from the last version seen, and a 410 (gone) lists again. Only the columns
of priority 0 are kept (``kubectl get`` without ``-o wide``); an ``Age`` column becomes the object's creation time,
so ages keep counting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kubewhy.adapters.ports import ApiResource, TableReader
from kubewhy.errors import KubeApiError, KubewhyError
from kubewhy.watch.informer import Change

from .rows import Column, timestamp

Key = tuple[str, str]
RETRY = 1.0  # seconds before a broken watch is resumed
MAX_RETRY = 30.0


CATEGORY_COLUMNS = (Column("KIND"), Column("NAMESPACE"), Column("NAME"), Column("AGE", age=True))


def columns_of(table: dict[str, Any], namespaced: bool) -> tuple[tuple[Column, ...], list[int]]:
    """The columns shown (a NAMESPACE column first for a namespaced resource) and the index of each kept cell."""
    kept = [i for i, c in enumerate(table.get("columnDefinitions") or []) if int(c.get("priority") or 0) == 0]
    defs = table.get("columnDefinitions") or []
    columns = [Column(str(defs[i].get("name") or "").upper(), age=defs[i].get("name") == "Age") for i in kept]
    if namespaced:
        columns.insert(0, Column("NAMESPACE"))
    return tuple(columns), kept


def project(row: dict[str, Any], kept: list[int], ages: set[int], namespaced: bool) -> dict[str, Any]:
    """One Table row as a list row: its kept cells (an age as the creation time), keyed by namespace and name."""
    meta = (row.get("object") or {}).get("metadata") or {}
    raw = row.get("cells") or []
    created = timestamp(meta.get("creationTimestamp"))
    cells: list[Any] = [created if i in ages else (raw[i] if i < len(raw) else "") for i in kept]
    if namespaced:
        cells.insert(0, str(meta.get("namespace") or ""))
    text = " ".join(str(c) for c in cells if not isinstance(c, float)).lower()
    return {
        "ns": str(meta.get("namespace") or ""),
        "name": str(meta.get("name") or ""),
        "labels": dict(meta.get("labels") or {}),
        "cells": tuple(cells),
        "text": text,
        "style": "",
        "created": created,
    }


class TableStore:
    """The live cache of one resource's Table rows (see the module docstring)."""

    def __init__(self, reader: TableReader, resource: ApiResource, *, page_size: int = 500):
        self.reader, self.resource, self.page_size = reader, resource, page_size
        self.kind = resource.kind
        self.items: dict[Key, dict[str, Any]] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.synced = asyncio.Event()
        self.error: str | None = None
        self.columns: tuple[Column, ...] = ()
        self._kept: list[int] = []
        self._ages: set[int] = set()

    def _tell(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    def _project(self, row: dict[str, Any]) -> dict[str, Any]:
        return project(row, self._kept, self._ages, self.resource.namespaced)

    async def _list(self) -> str:
        rows: list[dict[str, Any]] = []
        token: str | None = None
        version = ""
        while True:
            table = await self.reader.list_table(self.resource, limit=self.page_size, continue_token=token)
            if table.get("columnDefinitions"):
                self.columns, self._kept = columns_of(table, self.resource.namespaced)
                defs = table["columnDefinitions"]
                self._ages = {i for i in self._kept if defs[i].get("name") == "Age"}
            rows += [self._project(r) for r in table.get("rows") or []]
            meta = table.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            token = meta.get("continue") or None
            if not token:
                break
        fresh = {(r["ns"], r["name"]): r for r in rows}
        old, self.items = self.items, fresh
        for key, row in fresh.items():
            self._tell(Change("MODIFIED" if key in old else "ADDED", key, old.get(key), row))
        for key in old.keys() - fresh.keys():
            self._tell(Change("DELETED", key, old[key], None))
        return version

    def _apply(self, event: dict[str, Any]) -> str | None:
        """One watch event applied to the cache; the version it brings (None: none)."""
        table = event.get("object") or {}
        kind = event.get("type")
        if kind == "ERROR":
            code = int(table.get("code") or 0)
            raise KubeApiError(str(table.get("message") or "watch error"), code or 500)
        version = str((table.get("metadata") or {}).get("resourceVersion") or "") or None
        for row in table.get("rows") or []:
            projected = self._project(row)
            key = (projected["ns"], projected["name"])
            version = str(((row.get("object") or {}).get("metadata") or {}).get("resourceVersion") or version or "")
            old = self.items.get(key)
            if kind == "DELETED":
                if self.items.pop(key, None) is not None:
                    self._tell(Change("DELETED", key, old, None))
            elif kind in ("ADDED", "MODIFIED"):
                self.items[key] = projected
                self._tell(Change("MODIFIED" if old is not None else "ADDED", key, old, projected))
        return version

    async def run(self) -> None:
        """LIST, then WATCH from its version for ever: resumed after a break, listed again after a 410."""
        version: str | None = None
        wait = RETRY
        while True:
            try:
                if version is None:
                    version = await self._list()
                    self.error = None
                    self.synced.set()
                async for event in self.reader.watch_table(self.resource, resource_version=version):
                    seen = self._apply(event)
                    version = seen or version
                    wait = RETRY
                continue  # the server ended the watch (its timeout): resume from the version seen
            except KubeApiError as exc:
                if exc.status == 410:
                    version = None  # the version is gone: list again
                    continue
                self.error = str(exc)
            except KubewhyError as exc:
                self.error = str(exc)
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_RETRY)


class CategoryStore:
    """The objects of several resources (a category, as ``kubectl get all``) in one cache: one
    :class:`TableStore` each, their rows re-keyed by resource (``deployments.apps/web``) with the columns
    :data:`CATEGORY_COLUMNS`."""

    def __init__(self, reader: TableReader, name: str, resources: list[ApiResource], *, page_size: int = 500):
        self.kind = f"category {name}"
        self.parts = [TableStore(reader, r, page_size=page_size) for r in resources]
        self.items: dict[Key, dict[str, Any]] = {}
        self.listeners: list[Callable[[Change], None]] = []
        self.synced = asyncio.Event()
        self.columns = CATEGORY_COLUMNS
        for part in self.parts:
            part.listeners.append(self._listener(part))

    @property
    def error(self) -> str | None:
        return next((p.error for p in self.parts if p.error), None)

    def _listener(self, part: TableStore) -> Callable[[Change], None]:
        def listener(change: Change) -> None:
            self._changed(part, change)

        return listener

    def _changed(self, part: TableStore, change: Change) -> None:
        r = part.resource
        label = r.plural + (f".{r.group}" if r.group else "")
        key = (change.key[0], f"{label}/{change.key[1]}")
        old = self.items.get(key)
        if change.new is None:
            self.items.pop(key, None)
            row = None
        else:
            cells = (label, change.new["ns"], change.new["name"], change.new["created"])
            row = {
                **change.new,
                "name": key[1],
                "object": change.new["name"],
                "resource": label,
                "cells": cells,
                "text": f"{label} {change.new['ns']} {change.new['name']}".lower(),
            }
            self.items[key] = row
        for listener in list(self.listeners):
            listener(Change(change.type, key, old, row))

    async def run(self) -> None:
        async def synced() -> None:
            await asyncio.gather(*(p.synced.wait() for p in self.parts))
            self.synced.set()

        await asyncio.gather(synced(), *(p.run() for p in self.parts))
