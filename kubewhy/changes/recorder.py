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

import json
import logging
import os
import secrets as _secrets
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
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


def projection(kind: str, key: bytes) -> Callable[[Obj], Obj]:
    """What the informer of ``kind`` caches: what :func:`version_change` reads, ConfigMap values as HMACs, packed
    (:func:`unpack` gives it back): the object's name, and the rest as compressed JSON. A pod template held as
    nested dicts costs about five times its packed bytes (5,000 generated Deployments: 14 MB against 2.6 MB)."""

    def project(obj: Obj) -> Obj:
        full = _project(obj)
        meta = full["metadata"]
        text = json.dumps(full, sort_keys=True, separators=(",", ":"), default=str)
        return {
            "kind": kind,
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
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


class _Guarded:
    """A change informer's watch source that tells a refusal (:data:`REFUSED`) apart from a passing error."""

    def __init__(self, source: Any, kind: str):
        self.source, self.kind = source, kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    async def list_page(self, kind: str, namespace: str | None = None, **kw: Any) -> Any:
        try:
            return await self.source.list_page(kind, namespace, **kw)
        except KubeApiError as exc:
            if exc.status in REFUSED:
                raise Refused(kind, exc) from None
            raise

    async def watch(self, kind: str, namespace: str | None = None, **kw: Any) -> AsyncIterator[Obj]:
        stream = self.source.watch(kind, namespace, **kw)
        try:
            async for event in stream:
                yield event
        except KubeApiError as exc:
            if exc.status in REFUSED:
                raise Refused(kind, exc) from None
            raise
        finally:
            await stream.aclose()


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
    ):
        self.log, self.key, self.clock, self.recording = log_, key, clock, recording
        self.pending: deque[Obj] = deque()
        self.max_pending = max_pending
        self.stats = {"seen": 0, "queued": 0, "written": 0, "dropped": 0, "errors": 0, "skipped": 0}
        self.informers: list[Any] = []  # kubewhy.watch.informer.Informer (a layer above this one)
        self.skipped: dict[str, str] = {}  # kind -> why its informer stopped (the API refused it)

    def attach(self, informer: Any) -> None:
        """Record ``informer``'s updates (its ``listeners`` get ``Change(type, key, old, new)``). A kind the API
        refuses (:data:`REFUSED`) is skipped: its informer's run ends quietly, counted in ``stats["skipped"]``
        and named in :attr:`skipped`; the other kinds go on."""
        informer.source = _Guarded(informer.source, informer.kind)
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
            if not informer.synced.is_set() or update.new is None or not self.recording():
                return  # the first LIST is state, not news; a deletion is not recorded; nor by a follower
            self.stats["seen"] += 1
            old = unpack(update.old) if update.old is not None else None
            change = version_change(old, unpack(update.new), self.key, self.clock())
            if change is None:
                return
            if len(self.pending) >= self.max_pending:
                self.pending.popleft()
                self.stats["dropped"] += 1
            self.pending.append(change.to_dict())
            self.stats["queued"] += 1

        informer.listeners.append(on_change)
        self.informers.append(informer)

    def requests(self) -> dict[str, int]:
        """The change watches' requests so far (reported apart from the watchers' own budget, issue 24)."""
        return {
            "lists": sum(i.stats.lists for i in self.informers),
            "watches": sum(i.stats.watches for i in self.informers),
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


__all__ = ["KINDS", "REFUSED", "ChangeRecorder", "Refused", "change_key", "kinds_for", "projection", "unpack"]
