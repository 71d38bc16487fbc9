"""The audit log's hash chain (``audit_chain``): an edited, inserted or deleted audit record shows.

- A **stream** is one writer identity (``KUBEWHY_AUDIT_STREAM``, the host name by default: a pod's name, so each
  replica chains its own records). Each record a writer stores becomes one link: its canonical JSON, the hash of
  the stream's previous link and its own hash, ``sha256(stream, seq, record key, previous hash, body)``.
- Links are appended in the transaction that writes the records, so a record and its link are stored together.
  On Postgres the writer takes a transaction-level advisory lock on its stream before it reads the stream's head;
  on SQLite it takes the database's write lock first (a write that changes nothing). ``(stream, seq)`` is unique
  as well: should two writers still race on one stream, the loser's transaction fails (its records go to the
  fallback file and are chained when re-imported), the chain never forks.
- Spool and fallback records that land late are chained when they land, by the writer that imports them.
- :func:`verify` walks every stream and names the first broken link: a link whose hash or previous hash does not
  match (a link edited or deleted), and a diagnosis, action or fix event row whose columns differ from the record
  its link holds (the audit row edited).

What it cannot show is in docs/security.md: a database administrator who recomputes every hash after an edit,
and a deleted tail of a stream, unless the heads (:func:`heads`, ``kubewhy audit verify``) were kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SQLAlchemy is imported when first needed: a spooling process (kubewhy why) never imports it
    from sqlalchemy.ext.asyncio import AsyncSession

    from .models import ChainLink
    from .records import Record

log = logging.getLogger("kubewhy.audit")

ENV_STREAM = "KUBEWHY_AUDIT_STREAM"
GENESIS = "0" * 64
PAGE = 500

# the append-only tables whose rows are compared with the record their link holds: (table, model, the record's
# ``at`` column); the other tables hold state that moves on (a proposal approved, an alert resolved)
CHECKED: dict[str, tuple[str, str, str]] = {
    "diagnosis": ("diagnoses", "Diagnosis", "created_at"),
    "action": ("actions", "Action", "created_at"),
    "fix_event": ("fix_events", "FixEventRow", "created_at"),
}


def default_stream(named: str = "") -> str:
    """This writer's stream: ``named`` (``KUBEWHY_AUDIT_STREAM``, read by kubewhy.settings), else the host name (a
    pod's name)."""
    return (named or socket.gethostname() or "kubewhy")[:200]


def canonical(record: Record) -> str:
    """The bytes that are hashed: the record as JSON, keys sorted, no spaces, ASCII only."""
    return json.dumps(record.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def link_hash(stream: str, seq: int, record_key: uuid.UUID | str, prev_hash: str, body: str) -> str:
    material = "\n".join((stream, str(seq), str(record_key), prev_hash, body))
    return hashlib.sha256(material.encode()).hexdigest()


def _lock_id(stream: str) -> int:
    return int.from_bytes(hashlib.sha256(b"kubewhy-audit-chain:" + stream.encode()).digest()[:8], "big", signed=True)


async def append(session: AsyncSession, stream: str, records: Sequence[Record]) -> int:
    """Chain ``records`` (those not chained yet: a retried batch is chained once) at the head of ``stream``, in the
    caller's transaction. Returns how many links were added."""
    from sqlalchemy import select, text

    from .models import ChainLink

    if not records:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(stream)})
    elif dialect == "sqlite":  # take the write lock before reading the head (a write that changes nothing)
        await session.execute(text("UPDATE audit_chain SET seq = seq WHERE 0 = 1"))
    keys = [r.key for r in records]
    known = set((await session.execute(select(ChainLink.record_key).where(ChainLink.record_key.in_(keys)))).scalars())
    head = (
        await session.execute(
            select(ChainLink.seq, ChainLink.hash).where(ChainLink.stream == stream).order_by(ChainLink.seq.desc())
        )
    ).first()
    seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS)
    now = datetime.now(UTC)
    added = 0
    for record in records:
        if record.key in known:
            continue
        known.add(record.key)
        seq += 1
        body = canonical(record)
        digest = link_hash(stream, seq, record.key, prev, body)
        session.add(
            ChainLink(
                stream=stream,
                seq=seq,
                record_key=record.key,
                kind=record.type,
                body=body,
                prev_hash=prev,
                hash=digest,
                created_at=now,
            )
        )
        prev = digest
        added += 1
    await session.flush()
    session.info["chain_head"] = (stream, seq, prev)  # for the writer's periodic head log line
    return added


