"""What a front-end may believe, kept in the audit database (kubewhy.audit.trust): replay keys expire, posted
messages are found again by a new process, and old ones are pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubewhy.app import Kubewhy
from kubewhy.audit.trust import MESSAGE_LIFETIME
from kubewhy.settings import load

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_replays_expire_and_posted_messages_outlive_the_process(tmp_path: Path) -> None:
    env = {"KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "HOME": str(tmp_path)}
    ttl = timedelta(minutes=10)
    async with Kubewhy(load(env), cluster=False, start_audit=True) as app:
        trust = await app.trust()
        assert await trust.first_time("sig:a", ttl, at=AT)
        assert not await trust.first_time("sig:a", ttl, at=AT + timedelta(minutes=9))  # a replay
        await trust.remember("C1", "1.2", team=None, target="svc/q4/web", incident="INC-1")
    async with Kubewhy(load(env), cluster=False, start_audit=True) as restarted:
        trust = await restarted.trust()
        assert not await trust.first_time("sig:a", ttl, at=AT + timedelta(minutes=9))  # also after a restart
        assert await trust.first_time("sig:a", ttl, at=AT + timedelta(minutes=11))  # expired: a new request
        posted = await trust.posted("C1", "1.2")
        assert posted is not None and (posted.target, posted.incident) == ("svc/q4/web", "INC-1")
        assert await trust.posted("C2", "1.2") is None and await trust.posted("C1", "") is None
        await trust.prune(at=datetime.now(UTC) + MESSAGE_LIFETIME + timedelta(days=1))
        assert await trust.posted("C1", "1.2") is None  # old buttons: ask again
