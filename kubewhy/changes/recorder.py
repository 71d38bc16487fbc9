"""The watchers' change log (issue 29): one informer per kind whose changes explain incidents, each update turned
into a :class:`~kubewhy.changes.model.Change` by :func:`~kubewhy.changes.record.version_change` and written to the
audit database's ``change_log`` in batches (:class:`kubewhy.audit.changelog.ChangeLog`).

- **Bounded.** Changes wait in a queue of at most ``MAX_PENDING``; beyond it the oldest are dropped and counted
  (``stats["dropped"]``). A flush writes at most ``BATCH`` rows in one transaction.
- **Small caches.** Each informer keeps a projection: the fields :func:`version_change` compares, the latest
  managedFields writer, and ConfigMap values replaced by their keyed HMAC at once (no value is held in memory),
  packed as compressed JSON beside the object's name.
- **State is not news.** The first LIST of each kind records nothing; a re-LIST after a 410 records what differs.
- **Never a value.** Secrets reach the core redacted and are watched only when asked
  (``KUBEWHY_WATCH_CHANGE_SECRETS=1``; the default RBAC has no Secrets); Helm release Secrets and service-account
  tokens are never recorded. The HMAC key comes from ``KUBEWHY_CHANGE_KEY`` (share it between replicas, from a
  Kubernetes Secret), else from a file of its own beside the audit database's default location, never inside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets as _secrets
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import KubeApiError, KubewhyError
from .record import WATCHED, WORKLOADS, digest, recorded, version_change

if TYPE_CHECKING:
    from ..audit.changelog import ChangeLog

log = logging.getLogger("kubewhy.watch")
Obj = dict[str, Any]
MAX_PENDING = 10_000  # changes waiting for the database; beyond it the oldest are dropped
BATCH = 500  # rows per write
# The kinds the watchers record, in the order their informers start (Secrets only when asked).
KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "ConfigMap",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "RoleBinding",
    "Node",
)
REFUSED = (403, 404)  # a kind the RBAC does not grant (or the API does not serve): skipped, not retried (a 401,
# a credential that expired, is retried with the rest)


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def change_key(configured: str, data_dir: Path) -> bytes:
    """The HMAC key: ``KUBEWHY_CHANGE_KEY`` when set, else ``DATA_DIR/change-key`` (made once, mode 0600)."""
    if configured.strip():
        return configured.strip().encode("utf-8")
    path = data_dir / "change-key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    key = _secrets.token_bytes(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex())
    return key


def kinds_for(enabled: bool, secrets: bool) -> tuple[str, ...]:
    """The kinds recorded: none when the change log is off; Secrets only when asked."""
    if not enabled:
        return ()
    return KINDS + (("Secret",) if secrets else ())


def _writer_only(meta: Obj) -> list[Obj]:
    """The latest managedFields write that is not a status write (who made the change), and nothing else."""
    entries = [
        e
        for e in meta.get("managedFields") or []
        if isinstance(e, dict) and e.get("subresource") != "status" and e.get("time")
    ]
    if not entries:
        return []
    last = max(entries, key=lambda e: str(e.get("time")))
    return [{k: last.get(k) for k in ("manager", "operation", "time")}]


def mark(kind: str, meta: Obj) -> str:
    """What an object's metadata says of a version, enough to tell whether anything the change log compares may
    have changed (so whether to GET it): its uid, ``generation`` (which a spec write moves and a status write does
    not), the writes in ``managedFields`` that are not status writes (manager, operation, time), a Node's labels and
    the change cause. Without a generation or managedFields (the simulator writes none) the resourceVersion stands
    in: every write is then fetched. The same for a whole object and for its ``PartialObjectMetadata``."""
    writes = sorted(
        (str(e.get("manager") or ""), str(e.get("operation") or ""), str(e.get("time") or ""))
        for e in meta.get("managedFields") or []
        if isinstance(e, dict) and e.get("subresource") != "status"
    )
    generation = meta.get("generation")
    annotations = _d(meta.get("annotations"))
    return json.dumps(
        [
            meta.get("uid"),
            generation,
            writes,
            meta.get("labels") if kind == "Node" else None,
            annotations.get("kubernetes.io/change-cause"),
            meta.get("resourceVersion") if generation is None and not writes else None,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def projection(kind: str, key: bytes) -> Callable[[Obj], Obj]:
    """What the informer of ``kind`` caches: what :func:`version_change` reads, ConfigMap values as HMACs, packed
    (:func:`unpack` gives it back): the object's name, its :func:`mark`, and the rest as compressed JSON. A pod
    template held as nested dicts costs about five times its packed bytes (5,000 generated Deployments: 14 MB
    against 2.6 MB)."""

    def project(obj: Obj) -> Obj:
        full = _project(obj)
        meta = full["metadata"]
        text = json.dumps(full, sort_keys=True, separators=(",", ":"), default=str)
        return {
            "kind": kind,
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
            "mark": mark(kind, _d(obj.get("metadata"))),
            "packed": zlib.compress(text.encode("utf-8")),  # equal projections pack to equal bytes
        }

    def _project(obj: Obj) -> Obj:
        meta = _d(obj.get("metadata"))
        if not recorded({**obj, "kind": kind}):  # a Helm release Secret, a service-account token: its name only
            return {
                "kind": kind,
                "type": obj.get("type"),
                "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
            }
        annotations = _d(meta.get("annotations"))
        out: Obj = {
            "kind": kind,
            "metadata": {
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "managedFields": _writer_only(meta),
                **({"labels": meta.get("labels")} if kind == "Node" else {}),
                **({"annotations": {k: v for k, v in annotations.items() if k == "kubernetes.io/change-cause"}}),
            },
        }
        if kind in ("ConfigMap", "Secret"):
            out["type"] = obj.get("type")
            for section in ("data", "binaryData"):
                values = _d(obj.get(section))
                # a Secret's values are redacted already: keep its key names only
                out[section] = {k: "" if kind == "Secret" else digest(key, str(v)) for k, v in values.items()}
        elif kind in WORKLOADS:
            spec = _d(obj.get("spec"))
            out["spec"] = {k: spec.get(k) for k in ("replicas", "template", "jobTemplate") if k in spec}
        else:
            for path in WATCHED.get(kind, ()):
                src: Any = obj
                dst = out
                for part in path[:-1]:
                    src = _d(src).get(part)
                    dst = dst.setdefault(part, {})
                if (value := _d(src).get(path[-1])) is not None:
                    dst[path[-1]] = value
        return out

    return project


SHARED = "changes"  # where a shared informer's projection (:func:`with_changes`) keeps the change log's


def with_changes(project: Callable[[Obj], Obj], changes: Callable[[Obj], Obj]) -> Callable[[Obj], Obj]:
    """One projection for an informer the watchers and the change log share (:meth:`ChangeRecorder.share`): the
    watchers' (``project``, a dict such as ``project_node``'s) with the change log's (``changes``, from
    :func:`projection`) under :data:`SHARED`, without its :func:`mark` (a shared informer reads whole objects, and
    a mark that holds the resourceVersion would make every write a change of the projection)."""

    def projected(obj: Obj) -> Obj:
        ours = changes(obj)
        ours.pop("mark", None)
        return {**project(obj), SHARED: ours}

    return projected


def unpack(projected: Obj) -> Obj:
    """A projection as :func:`version_change` reads it (``projected`` as the informer caches it)."""
    if "packed" not in projected:
        return projected
    found: Obj = json.loads(zlib.decompress(projected["packed"]))
    return found


class Refused(Exception):
    """The API refused a change informer's LIST or WATCH for good (403: the RBAC does not grant it; 404: the API
    does not serve the kind). Not a :class:`KubewhyError`, so the informer does not retry it: its run ends."""

    def __init__(self, kind: str, exc: KubeApiError):
        super().__init__(f"{kind}: {exc}")
        self.kind, self.status = kind, exc.status


CACHED = "kubewhy.cached"  # an item or event object that stands for the informer's cached projection, unchanged
PARTIAL = "PartialObjectMetadata"
GETS_AT_ONCE = 8  # GETs in flight at once when a metadata-only re-LIST finds many objects changed


@dataclass
class _Page:
    items: list[Obj]
    resource_version: str
    continue_token: str | None


def cached_or(project: Callable[[Obj], Obj]) -> Callable[[Obj], Obj]:
    """An informer's projection that takes a stand-in for its cached projection (:data:`CACHED`) as it is."""

    def projected(obj: Obj) -> Obj:
        found = obj.get(CACHED)
        return found if isinstance(found, dict) else project(obj)

    return projected


