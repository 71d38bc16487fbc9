"""``AuditLog``: record calls return at once; a background task writes batches, retries, and never loses a record.

- ``record_*`` put a typed record on an in-memory queue (``put_nowait``) and return its idempotency key.
- One writer task takes up to ``batch_size`` records at a time and writes them in one transaction, in its own
  ``AsyncSession``. A transient failure (connection refused or dropped, timeout, database locked) is retried with
  exponential backoff and jitter; since every row has a unique client-generated key, a batch that was committed
  but not acknowledged is not stored twice when retried.
- A batch that still fails after ``RetryPolicy.give_up_after`` seconds, a record the database rejects, and
  whatever is queued when ``aclose()`` runs out of time go to the fallback file. The next start reports and
  re-imports it.
- ``spool=True`` (a short-lived process: ``kubewhy why``): no writer task, no database; each record is appended
  to the database's spool file (:mod:`.spool`) and fsync-ed before ``record_*`` returns. Every start of a
  writer imports its database's spool, silently, right after the fallback file.

SQLAlchemy, the driver, Alembic and pydantic are imported when first needed, so a spooling process never
imports them (``record_diagnosis`` writes its record without pydantic).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AuditStoreError
from . import chain as chaining
from . import spool as spooling

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..models.findings import Fix, Report
    from .records import FixEventKind, Record

log = logging.getLogger("kubewhy.audit")


# SQLSTATE classes worth retrying: 08 connection exception, 40 transaction rollback (serialization, deadlock),
# 53 insufficient resources, 57 operator intervention ("the database system is shutting down" 57P03, "terminating
# connection due to administrator command" 57P01: a Postgres restart). Every other class is about the data.
HEAD_LOG_INTERVAL = timedelta(minutes=10)  # how often the hash chain's head is logged (.chain)

TRANSIENT_SQLSTATE = ("08", "40", "53", "57")


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error, wherever SQLAlchemy wrapped it."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or e in seen:
            continue
        seen.append(e)
        code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__]
    return None


def is_transient(error: BaseException) -> bool:
    from sqlalchemy import exc as sa_exc

    code = sqlstate(error)
    if code is not None:
        return code[:2] in TRANSIENT_SQLSTATE

    # the database rejected the data itself: retrying the same rows cannot help
    permanent = (
        ImportError,  # the database's driver is not installed: no retry installs it
        MissingDriver,
        sa_exc.IntegrityError,
        sa_exc.DataError,
        sa_exc.ProgrammingError,
        sa_exc.StatementError,
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        NotImplementedError,
    )
    transient = (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError, ConnectionError)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, transient):
        return True
    return not isinstance(error, permanent)


DISPOSE_TIMEOUT = 2.0  # seconds closing the pool may take at shutdown (the records are saved by then)
CANCEL_TIMEOUT = 0.5  # seconds a cancelled write may take to stop before its batch is kept without it


class MissingDriver(AuditStoreError):
    """The audit database's driver is not installed (permanent: no retry installs it)."""


def in_memory(url: str) -> bool:
    """An SQLite database that lives in this process only (no other process can migrate it)."""
    if not url.startswith("sqlite"):
        return False
    rest = url.split("://", 1)[-1]
    return rest in ("", "/", "/:memory:") or ":memory:" in rest or "mode=memory" in rest


def missing_driver(error: BaseException, url: str) -> str | None:
    """The clear, permanent message for a database driver that is not installed, else None."""
    if isinstance(error, MissingDriver):
        return str(error).split(": ", 1)[-1]
    if not isinstance(error, ImportError):
        return None
    name = getattr(error, "name", None) or str(error)
    return (
        f"the database driver for {url.split('://', 1)[0]} is not installed (No module named {name!r}): "
        f"install it (pip install {name}); records are kept in the fallback file meanwhile"
    )


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 0.05
    max_delay: float = 5.0
    give_up_after: float = 60.0  # seconds of failed attempts before a batch goes to the fallback file
    write_timeout: float = 15.0  # per attempt (a black-holed connection must not hang the writer)

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)


@dataclass
class Stats:
    queued: int = 0
    written: int = 0  # new rows (or updates)
    duplicates: int = 0  # records whose key was already stored (a retried or re-imported write)
    batches: int = 0
    retries: int = 0
    to_fallback: int = 0
    imported: int = 0  # records re-imported from the fallback file
    spooled: int = 0  # records appended to the spool (spool mode), or imported from it (a writer)
    last_error: str = ""
    lost: int = 0  # records that could be written nowhere (not even the fallback file)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.written} written, {self.duplicates} duplicate(s), {self.to_fallback} to the fallback file, "
            f"{self.lost} lost"
        )


