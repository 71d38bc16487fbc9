"""Verify after a fix, in Slack: the jobs :meth:`kubewhy.app.Kubewhy.schedule_verify` left in the audit database
are run when due (by whichever replica claims them first; a dead one's are taken over) and the outcome is posted
in the thread of the answer the fix was applied from: "resolved" or "still failing"."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.errors import KubewhyError

from . import blocks
from .deps import BotDeps

log = logging.getLogger("kubewhy.bot")
INTERVAL = 5.0  # seconds between two looks for due verifications


class Verifier:
    def __init__(self, deps: BotDeps, client: AsyncWebClient, *, interval: float = INTERVAL):
        self.deps, self.client, self.interval = deps, client, interval
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._task: asyncio.Task[None] | None = None

    def ensure_started(self) -> None:
        """Start the loop on the running event loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="kubewhy-verifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except KubewhyError as exc:  # the database, for a moment: the jobs wait in it
                log.warning("verify after fix: %s", exc)
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Run what is due now and post each outcome; how many ran."""
        done = await self.deps.app.verify_due(self.owner)
        for job, outcome in done:
            if not job.channel or not job.ts:
                continue
            icon, word = (":white_check_mark:", "Resolved") if outcome.resolved else (":x:", "Still failing")
            text = f"{icon} *{word}* after the fix: {blocks.escape(outcome.summary)}"
            await self.client.chat_postMessage(
                channel=job.channel,
                thread_ts=job.ts,
                text=blocks.escape(f"{word}: {outcome.summary}"),
                blocks=blocks.to_dicts([blocks.section(text)]),
            )
        return len(done)


__all__ = ["Verifier"]