@dataclass(frozen=True)
class Break:
    """The first broken link of a stream: the ``audit_chain`` row, and the audit row when that is what was edited."""

    stream: str
    link_id: int
    seq: int
    record_key: str
    reason: str
    table: str = "audit_chain"
    row_id: int | None = None

    def describe(self) -> str:
        where = f"{self.table} row {self.row_id}" if self.row_id is not None else f"audit_chain row {self.link_id}"
        return (
            f"stream {self.stream}: link {self.seq} (audit_chain row {self.link_id}, record {self.record_key}) "
            f"is broken at {where}: {self.reason}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "link_id": self.link_id,
            "seq": self.seq,
            "record_key": self.record_key,
            "table": self.table,
            "row_id": self.row_id,
            "reason": self.reason,
        }


@dataclass
class StreamReport:
    stream: str
    links: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: Break | None = None
    missing_rows: int = 0  # chained records whose audit row is gone (pruned): not a break

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "links": self.links,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "missing_rows": self.missing_rows,
            "broken": self.broken.to_dict() if self.broken else None,
        }


@dataclass
class ChainReport:
    streams: list[StreamReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.broken is None for s in self.streams)

    @property
    def first_break(self) -> Break | None:
        return next((s.broken for s in self.streams if s.broken is not None), None)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "streams": [s.to_dict() for s in self.streams]}


def _normal(value: Any) -> Any:
    """A column value as the record's JSON holds it."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _same_instant(a: Any, b: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(a)) == b
    except ValueError:
        return False


def _row_differs(body: dict[str, Any], row: Any, at_column: str) -> str | None:
    """The first column of ``row`` that is not what the chained record says, or None."""
    if not _same_instant(body.get("at"), getattr(row, at_column)):
        return at_column
    for name, value in body.items():
        if name in ("type", "at", "incident", "key") or not hasattr(row, name):
            continue
        if _normal(getattr(row, name)) != value:
            return name
    return None


async def _check_rows(session: AsyncSession, links: list[ChainLink], report: StreamReport) -> Break | None:
    from sqlalchemy import select

    from . import models

    by_kind: dict[str, list[ChainLink]] = {}
    for link in links:
        if link.kind in CHECKED:
            by_kind.setdefault(link.kind, []).append(link)
    found: list[Break] = []
    for kind, group in by_kind.items():
        table, model_name, at_column = CHECKED[kind]
        model = getattr(models, model_name)
        rows = {
            r.key: r
            for r in (
                await session.execute(select(model).where(model.key.in_([g.record_key for g in group])))
            ).scalars()
        }
        for link in group:
            row = rows.get(link.record_key)
            if row is None:
                report.missing_rows += 1
                continue
            column = _row_differs(json.loads(link.body), row, at_column)
            if column is not None:
                reason = f"{table}.{column} differs from the chained record"
                found.append(Break(link.stream, link.id, link.seq, str(link.record_key), reason, table, row.id))
                break
    return min(found, key=lambda b: b.seq) if found else None


async def verify(session: AsyncSession) -> ChainReport:
    """Walk each stream from its first link; each stream's report names its first broken link."""
    from sqlalchemy import select

    from .models import ChainCheckpoint, ChainLink

    report = ChainReport()
    checkpoints = {c.stream: c for c in (await session.execute(select(ChainCheckpoint))).scalars()}
    streams = await session.execute(select(ChainLink.stream).group_by(ChainLink.stream).order_by(ChainLink.stream))
    for stream in list(streams.scalars()):
        sr = StreamReport(stream)
        report.streams.append(sr)
        prev, expected, after = GENESIS, 1, 0
        if (checkpoint := checkpoints.get(stream)) is not None:  # retention cut the links up to the checkpoint
            prev, expected, after = checkpoint.hash, checkpoint.seq + 1, checkpoint.seq
        while sr.broken is None:
            page = list(
                (
                    await session.execute(
                        select(ChainLink)
                        .where(ChainLink.stream == stream, ChainLink.seq > after)
                        .order_by(ChainLink.seq)
                        .limit(PAGE)
                    )
                ).scalars()
            )
            if not page:
                break
            for link in page:
                reason = None
                if link.seq != expected:
                    reason = f"link {expected} is missing (the next is {link.seq})"
                elif link.prev_hash != prev:
                    reason = "its previous hash is not the hash of the link before it"
                elif link_hash(stream, link.seq, link.record_key, link.prev_hash, link.body) != link.hash:
                    reason = "its hash does not match its record"
                if reason is not None:
                    sr.broken = Break(stream, link.id, link.seq, str(link.record_key), reason)
                    break
                prev, expected = link.hash, link.seq + 1
                sr.links += 1
                sr.head_seq, sr.head_hash = link.seq, link.hash
            row_break = await _check_rows(session, [x for x in page if sr.broken is None or x.seq < sr.broken.seq], sr)
            if row_break is not None and (sr.broken is None or row_break.seq < sr.broken.seq):
                sr.broken = row_break
            after = page[-1].seq
    return report