class _Guarded:
    """A change informer's watch source that tells a refusal (:data:`REFUSED`) apart from a passing error, and
    that, once the informer holds its first LIST, lists and watches metadata only: an object whose :func:`mark`
    is what the informer holds comes back as a stand-in for it (no GET), any other is fetched whole with one GET
    (counted in ``stats["gets"]``). The first LIST reads whole objects, in pages: metadata cannot say what a field
    was before it changed, and one paged LIST costs less than a GET per object. A server that answers metadata-only
    requests with 406 is read whole from then on."""

    def __init__(self, source: Any, informer: Any, stats: dict[str, int], metadata_only: bool):
        self.source, self.informer, self.kind, self.stats = source, informer, informer.kind, stats
        self.metadata_only = metadata_only

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def _partial(self) -> bool:
        return self.metadata_only and self.informer.synced.is_set()

    def _refused(self, exc: KubeApiError) -> BaseException:
        return Refused(self.kind, exc) if exc.status in REFUSED else exc

    def _whole(self, exc: KubeApiError, status: int = 406) -> bool:
        """The server cannot send metadata only (406), or the RBAC grants no GET (403, ``status``): whole objects
        from now on."""
        if exc.status != status or not self.metadata_only:
            return False
        self.metadata_only = False
        self.stats["whole"] += 1
        log.warning(
            "change log: %s: metadata only and a GET on change is not possible (%s): reading whole objects",
            self.kind,
            exc,
        )
        return True

    async def list_page(self, kind: str, namespace: str | None = None, **kw: Any) -> Any:
        try:
            if not self._partial():
                return await self.source.list_page(kind, namespace, **kw)
            try:
                page = await self.source.list_page(kind, namespace, metadata_only=True, **kw)
            except KubeApiError as exc:
                if not self._whole(exc):
                    raise
                return await self.source.list_page(kind, namespace, **kw)
            items = await self._resolve(page.items, keep_gone=False)
            return _Page(items, page.resource_version, page.continue_token)
        except KubeApiError as exc:
            raise self._refused(exc) from None

    async def watch(self, kind: str, namespace: str | None = None, **kw: Any) -> AsyncIterator[Obj]:
        partial = self._partial()
        stream = self.source.watch(kind, namespace, **kw, **({"metadata_only": True} if partial else {}))
        try:
            async for event in stream:
                obj = event.get("object")
                if event.get("type") in ("ADDED", "MODIFIED") and isinstance(obj, dict) and obj.get("kind") == PARTIAL:
                    found = await self._resolve([obj], keep_gone=True)
                    if not found:
                        continue  # created and deleted again before the GET: its DELETED event follows
                    event = {"type": event["type"], "object": found[0]}
                yield event
        except KubeApiError as exc:
            if partial and self._whole(exc):
                raise KubewhyError(f"watch of {kind}: metadata only refused, watching whole objects") from None
            raise self._refused(exc) from None
        finally:
            await stream.aclose()

    async def _resolve(self, items: list[Obj], *, keep_gone: bool) -> list[Obj]:
        """Each metadata-only item as a stand-in for the cached projection when its :func:`mark` is unchanged,
        else the whole object (a GET). An object gone before its GET is dropped, or with ``keep_gone`` stands in
        for what is cached (a watch: its DELETED event follows)."""
        out: list[Obj | None] = [None] * len(items)
        fetch: list[tuple[int, Obj, Obj | None]] = []
        for i, item in enumerate(items):
            if item.get("kind") != PARTIAL:
                out[i] = item  # the server sent the whole object after all
                continue
            meta = _d(item.get("metadata"))
            cached = self.informer.items.get((meta.get("namespace") or "", meta.get("name") or ""))
            if cached is not None and cached.get("mark") == mark(self.kind, meta):
                out[i] = self._stand_in(meta, cached)
                self.stats["unfetched"] += 1
            else:
                fetch.append((i, meta, cached))
        gate = asyncio.Semaphore(GETS_AT_ONCE)

        async def get(i: int, meta: Obj, cached: Obj | None) -> None:
            async with gate:
                try:
                    whole = await self.source.get(self.kind, meta.get("namespace"), str(meta.get("name") or ""))
                except KubeApiError as exc:
                    if self._whole(exc, 403):  # list and watch whole objects again, from where the informer stood
                        raise KubewhyError(f"{self.kind}: no GET allowed ({exc}): reading whole objects") from None
                    raise
            self.stats["gets"] += 1
            if whole is None:
                out[i] = self._stand_in(meta, cached) if keep_gone and cached is not None else None
                return
            # the version the list or event is at, not a later one the GET may have read: the informer's
            # resourceVersion must not run ahead of the stream's
            _d(whole.get("metadata"))["resourceVersion"] = meta.get("resourceVersion")
            out[i] = whole

        failed = [r for r in await asyncio.gather(*(get(*f) for f in fetch), return_exceptions=True) if r is not None]
        if failed:
            raise failed[0]
        return [o for o in out if o is not None]

    @staticmethod
    def _stand_in(meta: Obj, cached: Obj) -> Obj:
        names = {k: meta.get(k) for k in ("name", "namespace", "resourceVersion")}
        return {"metadata": names, CACHED: cached}


