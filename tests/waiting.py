"""Waiting in tests: for a condition to hold, never for a fixed time.

What a test waits for happens elsewhere (the simulator's thread, a subprocess, Postgres, a socket), so the
deadline is real time (``time.monotonic``), not the event loop's: under ``looptime`` the loop's clock jumps, and
a deadline on it would run out before the other side had a chance. The deadline only bounds a failure: a test
that passes never waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypedDict, TypeVar, Unpack

T = TypeVar("T")


class Patience(TypedDict, total=False):
    """How to wait: ``timeout`` (real seconds, 20 by default; it only bounds a failure), ``interval`` between
    looks (0.05 s), and for the failure's message ``what`` was awaited and ``detail()``, the state it was in."""

    timeout: float
    interval: float
    what: str
    detail: Callable[[], object]


class _Deadline:
    def __init__(self, awaited: object, wait: Patience):
        self.end = time.monotonic() + wait.get("timeout", 20.0)
        self.interval = wait.get("interval", 0.05)
        self.awaited, self.wait = awaited, wait

    def check(self, last: str = "") -> None:
        """An AssertionError naming what was awaited, once the deadline has passed."""
        if time.monotonic() > self.end:
            detail = self.wait.get("detail")
            raise AssertionError(
                f"timed out waiting for {self.wait.get('what') or self.awaited}{last}"
                + (f": {detail()}" if detail else "")
            )


async def until(condition: Callable[[], object], **wait: Unpack[Patience]) -> None:
    """Look at ``condition`` until it is true."""
    deadline = _Deadline(condition, wait)
    while not condition():
        deadline.check()
        await asyncio.sleep(deadline.interval)


async def until_answer(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    **wait: Unpack[Patience],
) -> T:
    """Ask ``probe()`` until ``accept`` takes its answer, which is returned (a server starting, a row arriving);
    ``retry_on``: the exceptions that mean "not yet" (a refused connection, a table not created yet)."""
    deadline = _Deadline(probe, wait)
    while True:
        try:
            answer = await probe()
        except retry_on as exc:
            last: object = exc
        else:
            if accept(answer):
                return answer
            last = answer
        deadline.check(f" (last answer: {last!r:.500})")
        await asyncio.sleep(deadline.interval)


def until_sync(condition: Callable[[], object], **wait: Unpack[Patience]) -> None:
    """``until`` for a test without an event loop (a subprocess, a terminal)."""
    deadline = _Deadline(condition, wait)
    while not condition():
        deadline.check()
        time.sleep(deadline.interval)


__all__ = ["Patience", "until", "until_answer", "until_sync"]
