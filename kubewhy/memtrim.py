"""Give the memory a burst of work freed back to the operating system (long-lived processes only).

A watcher's start-up storm diagnoses hundreds of workloads at once: each diagnosis decodes lists, events and logs,
and frees them when it ends. CPython hands the large blocks among them (dict tables, strings, lists over 512
bytes) to glibc's ``malloc``, which keeps freed pages in its heap for reuse instead of returning them: measured on
the watchers at 10,000 pods (docs/benchmarks.md), a process at 140 MB before a storm of 200 diagnoses stayed at
250 MB after it, although the objects were gone, and ``malloc_trim(0)`` brought it back to 180 MB.

:class:`Trimmer` calls ``malloc_trim`` every ``interval`` seconds, in a thread (the call releases the GIL;
it walks the heap and takes the allocator's lock for a few milliseconds), and only when glibc holds at least
``threshold`` bytes free (``mallinfo2``'s ``fordblks``, summed over its arenas): a steady process is left alone.
Where the C library has no ``malloc_trim`` (musl, macOS) it does nothing. No ``gc.collect()``: a full collection
over a 150,000-pod cache costs more than it finds.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """This process's resident set, bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [  # noqa: RUF012 (ctypes' own declaration)
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _malloc_trim(libc: ctypes.CDLL | None) -> Callable[[int], int] | None:
    fn = getattr(libc, "malloc_trim", None)  # musl has none
    if fn is None:
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    trim: Callable[[int], int] = fn
    return trim


def _free_bytes(libc: ctypes.CDLL | None) -> Callable[[], int] | None:
    """glibc's free bytes held in its arenas (``mallinfo2``, glibc 2.33+)."""
    fn = getattr(libc, "mallinfo2", None)
    if fn is None:
        return None
    fn.argtypes, fn.restype = [], _MallInfo2

    def free() -> int:
        return int(fn().fordblks)

    return free


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_arenas(count: int = 2) -> bool:
    """At most ``count`` malloc arenas from now on (glibc makes up to 8 per CPU, one per thread that allocates
    while another holds an arena; each keeps its own freed pages). Call it before the process starts threads:
    arenas made earlier stay. False where it cannot be set."""
    fn = getattr(_libc(), "mallopt", None)
    if fn is None:
        return False
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(fn(M_ARENA_MAX, count))


class Trimmer:
    """Return freed heap pages to the system after bursts of work. ``interval``: seconds between two looks;
    ``threshold``: the free bytes held by the allocator that make a trim worth it; ``free``: how they are read
    (glibc's ``mallinfo2``; tests pass their own; where there is none, every look trims)."""

    def __init__(
        self, interval: float = 30.0, *, threshold: int = 8 << 20, free: Callable[[], int] | None = None
    ) -> None:
        libc = _libc()
        self.interval, self.threshold = interval, threshold
        self._trim = _malloc_trim(libc)
        self._free = free if free is not None else _free_bytes(libc)
        self.trims = 0
        self.released = 0  # bytes of resident memory the trims gave back, in all

    @property
    def available(self) -> bool:
        return self._trim is not None

    def due(self) -> bool:
        """Whether the allocator holds at least ``threshold`` free bytes."""
        return self._free is None or self._free() >= self.threshold

    async def trim(self) -> int:
        """Trim now; the resident bytes given back."""
        if self._trim is None:
            return 0
        before = resident_bytes()
        await asyncio.to_thread(self._trim, 0)
        released = max(0, before - resident_bytes())
        self.trims += 1
        self.released += released
        if released:
            log.debug("memory: gave %.1f MB back to the system", released / 2**20)
        return released

    async def run(self) -> None:
        """Look every ``interval`` seconds until cancelled."""
        if self._trim is None:
            return
        while True:
            await asyncio.sleep(self.interval)
            if self.due():
                await self.trim()


__all__ = ["Trimmer", "limit_arenas", "resident_bytes"]
