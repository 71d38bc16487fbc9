"""The change log table: the watchers' changes kept and read back by subject and time, pruned by age, and no value
of a ConfigMap or a Secret in the database file."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubewhy.audit import db, migrate
from kubewhy.audit.changelog import ChangeLog
from kubewhy.changes.record import version_change
from kubewhy.redact import redact_object

from .objects import SECRET_PLAIN, cluster

KEY = b"change-log-key-kept-outside-the-db"
AT = datetime(2024, 6, 14, 10, tzinfo=UTC)


def test_changes_are_kept_read_back_and_pruned_without_a_value(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"

    async def run() -> None:
        engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(engine)
            log = ChangeLog(engine)
            objects = cluster("config")
            cm_old = next(o for o in objects if o["kind"] == "ConfigMap")
            cm_new = copy.deepcopy(cm_old)
            cm_new["data"] = {"LOG_LEVEL": "debug"}
            secret_old = redact_object(copy.deepcopy(next(o for o in objects if o["kind"] == "Secret")))
            secret_raw = copy.deepcopy(next(o for o in objects if o["kind"] == "Secret"))
            secret_raw["data"]["extra"] = base64.b64encode(SECRET_PLAIN.encode()).decode()
            secret_new = redact_object(secret_raw)
            changes = [
                version_change(cm_old, cm_new, KEY, AT),
                version_change(secret_old, secret_new, KEY, AT + timedelta(minutes=1)),
            ]
            assert await log.add(c.to_dict() for c in changes if c is not None) == 2
            rows = await log.between(["configmap/app/web-config"], AT - timedelta(hours=1), AT + timedelta(hours=1))
            assert [(r["subject"], r["details"]) for r in rows] == [
                ("configmap/app/web-config", ["data keys changed: LOG_LEVEL"])
            ]
            assert set(rows[0]["digests"]) == {"LOG_LEVEL"}
            assert await log.between(["secret/app/web-creds"], AT + timedelta(hours=1), AT + timedelta(hours=2)) == []
            assert await log.prune(timedelta(hours=1), now=AT + timedelta(minutes=61)) == 1  # the ConfigMap's
            left = await log.between(
                ["configmap/app/web-config", "secret/app/web-creds"], AT - timedelta(days=1), AT + timedelta(days=1)
            )
            assert [r["subject"] for r in left] == ["secret/app/web-creds"]
        finally:
            await engine.dispose()

    asyncio.run(run())
    stored = path.read_bytes()
    for plain in (SECRET_PLAIN, "debug"):
        for form in (plain, base64.b64encode(plain.encode()).decode(), hashlib.sha256(plain.encode()).hexdigest()):
            assert form.encode() not in stored, form


def test_the_diagnosis_and_the_merge_take_the_logged_key_removal_over_the_apis_reading(tmp_path: Path) -> None:
    """The API says only that kubectl-edit wrote the ConfigMap's data; the watchers' log says which key went. The
    diagnosis blames the logged change and does not list the API's reading of the same write beside it."""
    from kubewhy.adapters.kube_snapshot import SnapshotKube
    from kubewhy.audit.writer import AuditLog
    from kubewhy.changes.evidence import ID
    from kubewhy.changes.model import Change
    from kubewhy.changes.stored import merge
    from kubewhy.models.target import parse_target
    from kubewhy.playbooks.loader import load_dirs
    from kubewhy.service import Deps, diagnose

    written = datetime(2024, 6, 14, 9, 39, tzinfo=UTC)  # the ConfigMap's managedFields time in the "config" case
    removal = version_change(
        {"kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": "app"}, "data": {"LOG_LEVEL": "x"}},
        {"kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": "app"}, "data": {}},
        KEY,
        written + timedelta(seconds=2),
    )
    assert removal is not None

    async def run() -> list[str]:
        engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
        await migrate.upgrade(engine)
        await ChangeLog(engine).add([removal.to_dict()])
        audit = AuditLog(engine=engine, fallback_path=tmp_path / "fallback.jsonl")
        kube = SnapshotKube([], objects=cluster("config"))
        try:
            deps = Deps(kube=kube, catalog=load_dirs([]), clock=kube.clock, audit=audit)
            report = await diagnose(parse_target("pod/app/web-bbb222-x1"), deps)
        finally:
            await audit.aclose()
            await engine.dispose()
        (found,) = [f for f in report.findings if f.id == ID]
        return list(found.evidence)

    evidence = asyncio.run(run())
    assert evidence[0].startswith("likely cause, ") and "data keys removed: LOG_LEVEL" in evidence[0], evidence
    assert not any("kubectl-edit" in e and "configmap/app/web-config" in e for e in evidence), evidence

    # merge: an event and a condition are facts of their own; another write of the object (3 min away) stays
    api = [
        Change(written, "configmap/app/web-config", "kubectl-edit wrote data.LOG_LEVEL", ("config",)),
        Change(written, "configmap/app/web-config", "Killing", (), operation="event"),
        Change(written - timedelta(minutes=3), "configmap/app/web-config", "helm wrote data", ("config",)),
    ]
    merged = merge(api, [removal])
    assert [c.summary for c in merged] == ["helm wrote data", "Killing", removal.summary]


def test_the_recorder_is_bounded_and_writes_in_batches(tmp_path: Path) -> None:
    """Beyond ``max_pending`` the oldest change is dropped and counted; a flush writes everything queued, ``BATCH``
    rows per transaction; nothing is recorded before the first LIST ends, nor by a replica that does not lead."""
    from kubewhy.changes import recorder as rec
    from kubewhy.watch.informer import Change as Update
    from kubewhy.watch.informer import Informer

    leading = [True]
    batches: list[int] = []

    class Counted(ChangeLog):
        async def add(self, changes: Any) -> int:
            rows = list(changes)
            batches.append(len(rows))
            return await super().add(rows)

    async def run() -> tuple[dict[str, int], int, int]:
        engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
        await migrate.upgrade(engine)
        try:
            recorder = rec.ChangeRecorder(
                Counted(engine), KEY, clock=lambda: AT, recording=lambda: leading[0], max_pending=5
            )
            informer = Informer(None, "ConfigMap", project=rec.projection("ConfigMap", KEY))  # type: ignore[arg-type]
            recorder.attach(informer)

            def edit(i: int) -> None:
                old = {"metadata": {"name": "c", "namespace": "n"}, "data": {f"k{i}": "v"}}
                new = {"metadata": {"name": "c", "namespace": "n"}, "data": {f"k{i + 1}": "v"}}
                informer._emit(Update("MODIFIED", ("n", "c"), informer.project(old), informer.project(new)))

            edit(0)  # during the first LIST: state, not news
            informer.synced.set()
            leading[0] = False
            edit(1)  # a follower records nothing
            leading[0] = True
            for i in range(2, 9):
                edit(i)
            queued = len(recorder.pending)
            rec.BATCH, batch = 2, rec.BATCH
            try:
                written = await recorder.flush()
            finally:
                rec.BATCH = batch
            return recorder.stats, queued, written
        finally:
            await engine.dispose()

    stats, queued, written = asyncio.run(run())
    assert (queued, written, stats["dropped"], stats["written"]) == (5, 5, 2, 5)
    assert batches == [2, 2, 1] and stats["errors"] == 0
