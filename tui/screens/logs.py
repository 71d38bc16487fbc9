"""``l`` logs (``p``: the previous container's) of the selected pod, or of every pod of a workload, merged: streamed,
searchable, bounded.

Each container's log is one request kept open (``follow=true``, through the core's connection:
:meth:`tui.data.Session.stream_logs`); nothing is read again on a timer, and every line arrives once. A workload's
pods are merged, each line prefixed with its pod and container; ``c`` picks one container (or all), ``p`` switches
to the previous containers' logs, ``s`` shows only what was written since a time ago (``5m``, ``1h``), ``w`` wraps
long lines, ``/`` searches, ``f`` pauses the screen (the lines keep arriving into the buffer) and resumes.

Lines are kept in a ring buffer of :data:`RING` lines and the widget holds at most as many, so memory stays flat
however long the log is followed (k9s' log view grew to 30 GB).
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections import deque
from collections.abc import Iterable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Log, OptionList, Static
from textual.widgets.option_list import Option

from kubewhy.durations import parse_duration
from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target

from ..markup import escape
from .base import Base

RING = 10_000
TAIL = 500
RETRY = 2.0  # seconds before a log that could not be opened (a container not started yet) is asked for again
ALL = "(all containers)"


def wrapped(lines: Iterable[str], width: int) -> list[str]:
    """``lines`` cut at ``width`` columns (a continuation is indented by two); unchanged for a width under 10."""
    if width < 10:
        return list(lines)
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out.extend(textwrap.wrap(line, width, subsequent_indent="  ", drop_whitespace=False) or [""])
    return out


class ContainerPicker(ModalScreen[str | None]):
    """``c``: which container's log to show (or all of them)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, containers: list[str], current: str) -> None:
        super().__init__()
        self.containers, self.current = containers, current

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static("[b]Container[/b]  (Enter: show its log · Esc: cancel)")
            yield OptionList(*(Option(escape(c), id=c) for c in [ALL, *self.containers]), id="containers")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        choices = [ALL, *self.containers]
        options.highlighted = choices.index(self.current) if self.current in choices else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SincePrompt(ModalScreen[int | None]):
    """``s``: only the lines written since a time ago (``30s``, ``5m``, ``2h``); empty: the last lines again."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#since"

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static("[b]Logs since[/b]  (30s, 5m, 2h, 1d; empty: the last lines)")
            yield Input(placeholder="5m", id="since")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.dismiss(0)
            return
        try:
            seconds = int(parse_duration(text).total_seconds())
        except ValueError as exc:
            self.notify(f"since: {exc}", severity="error")
            return
        if seconds < 1:
            self.notify("since: at least one second", severity="error")
            return
        self.dismiss(seconds)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LogsScreen(Base):
    BINDINGS = [
        Binding("slash", "search", "/search", key_display="/", priority=True),
        Binding("f", "follow", "Pause/resume"),
        Binding("c", "containers", "Container"),
        Binding("p", "previous", "Previous"),
        Binding("s", "since", "Since"),
        Binding("w", "wrap", "Wrap"),
    ]

    def __init__(self, target: Target, *, previous: bool) -> None:
        super().__init__()
        self.target, self.previous = target, previous
        self.ring: deque[str] = deque(maxlen=RING)
        self.following = True  # the screen shows lines as they arrive (False: paused, they go to the ring only)
        self.search: re.Pattern[str] | None = None
        self.container = ""  # the container shown, or ALL
        self.pods: list[tuple[str, list[str]]] = []
        self.since: int | None = None
        self.wrap = False
        self.streams = 0  # streams open now
        self.problems: list[str] = []
        self._title()

    def _title(self) -> None:
        self.title_text = f"{'previous ' if self.previous else ''}logs {self.target.ref}"

    def body(self) -> ComposeResult:
        yield Static("", id="log-state")
        yield Log(id="log", max_lines=RING, highlight=False)

    def on_mount(self) -> None:
        self.focus_body(self.query_one("#log", Log))
        self.tui.session.record("show_logs_previous" if self.previous else "show_logs", self.target)
        self.start()

    # ---- what is shown -----------------------------------------------------------------------------------------
    def containers(self) -> list[str]:
        return sorted({c for _, cs in self.pods for c in cs})

    def sources(self) -> list[tuple[str, str]]:
        """The (pod, container) pairs whose logs are streamed now."""
        return [(p, c) for p, cs in self.pods for c in cs if self.container in (ALL, c)]

    def _state(self) -> None:
        many = len(self.pods) > 1
        parts = [
            f"{len(self.pods)} pods" if many else f"container {self.container or '?'}",
            "following" if self.following else "paused",
            f"{len(self.ring)} lines (ring of {RING})",
        ]
        if many:
            parts.insert(1, "containers: " + ("all" if self.container == ALL else self.container))
        if self.previous:
            parts.append("previous")
        if self.since:
            parts.append(f"since {self.since}s ago")
        if self.wrap:
            parts.append("wrapped")
        if self.search is not None:
            parts.append(f"/{escape(self.search.pattern)}")
        text = "  ·  ".join(parts)
        if self.problems:
            text += "  ·  [red]" + escape("; ".join(self.problems[-2:])) + "[/]"
        self.query_one("#log-state", Static).update(text)

    def _show(self, lines: Iterable[str]) -> None:
        search = self.search
        chosen = [ln for ln in lines if search is None or search.search(ln)]
        if not chosen:
            return
        log = self.query_one("#log", Log)
        if self.wrap:
            chosen = wrapped(chosen, log.scrollable_content_region.width - 1)
        log.write_lines(chosen)

    def _redraw(self) -> None:
        self.query_one("#log", Log).clear()
        self._show(self.ring)
        self._state()

    def _append(self, line: str) -> None:
        self.ring.append(line)
        if self.following:
            self._show((line,))
        self._state()

    # ---- the streams -------------------------------------------------------------------------------------------
    @work(exclusive=True, group="log-sources")
    async def start(self) -> None:
        """Read which pods and containers there are, then stream each chosen one."""
        session = self.tui.session
        try:
            self.pods = await session.log_pods(self.target)
            if not self.container:
                self.container = await session.log_container(self.target) if self.target.kind == "Pod" else ALL
        except KubewhyError as exc:
            self.problems.append(str(exc))
            self._state()
            return
        if not self.pods:
            self.problems.append(f"{self.target.ref} has no pods")
        self.restart()

    def restart(self) -> None:
        """Close the streams and open those of the current choice (container, previous, since)."""
        self.workers.cancel_group(self, "log-streams")
        self.ring.clear()
        self.problems.clear()
        self.query_one("#log", Log).clear()
        sources = self.sources()
        prefix = len(sources) > 1
        for pod, container in sources:
            self.run_worker(self._stream(pod, container, prefix), group="log-streams")
        self._state()

    async def _stream(self, pod: str, container: str, prefix: bool) -> None:
        """One container's log, appended line by line. A stream that cannot open yet (a container waiting to start)
        is tried again every :data:`RETRY` seconds; one that breaks after lines arrived is re-opened from its end
        (``tailLines=0``: only new lines, nothing twice). A previous container's log is read once."""
        session = self.tui.session
        label = f"{pod} {container} " if prefix else ""
        tail = None if self.since else TAIL
        since = self.since
        where = f"{pod}/{container}"
        self.streams += 1
        try:
            while True:
                try:
                    async for line in session.stream_logs(
                        self.target.namespace or "default",
                        pod,
                        container,
                        previous=self.previous,
                        tail=tail,
                        since=since,
                    ):
                        if self.problems:
                            self.problems = [p for p in self.problems if not p.startswith(where + ":")]
                        self._append(label + line)
                        tail, since = 0, None  # from here on, only what is new
                    return  # the log ended (the container stopped)
                except KubewhyError as exc:
                    problem = f"{where}: {exc}"
                    if problem not in self.problems:
                        self.problems.append(problem)
                        self._state()
                    if self.previous:
                        return
                await asyncio.sleep(RETRY)
        finally:
            self.streams -= 1

    # ---- keys --------------------------------------------------------------------------------------------------
    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self._redraw()  # what arrived while paused
        self._state()

    def action_previous(self) -> None:
        self.previous = not self.previous
        self._title()
        self.set_heading()
        self.tui.session.record("show_logs_previous" if self.previous else "show_logs", self.target)
        self.restart()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self._redraw()

    @work(group="log-prompt")
    async def action_containers(self) -> None:
        chosen = await self.app.push_screen_wait(ContainerPicker(self.containers(), self.container))
        if chosen is not None and chosen != self.container:
            self.container = chosen
            self.restart()

    @work(group="log-prompt")
    async def action_since(self) -> None:
        seconds = await self.app.push_screen_wait(SincePrompt())
        if seconds is not None:
            self.since = seconds or None
            self.restart()

    def action_search(self) -> None:
        from ..widgets.commandbar import CommandBar

        self.typing()
        self.query_one(CommandBar).open("filter", self.search.pattern if self.search else "")

    def filter_changed(self, text: str, final: bool) -> None:
        try:
            self.search = re.compile(text, re.IGNORECASE) if text else None
        except re.error:
            self.search = re.compile(re.escape(text), re.IGNORECASE)
        self._redraw()
