"""The local JSON-lines file for records the database would not take (one ``{"record", "error", "at"}`` a line).

Appends are synchronous and small. Taking the file for re-import renames it first, so two processes sharing it
never import the same lines twice (and if they did, the idempotency keys would keep the rows single).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .records import RECORD_ADAPTER, Record, utcnow


def append(path: Path, records: Iterable[Record], error: str) -> int:
    lines = [json.dumps({"record": r.model_dump(mode="json"), "error": error, "at": utcnow().isoformat()})
             for r in records]
    if not lines:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return len(lines)


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
    taken = Taken()
    if path.exists():
        claimed = path.with_name(f"{path.name}.importing-{os.getpid()}-{utcnow().strftime('%Y%m%dT%H%M%S%f')}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another process took it first
            pass
    for p in sorted(path.parent.glob(path.name + ".importing-*")) if path.parent.exists() else []:
        taken.files.append(p)
        with p.open(encoding="utf-8") as fh:
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
