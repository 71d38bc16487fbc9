"""The spool: records a short-lived process (``kubewhy why``) made durable without opening the database.

Importing SQLAlchemy, the database driver and the schema costs a ``kubewhy why`` more than the diagnosis itself,
so in spool mode (:class:`kubewhy.audit.AuditLog` with ``spool=True``) a record is appended to this file, flushed
and ``fsync``-ed before the call returns: it is on disk before the report is printed, whatever happens to the
output or the process afterwards. The next :class:`AuditLog` that starts on the same database (``kubewhy
history``, ``postmortem``, ``incident``, ``db``, the bot, …) imports the file, as it imports the fallback file;
every record carries its idempotency key, so a record imported twice (two processes, a crash half-way) is still
stored once.

- One file per database: ``audit-spool-<hash of the database's location>.jsonl`` beside the fallback file (a
  SQLite file's resolved absolute path; a server's user, host, port and database), so a record is never imported
  into another database than the one it was made for, however the URL was written.
- Lines have the fallback file's format (``{"record": …, "at": …}``) and are read by :func:`fallback.take`.
- Records are written whole or not at all: an append that fails (a full disk, a short write) truncates the file
  back to where it began, and an append after a torn tail (a process killed mid-write) starts on a new line,
  so the torn line is the only one lost and the records after it are read.
- Appends take an exclusive ``flock`` and check that the path still names the file they opened; the importer
  renames the file, then takes the same lock before reading. So a record is either in the file the importer
  reads or in a new file the next start reads; none is written into a file already read.

This module imports neither SQLAlchemy nor pydantic: a diagnosis record is written from the report directly,
in exactly the JSON form :class:`~kubewhy.audit.records.DiagnosisRecord` validates (a test compares the two).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ..models.findings import Report


def spool_path(fallback_path: Path, url: str) -> Path:
    """The spool file of database ``url``, beside the fallback file, keyed by where the database is
    (:func:`location`), not by how the URL was written."""
    digest = hashlib.sha256(location(url).encode()).hexdigest()[:16]
    return Path(fallback_path).with_name(f"audit-spool-{digest}.jsonl")


def legacy_spool_path(fallback_path: Path, url: str) -> Path | None:
    """Where kubewhy before issue 25 spooled for ``url`` (a hash of the URL string), when that name was not
    ambiguous (not a relative SQLite path, which named a file in whichever directory ``kubewhy why`` ran in)."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite") and not rest.startswith("//"):
        return None
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(fallback_path).with_name(f"audit-spool-{digest}.jsonl")


def location(url: str) -> str:
    """Where a database URL points, written one way: a SQLite file's resolved absolute path (a relative
    ``sqlite:///audit.db`` is the file in the current directory, which is another database in another
    directory), a server's ``user@host:port/database`` without password or driver."""
    scheme, _, rest = url.partition("://")
    backend = scheme.split("+", 1)[0]
    if backend == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        path = path.split("?", 1)[0]
        if not path or path == ":memory:":
            return "sqlite::memory:"
        return "sqlite:" + str(Path(path).expanduser().resolve())
    parts = urlsplit(url)
    user = parts.username or ""
    port = parts.port or {"postgresql": 5432, "postgres": 5432}.get(backend, 0)
    return f"{'postgresql' if backend == 'postgres' else backend}://{user}@{parts.hostname}:{port}{parts.path}"


def append_lines(path: Path, lines: Iterable[str]) -> int:
    """Append JSON lines under an exclusive lock, then fsync; returns how many were written."""
    text = "".join(line + "\n" for line in lines)
    if not text:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # read: is the last line whole?
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # an importer renamed the file between our open and our lock: use the new one
                continue
            size = os.fstat(fd).st_size
            data = text.encode("utf-8")
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # a torn tail (a process killed mid-write, an older kubewhy on a full disk): end it here, so that
                # this record starts on a line of its own; the torn line alone is unreadable
                data = b"\n" + data
            try:
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except OSError:  # a full disk, a short write: whole records or nothing, never half a line
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
            return text.count("\n")
        finally:
            os.close(fd)  # releases the lock


def lock_for_reading(path: Path) -> int:
    """Wait until no append to ``path`` (a claimed file) is under way; returns the fd holding the lock."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def line(record: dict[str, Any]) -> str:
    return json.dumps({"record": record, "at": now_iso()}, ensure_ascii=False, default=str)


def diagnosis(
    report: Report,
    *,
    actor: str = "",
    source: str = "cli",
    channel: str | None = None,
    incident: str | None = None,
    key: uuid.UUID | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What :meth:`DiagnosisRecord.from_report(...).model_dump(mode="json")` gives, without pydantic."""
    t = report.target
    return {
        "key": str(key or uuid.uuid4()),
        "at": (at or datetime.now(UTC)).isoformat(),
        "type": "diagnosis",
        "actor": actor,
        "source": source,
        "channel": channel,
        "target_kind": t.kind,
        "target_namespace": t.namespace,
        "target_name": t.name,
        "healthy": report.healthy,
        "finding_ids": [f.id for f in report.findings],
        "findings": json.loads(json.dumps([f.to_dict() for f in report.findings], default=str)),
        "duration_ms": round(report.duration_ms, 1),
        "api_requests": report.api_requests,
        "incident": incident,
    }


__all__ = ["append_lines", "diagnosis", "legacy_spool_path", "line", "location", "lock_for_reading", "spool_path"]