class ChangeRecorder:
    """Updates of the informers :meth:`attach`-ed (the watchers make one per kind, with :func:`projection`),
    queued as changes and written by :meth:`flush`. ``clock``: the watcher's time (when a change was seen);
    ``recording``: whether this replica records now (only the Lease holder does, or each replica would write
    every change)."""

    def __init__(
        self,
        log_: ChangeLog,
        key: bytes,
        *,
        clock: Callable[[], datetime],
        recording: Callable[[], bool] = lambda: True,
        max_pending: int = MAX_PENDING,
        metadata_only: bool = True,
    ):
        self.log, self.key, self.clock, self.recording = log_, key, clock, recording
        self.metadata_only = metadata_only  # after each kind's first LIST, list and watch metadata only
        self.pending: deque[Obj] = deque()
        self.max_pending = max_pending
        self.stats = {
            "seen": 0,
            "queued": 0,
            "written": 0,
            "dropped": 0,
            "errors": 0,
            "skipped": 0,
            "gets": 0,  # whole objects fetched because their metadata moved
            "unfetched": 0,  # metadata-only items and events whose mark was unchanged: no GET
            "whole": 0,  # kinds read whole objects again: no PartialObjectMetadata (406) or no GET granted (403)
        }
        self.informers: list[Any] = []  # kubewhy.watch.informer.Informer (a layer above this one)
        self.skipped: dict[str, str] = {}  # kind -> why its informer stopped (the API refused it)
        self.shared: list[Any] = []  # the watchers' own informers whose changes are recorded too (:meth:`share`)

    def attach(self, informer: Any) -> None:
        """Record ``informer``'s updates (its ``listeners`` get ``Change(type, key, old, new)``). A kind the API
        refuses (:data:`REFUSED`) is skipped: its informer's run ends quietly, counted in ``stats["skipped"]``
        and named in :attr:`skipped`; the other kinds go on."""
        informer.source = _Guarded(informer.source, informer, self.stats, self.metadata_only)
        informer.project = cached_or(informer.project)
        run = informer.run

        async def guarded_run() -> None:
            try:
                await run()
            except Refused as exc:
                self.stats["skipped"] += 1
                self.skipped[exc.kind] = str(exc)
                log.warning("change log: %s is not recorded: %s", exc.kind, exc)

        informer.run = guarded_run

        def on_change(update: Any) -> None:
            self._seen(informer, update.old, update.new)

        informer.listeners.append(on_change)
        self.informers.append(informer)

    def share(self, informer: Any) -> None:
        """Record the changes of a kind from an informer the watchers run anyway (their node informer), instead of
        a LIST and a WATCH of its own: its projection carries the change log's under :data:`SHARED` (made with
        :func:`with_changes`); an update that moved only the watchers' part (a node condition) records nothing.
        Its requests stay in the watchers' count (:attr:`shared`, not :attr:`informers`)."""

        def on_change(update: Any) -> None:
            old = update.old.get(SHARED) if isinstance(update.old, dict) else None
            new = update.new.get(SHARED) if isinstance(update.new, dict) else None
            if new is not None and new != old:
                self._seen(informer, old, new)

        informer.listeners.append(on_change)
        self.shared.append(informer)

    def _seen(self, informer: Any, old: Obj | None, new: Obj | None) -> None:
        if not informer.synced.is_set() or new is None or not self.recording():
            return  # the first LIST is state, not news; a deletion is not recorded; nor by a follower
        self.stats["seen"] += 1
        change = version_change(unpack(old) if old is not None else None, unpack(new), self.key, self.clock())
        if change is None:
            return
        if len(self.pending) >= self.max_pending:
            self.pending.popleft()
            self.stats["dropped"] += 1
        self.pending.append(change.to_dict())
        self.stats["queued"] += 1

    def requests(self) -> dict[str, int]:
        """The change watches' requests so far (reported apart from the watchers' own budget, issue 24)."""
        return {
            "lists": sum(i.stats.lists for i in self.informers),
            "watches": sum(i.stats.watches for i in self.informers),
            "gets": self.stats["gets"],
        }

    async def flush(self) -> int:
        """Write what is queued, ``BATCH`` rows per transaction; returns how many. A failed write keeps the rows
        queued (the next flush retries them) and is counted in ``stats["errors"]``."""
        written = 0
        while self.pending:
            batch = [self.pending[i] for i in range(min(BATCH, len(self.pending)))]
            try:
                await self.log.add(batch)
            except KubewhyError as exc:
                self.stats["errors"] += 1
                log.warning("change log: cannot write %d change(s): %s (retrying)", len(batch), exc)
                break
            for _ in batch:
                self.pending.popleft()
            written += len(batch)
        self.stats["written"] += written
        return written


__all__ = [
    "KINDS",
    "REFUSED",
    "SHARED",
    "ChangeRecorder",
    "Refused",
    "cached_or",
    "change_key",
    "kinds_for",
    "mark",
    "projection",
    "unpack",
    "with_changes",
]
