"""``l`` logs (``p``: the previous container's) of the selected pod: followed, searchable, bounded.

Lines are kept in a ring buffer of :data:`RING` lines and the widget holds at most as many, so memory stays flat
however long the log is followed (k9s' log view grew to 30 GB). Following reads the tail again every
:data:`FOLLOW_EVERY` seconds through the core and appends only the lines after the last one shown.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Log, Static

from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target

from ..markup import escape
from .base import Base

RING = 10_000
TAIL = 500
FOLLOW_EVERY = 2.0


def new_lines(known: deque[str], fetched: list[str]) -> list[str]:
    """The fetched tail's lines after the last line already known (all of them when it is not there)."""
    if not known:
        return fetched
    last = known[-1]
    for i in range(len(fetched) - 1, -1, -1):
        if fetched[i] == last:
            return fetched[i + 1 :]
    return fetched


class LogsScreen(Base):
    BINDINGS = [
        Binding("slash", "search", "/search", key_display="/", priority=True),
        Binding("f", "follow", "Follow on/off"),
    ]

    def __init__(self, target: Target, *, previous: bool) -> None:
        super().__init__()
        self.target, self.previous = target, previous
        self.title_text = f"{'previous ' if previous else ''}logs {target.ref}"
        self.ring: deque[str] = deque(maxlen=RING)
        self.following = not previous
        self.search: re.Pattern[str] | None = None
        self.container = ""

    def body(self) -> ComposeResult:
        yield Static("", id="log-state")
        yield Log(id="log", max_lines=RING, highlight=False)

    def on_mount(self) -> None:
        self.query_one("#log", Log).focus()
        self.stream()

    def _state(self, extra: str = "") -> None:
        parts = [
            f"container {self.container or '?'}",
            "following" if self.following else "paused",
            f"{len(self.ring)} lines (ring of {RING})",
        ]
        if self.search is not None:
            parts.append(f"/{escape(self.search.pattern)}")
        self.query_one("#log-state", Static).update("  ·  ".join(parts) + (f"  ·  {extra}" if extra else ""))

    def _show(self, lines: Iterable[str]) -> None:
        search = self.search
        chosen = [ln for ln in lines if search is None or search.search(ln)]
        if chosen:
            self.query_one("#log", Log).write_lines(chosen)

    @work(exclusive=True)
    async def stream(self) -> None:
        session = self.tui.session
        try:
            self.container = await session.log_container(self.target)
        except KubewhyError as exc:
            self._state(f"[red]{escape(str(exc))}[/]")
            return
        first = True
        while first or self.following:
            try:
                text = await session.logs(self.target, self.container, previous=self.previous, tail=TAIL, record=first)
            except KubewhyError as exc:
                self._state(f"[red]{escape(str(exc))}[/]")
            else:
                if text is None and first:
                    which = "previous container" if self.previous else "container"
                    self._state(f"no logs: the {which} has none")
                fresh = new_lines(self.ring, (text or "").splitlines())
                self.ring.extend(fresh)
                self._show(fresh)
                self._state()
            first = False
            if self.following:
                await asyncio.sleep(FOLLOW_EVERY)

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self.stream()
        self._state()

    def action_search(self) -> None:
        from ..widgets.commandbar import CommandBar

        self.typing()
        self.query_one(CommandBar).open("filter", self.search.pattern if self.search else "")

    def filter_changed(self, text: str, final: bool) -> None:
        try:
            self.search = re.compile(text, re.IGNORECASE) if text else None
        except re.error:
            self.search = re.compile(re.escape(text), re.IGNORECASE)
        log = self.query_one("#log", Log)
        log.clear()
        self._show(self.ring)
        self._state()