async def cut(session: AsyncSession, cutoff: datetime) -> int:
    """Retention: delete each stream's links chained before ``cutoff`` (a prefix of the stream), recording the last
    one deleted as the stream's checkpoint (logged too), in the caller's transaction. Returns the links deleted."""
    from sqlalchemy import delete, func, select

    from .models import ChainCheckpoint, ChainLink

    deleted = 0
    ends = await session.execute(
        select(ChainLink.stream, func.max(ChainLink.seq))
        .where(ChainLink.created_at < cutoff)
        .group_by(ChainLink.stream)
    )
    for stream, seq in ends.all():
        last = (
            await session.execute(select(ChainLink.hash).where(ChainLink.stream == stream, ChainLink.seq == seq))
        ).scalar_one()
        result = await session.execute(delete(ChainLink).where(ChainLink.stream == stream, ChainLink.seq <= seq))
        deleted += int(getattr(result, "rowcount", 0) or 0)
        checkpoint = await session.get(ChainCheckpoint, stream)
        now = datetime.now(UTC)
        if checkpoint is None:
            session.add(ChainCheckpoint(stream=stream, seq=seq, hash=last, cut_at=now))
        else:
            checkpoint.seq, checkpoint.hash, checkpoint.cut_at = seq, last, now
        log.info("audit chain cut: stream %s at seq %d sha256 %s", stream, seq, last)
    await session.flush()
    return deleted


async def heads(session: AsyncSession) -> dict[str, tuple[int, str]]:
    """Each stream's last link (seq, hash): what to keep outside the database to detect a deleted tail."""
    from sqlalchemy import func, select

    from .models import ChainLink

    last = select(ChainLink.stream, func.max(ChainLink.seq).label("seq")).group_by(ChainLink.stream).subquery()
    rows = await session.execute(
        select(ChainLink.stream, ChainLink.seq, ChainLink.hash).join(
            last, (ChainLink.stream == last.c.stream) & (ChainLink.seq == last.c.seq)
        )
    )
    return {s: (q, h) for s, q, h in rows.all()}


__all__ = [
    "Break",
    "ChainReport",
    "cut",
    "ENV_STREAM",
    "GENESIS",
    "StreamReport",
    "append",
    "canonical",
    "default_stream",
    "heads",
    "link_hash",
    "verify",
]
