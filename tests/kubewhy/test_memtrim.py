"""kubewhy/memtrim.py: freed heap pages go back to the system after a burst, and a steady process is left alone."""

from __future__ import annotations

import asyncio
import sys

import pytest

from kubewhy.memtrim import Trimmer, resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")


def test_a_burst_freed_is_given_back() -> None:
    trimmer = Trimmer()
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim")
    burst = [bytes(1000) + bytes(i % 7) for i in range(100_000)]  # ~100 MB in malloc's heap, not pymalloc's
    kept = burst[::500]
    del burst
    assert trimmer.due()
    before = resident_bytes()
    released = asyncio.run(trimmer.trim())
    assert released > 32 << 20, (before, released)
    assert resident_bytes() <= before - (32 << 20)
    assert trimmer.trims == 1 and trimmer.released == released
    del kept


def test_a_steady_process_is_left_alone() -> None:
    free = [0]
    trimmer = Trimmer(interval=0.0, threshold=1 << 20, free=lambda: free[0])
    assert not trimmer.due()
    free[0] = 2 << 20
    assert trimmer.due()


def test_the_loop_trims_only_when_due() -> None:
    free = [0]
    trimmer = Trimmer(interval=0.0, threshold=1 << 20, free=lambda: free[0])
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim")

    async def run_for(looks: int) -> None:
        task = asyncio.create_task(trimmer.run())
        for _ in range(looks):
            await asyncio.sleep(0)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_for(5))
    assert trimmer.trims == 0
    free[0] = 4 << 20
    asyncio.run(run_for(5))
    assert trimmer.trims >= 1
