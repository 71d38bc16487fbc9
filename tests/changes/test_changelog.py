"""The change log table: the watchers' changes kept and read back by subject and time, pruned by age, and no value
of a ConfigMap or a Secret in the database file."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