class AuditLog:
    """The audit writer one process shares (bot, TUI, watchers, CLI)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: AsyncEngine | None = None,
        fallback_path: Path | None = None,
        batch_size: int = 200,
        retry: RetryPolicy | None = None,
        auto_migrate: bool = False,
        migrate_apart: bool = False,
        max_pending: int = 100_000,
        on_warning: Callable[[str], None] | None = None,
        engine_options: dict[str, Any] | None = None,
        spool: bool = False,
        spool_path: Path | None = None,
        replay_interval: float = 30.0,
        stream: str | None = None,
    ):
        if url is None:
            from . import db

            url = engine.url.render_as_string(hide_password=False) if engine else db.resolve_url()
        self.url = url
        if fallback_path is None:
            from . import db

            fallback_path = db.fallback_path()
        self.fallback_path = fallback_path
        self.spool = spool
        self.spool_path = spool_path or spooling.spool_path(fallback_path, url)
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.auto_migrate = auto_migrate
        self.migrate_apart = migrate_apart  # a long-lived process: Alembic in a child (kubewhy/audit/revision.py)
        self.stats = Stats()
        self._engine = engine
        self._owns_engine = engine is None
        self._engine_options = engine_options or {}
        self._queue: asyncio.Queue[Record] = asyncio.Queue(maxsize=max_pending)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._on_warning = on_warning
        self._ready = asyncio.Event()  # set once start-up work (migration, fallback re-import) is done
        self._spilled = False  # records went to the fallback file since the last re-import
        self._driver_missing = False  # said once: the database driver is not installed
        self._in_flight: list[Record] = []  # the batch being written (aclose() keeps it if the write hangs)
        self.replay_interval = replay_interval
        self.stream = stream or chaining.default_stream()  # this writer's hash chain (.chain)
        self._head_logged: datetime | None = None

    # ------------------------------------------------------------------------------------------ recording

    def record(self, record: Record) -> uuid.UUID:
        """Queue one record; never blocks, never raises. Returns its idempotency key."""
        if self.spool:
            self._to_spool(record.model_dump(mode="json"), lambda: [record])
            return record.key
        if self._closed:
            self._spill([record], "audit log closed")
            return record.key
        try:
            self._ensure_started()
            self._queue.put_nowait(record)
            self.stats.queued += 1
        except asyncio.QueueFull:
            self._spill([record], f"more than {self._queue.maxsize} records waiting", replay=True)
        except RuntimeError as exc:  # no running event loop: write it down for the next start
            self._spill([record], str(exc))
        return record.key

    def record_diagnosis(
        self,
        report: Report,
        *,
        actor: str = "",
        source: str = "cli",
        channel: str | None = None,
        incident: str | None = None,
    ) -> uuid.UUID:
        if self.spool:  # the CLI's path: no pydantic
            data = spooling.diagnosis(report, actor=actor, source=source, channel=channel, incident=incident)

            def as_records() -> list[Record]:
                from .records import RECORD_ADAPTER

                return [RECORD_ADAPTER.validate_python(data)]

            self._to_spool(data, as_records)
            return uuid.UUID(data["key"])
        from .records import DiagnosisRecord

        return self.record(
            DiagnosisRecord.from_report(report, actor=actor, source=source, channel=channel, incident=incident)
        )

    def _to_spool(self, data: dict[str, Any], as_records: Callable[[], list[Record]]) -> None:
        try:
            self.stats.spooled += spooling.append_lines(self.spool_path, [spooling.line(data)])
            self.stats.queued += 1
        except OSError as exc:  # the spool cannot be written: the fallback file is the last resort
            self._spill(as_records(), f"cannot write the spool {self.spool_path}: {exc}")

    def record_alert(self, *, rule: str, fingerprint: str, state: str = "firing", **fields: Any) -> uuid.UUID:
        from .records import AlertRecord

        return self.record(AlertRecord(rule=rule, fingerprint=fingerprint, state=state, **fields))  # type: ignore

    def record_fix_proposed(self, fix: Fix | None = None, *, playbook_id: str, **fields: Any) -> uuid.UUID:
        if fix is not None:
            fields = {
                "title": fix.title,
                "command": fix.command,
                "risk": fix.risk,
                "patch": fix.patch.to_dict() if fix.patch else None,
                **fields,
            }
        from .records import FixProposed

        return self.record(FixProposed(playbook_id=playbook_id, **fields))

    def record_fix_event(
        self, proposal_key: uuid.UUID, event: FixEventKind, *, actor: str = "", **fields: Any
    ) -> uuid.UUID:
        from .records import FixEvent

        return self.record(FixEvent(proposal_key=proposal_key, event=event, actor=actor, **fields))

    def record_action(self, action: str, *, actor: str = "", source: str = "cli", **fields: Any) -> uuid.UUID:
        """A button clicked or a view opened (target_kind/target_namespace/target_name, channel, details)."""
        from .records import ActionRecord

        return self.record(ActionRecord(action=action, actor=actor, source=source, **fields))

    def open_incident(self, ref: str, title: str, **fields: Any) -> uuid.UUID:
        from .records import IncidentOpened

        return self.record(IncidentOpened(ref=ref, title=title, **fields))

    def resolve_incident(self, ref: str, **fields: Any) -> uuid.UUID:
        from .records import IncidentResolved

        return self.record(IncidentResolved(ref=ref, **fields))

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def display_url(self) -> str:
        """The database URL without its password, for messages."""
        from . import db

        return db.display_url(self.url)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            from . import db

            try:
                self._engine = db.make_engine(self.url, **self._engine_options)
            except ImportError as exc:  # the driver is not installed: a clear, permanent error, never retried
                raise MissingDriver(f"audit database {self.display_url}: {missing_driver(exc, self.url)}") from None
        return self._engine

    def _ensure_started(self) -> None:
        if self.spool:
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kubewhy-audit-writer")

    async def start(self) -> None:
        """Start the writer now (otherwise the first record does); migrates and re-imports in the background."""
        self._ensure_started()

    async def ready(self) -> None:
        """Wait until the writer's start-up work is done (the schema at head, the fallback file and the spool
        imported), not for the records queued: another store on the same database may be used from then on (the
        bot's trust store during a storm must not wait behind hundreds of queued records)."""
        if self._task is None and not self._closed:
            self._ensure_started()
        if self._task is not None:
            await self._ready.wait()

    async def flush(self) -> None:
        """Wait until everything queued so far has been written (or sent to the fallback file). Starts the
        writer if nothing has yet, so what the fallback file and the spool hold is imported first (a query that
        follows sees it)."""
        if self._task is None and not self._closed:
            self._ensure_started()
        if self._task is not None:
            await self._ready.wait()
            await self._queue.join()

    async def aclose(self, timeout: float | None = 30.0) -> None:
        """Flush, then stop. What cannot be written within ``timeout`` seconds goes to the fallback file."""
        if self._closed:
            return
        if self._task is not None:
            try:
                await asyncio.wait_for(self.flush(), timeout)
            except TimeoutError:
                self._warn(
                    f"audit: database {self.display_url} did not take the records in time; "
                    f"they are kept in {self.fallback_path}"
                )
            in_flight = list(self._in_flight)
            self._task.cancel()
            # a write stuck on a locked or unreachable database may take its driver's timeout to notice the
            # cancellation: do not wait for it, keep its batch now (the keys make a later duplicate harmless)
            await asyncio.wait({self._task}, timeout=CANCEL_TIMEOUT)
            if not self._task.done() and in_flight:
                self._spill(in_flight, "cancelled at shutdown")
                self._in_flight = []
        self._closed = True
        leftover: list[Record] = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
            self._queue.task_done()
        self._spill(leftover, "not written before shutdown")
        if self._engine is not None and self._owns_engine:
            try:  # a connection stuck on a locked or unreachable database must not hold the shutdown
                await asyncio.wait_for(self._engine.dispose(), DISPOSE_TIMEOUT)
            except TimeoutError:
                log.warning("audit: closing the connections to %s timed out", self.display_url)

    async def __aenter__(self) -> AuditLog:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------------------------------ the writer

    async def _run(self) -> None:
        try:
            if self.auto_migrate:
                await self._migrate()
            await self._import_fallback()
            await self._import_fallback(spool=True)
            legacy = spooling.legacy_spool_path(self.fallback_path, self.url)
            if legacy is not None and legacy != self.spool_path:  # spooled by a kubewhy before issue 25
                await self._import_fallback(spool=True, path=legacy)
        except Exception as exc:  # noqa: BLE001 - start-up trouble must not stop the writer
            self._warn(f"audit: start-up failed: {exc}")
        finally:
            self._ready.set()
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), self.replay_interval if self._spilled else None)
            except TimeoutError:  # quiet since the outage: bring back what this process spilled
                await self._replay_spilled()
                continue
            batch = [first]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                written = await self._write_with_retry(batch)
                if written and self._spilled:  # the database is back: so are the records spilled meanwhile
                    await self._replay_spilled()
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _replay_spilled(self) -> None:
        """Re-import the fallback file while running (not only at the next start)."""
        self._spilled = False
        try:
            await self._import_fallback(replay=True)
        except Exception as exc:  # noqa: BLE001 - the file stays for the next attempt or start
            self._warn(f"audit: re-importing {self.fallback_path} failed: {exc}")

    async def _migrate(self) -> None:
        """The database at head before the first write: one query when it is there already; else Alembic, in a
        child process for a long-lived writer on a file or a server (kubewhy/audit/revision.py)."""
        from . import revision

        if await revision.at_head(self.engine):
            return
        apart = self.migrate_apart and not in_memory(self.url)
        deadline = asyncio.get_running_loop().time() + self.retry.give_up_after
        attempt = 0
        while True:
            try:
                if await (revision.migrate_in_child(self.url) if apart else self._ensure_head()):
                    log.info("audit: database upgraded to %s", revision.HEAD)
                return
            except Exception as exc:  # noqa: BLE001 - reported, then records go through the normal path
                attempt += 1
                delay = self.retry.delay(attempt)
                child = exc if isinstance(exc, revision.ChildMigrationError) else None
                if isinstance(exc, revision.UnknownRevision) or (child and child.unknown):  # waiting cannot help
                    self._warn(f"audit: {exc}")
                    return
                missing = child.missing if child else missing_driver(exc, self.url)
                if missing is not None:  # neither can it install a driver
                    self._driver_missing = True
                    self._warn(f"audit: {missing}")
                    return
                transient = child.transient if child else is_transient(exc)
                if not transient or asyncio.get_running_loop().time() + delay > deadline:
                    self._warn(f"audit: could not bring {self.display_url} to the latest schema: {exc}")
                    return
                await asyncio.sleep(delay)

    async def _ensure_head(self) -> bool:
        from . import migrate

        return await migrate.ensure_head(self.engine)

    async def _import_fallback(self, spool: bool = False, replay: bool = False, path: Path | None = None) -> None:
        """Import the fallback file (reported: those records could not be written), or the spool (silently:
        that is where a spooling process's records are meant to wait). ``replay``: this process's own spills,
        after the database came back."""
        from . import fallback

        path = path or (self.spool_path if spool else self.fallback_path)
        try:
            taken = await asyncio.to_thread(fallback.take, path)
        except OSError as exc:
            self._warn(f"audit: cannot read the {'spool' if spool else 'fallback'} file {path}: {exc}")
            return
        if not taken.files:
            return
        if spool:
            self.stats.spooled += len(taken.records)
        elif replay:
            log.info(
                "audit: the database is back; re-importing %d record(s) from %s", len(taken.records), self.fallback_path
            )
        else:
            self._warn(
                f"audit: {len(taken.records)} record(s) could not be written earlier and were kept in "
                f"{self.fallback_path}; re-importing them"
            )
        for line in taken.unreadable:
            self._warn(f"audit: unreadable fallback line kept for a human: {line}")
        before = self.stats.to_fallback
        for i in range(0, len(taken.records), self.batch_size):
            await self._write_with_retry(taken.records[i : i + self.batch_size])
        self.stats.imported += len(taken.records) - (self.stats.to_fallback - before)
        fallback.done(taken)

    async def _write_with_retry(self, batch: Sequence[Record]) -> bool:
        """True when the batch reached the database (False: it went to the fallback file)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry.give_up_after
        attempt = 0
        self._in_flight = list(batch)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.retry.write_timeout):
                        new = await self._write(batch)
                except Exception as exc:  # noqa: BLE001 - sorted into transient or not below
                    self.stats.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    missing = missing_driver(exc, self.url)
                    if missing is not None:  # permanent, and the same for every record: say it once, keep them
                        if not self._driver_missing:
                            self._driver_missing = True
                            self._warn(f"audit: {missing}")
                        self._spill(batch, missing)
                        return False
                    if not is_transient(exc):
                        await self._write_one_by_one(batch, exc)
                        return True
                    attempt += 1
                    self.stats.retries += 1
                    delay = self.retry.delay(attempt)
                    if loop.time() + delay > deadline:
                        self._spill(batch, self.stats.last_error, replay=True)
                        return False
                    log.debug("audit: write failed (%s); retry %d in %.2fs", self.stats.last_error, attempt, delay)
                    await self._reset_pool()
                    await asyncio.sleep(delay)
                else:
                    self.stats.batches += 1
                    self.stats.written += new
                    self.stats.duplicates += max(0, len(batch) - new)
                    return True
        except asyncio.CancelledError:  # aclose() ran out of time: keep the batch (keys make re-import safe)
            if self._in_flight:  # unless aclose() already did, not waiting for this
                self._spill(batch, "cancelled at shutdown")
            raise
        finally:
            self._in_flight = []

    async def _write_one_by_one(self, batch: Sequence[Record], error: BaseException) -> None:
        """Isolate the record the database rejects; the others are written."""
        if len(batch) == 1:
            self._spill(batch, f"rejected by the database: {error}")
            return
        for record in batch:
            await self._write_with_retry([record])

    async def _write(self, batch: Sequence[Record]) -> int:
        from . import db, store

        async with db.make_sessionmaker(self.engine)() as session:  # one session per batch
            async with session.begin():
                new = await store.write_records(session, batch, stream=self.stream)
            self._log_head(session.info.get("chain_head"))
            return new

    def _log_head(self, head: tuple[str, int, str] | None, every: timedelta = HEAD_LOG_INTERVAL) -> None:
        """Export the chain's head now and then (a log line kept outside the database shows a deleted tail)."""
        now = datetime.now(UTC)
        if head is None or (self._head_logged is not None and now - self._head_logged < every):
            return
        self._head_logged = now
        log.info("audit chain head: stream %s seq %d sha256 %s", *head)

    async def _reset_pool(self) -> None:
        """After a connection-level failure, drop pooled connections (they may point at a dead server)."""
        if self._engine is None:
            return
        try:
            async with asyncio.timeout(1.0):
                await self._engine.dispose()
        except Exception:  # noqa: BLE001 - best effort
            pass

    def _spill(self, records: Sequence[Record], error: str, *, replay: bool = False) -> None:
        """To the fallback file. ``replay``: the database was unavailable, so this process re-imports them once
        it is back (a rejected record waits for a human instead)."""
        if not records:
            return
        from . import fallback

        try:
            self.stats.to_fallback += fallback.append(self.fallback_path, records, error)
            self._spilled = self._spilled or (replay and not self._closed)
        except OSError as exc:  # nowhere left: say so loudly, with the records
            self.stats.lost += len(records)
            self._warn(
                f"audit: LOST {len(records)} record(s): cannot write {self.fallback_path}: {exc}; "
                f"database error: {error}"
            )
            for r in records:
                log.error("audit: lost record %s", r.model_dump_json())
            return
        self._warn(
            f"audit: {len(records)} record(s) kept in {self.fallback_path} ({error}); "
            f"they are re-imported at the next start"
        )

    def _warn(self, message: str) -> None:
        """Said once: to ``on_warning`` when the front-end shows warnings itself (the CLI), else to the log."""
        self.stats.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)
        else:
            log.warning("%s", message)

    # ------------------------------------------------------------------------------------------ queries

    async def prune(self, older_than: timedelta, *, now: datetime | None = None) -> dict[str, int]:
        from . import changelog, db, store

        cutoff = (now or datetime.now(UTC)) - older_than
        async with db.make_sessionmaker(self.engine)() as session:
            async with session.begin():
                counts = await store.prune(session, cutoff)
                counts["audit_chain"] = await chaining.cut(session, cutoff)
                counts["change_log"] = await changelog.prune_rows(session, cutoff)
        log.info("audit: pruned rows older than %s: %s", cutoff.isoformat(), counts)
        return counts

    async def verify_chain(self) -> chaining.ChainReport:
        """Walk the hash chain of every stream (``kubewhy audit verify``): the first broken link of each."""
        from . import db

        async with db.make_sessionmaker(self.engine)() as session:
            return await chaining.verify(session)


__all__ = ["AuditLog", "RetryPolicy", "Stats", "is_transient"]
