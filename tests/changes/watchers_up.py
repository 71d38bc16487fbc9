"""The watchers of a test of the change log, running until the test ends: ``run_watchers`` on a settings
environment, its :class:`Watcher` handed over once it is ready."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.notify import StdoutNotifier
from kubewhy.watch.run import run_watchers


@contextlib.asynccontextmanager
async def watchers_up(env: dict[str, str], clock: Callable[[], datetime] | None = None) -> AsyncIterator[Watcher]:
    """The watchers started with ``env`` (and ``clock``, the watchers' time), stopped on leaving."""
    stop, box, ready = asyncio.Event(), [], asyncio.Event()

    def on_ready(w: Watcher) -> None:
        box.append(w)
        ready.set()

    task = asyncio.create_task(run_watchers(load(env), StdoutNotifier(), stop=stop, on_ready=on_ready, clock=clock))
    done, _ = await asyncio.wait([task, asyncio.create_task(ready.wait())], timeout=30, return_when="FIRST_COMPLETED")
    if task in done:
        task.result()
    try:
        yield box[0]
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
