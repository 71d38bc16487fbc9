"""The local JSON-lines file for records the database would not take (one ``{"record", "error", "at"}`` a line).

Appends are synchronous and small. Taking the file for re-import renames it first, so two processes sharing it
never import the same lines twice (and if they did, the idempotency keys would keep the rows single).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import spool

if TYPE_CHECKING:
    from .records import Record


def append(path: Path, records: Iterable[Record], error: str) -> int:
    """Append records (locked and fsync-ed, as :func:`spool.append_lines`)."""
    at = datetime.now(UTC).isoformat()
    return spool.append_lines(
        path, [json.dumps({"record": r.model_dump(mode="json"), "error": error, "at": at}) for r in records]
    )


def pending(path: Path) -> int:
    """How many records wait in the file (and in files a crashed import left behind)."""
    total = 0
    for p in [path, *path.parent.glob(path.name + ".importing-*")]:
        if p.exists():
            with p.open(encoding="utf-8") as fh:
                total += sum(1 for line in fh if line.strip())
    return total


@dataclass
class Taken:
    records: list[Record] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file:line: reason"


def take(path: Path) -> Taken:
    """Claim the file (rename) and parse it; call :func:`done` after the records are stored."""
    from pydantic import ValidationError

    from .records import RECORD_ADAPTER

    taken = Taken()
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        claimed = path.with_name(f"{path.name}.importing-{os.getpid()}-{stamp}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another process took it first
            pass
    for p in sorted(path.parent.glob(path.name + ".importing-*")) if path.parent.exists() else []:
        try:
            lock = spool.lock_for_reading(p)  # an append that opened the file before the rename finishes first
        except FileNotFoundError:  # another importer finished with it
            continue
        taken.files.append(p)
        with os.fdopen(lock, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    taken.records.append(RECORD_ADAPTER.validate_python(json.loads(line)["record"]))
                except (ValueError, KeyError, TypeError, ValidationError) as exc:
                    taken.unreadable.append(f"{p}:{n}: {str(exc).splitlines()[0]}")
    return taken


def done(taken: Taken) -> None:
    for p in taken.files:
        if taken.unreadable:  # keep what we could not parse, for a human
            p.rename(p.with_name(p.name.replace(".importing-", ".unreadable-")))
        else:
            p.unlink(missing_ok=True)
