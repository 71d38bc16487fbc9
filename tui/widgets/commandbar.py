"""The bottom line that takes ``:`` commands (with completion) and ``/`` filters (applied as you type)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input

from ..rows import VIEWS

COMMANDS = sorted(
    {*(v.command for v in VIEWS.values()), "incidents", "history", "home", "overview", "ns ", "ctx ", "help", "quit"}
)


class CommandBar(Input):
    """Hidden until ``:`` or ``/``; Enter runs the command or keeps the filter, Escape cancels."""

    DEFAULT_CSS = """
    CommandBar { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
    CommandBar.-open { display: block; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    class Command(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FilterChanged(Message):
        def __init__(self, text: str, final: bool) -> None:
            super().__init__()
            self.text, self.final = text, final

    def __init__(self, extra: list[str] | None = None) -> None:
        self.commands = SuggestFromList(COMMANDS + (extra or []), case_sensitive=False)
        super().__init__(id="command-bar", suggester=self.commands)
        self.mode = "command"
        self.before: Widget | None = None  # what had the focus before the bar opened

    @property
    def content_width(self) -> int:
        """At least the bar's own width: the text's virtual size then stays the same while it fits, and a
        keystroke repaints the bar alone. (Input sizes it to the text: every character typed changed it, and a
        changed virtual size lays the whole screen out again, tens of milliseconds on a list of 10,000 rows.)"""
        return max(super().content_width, self.scrollable_content_region.width)

    def open(self, mode: str, text: str = "") -> None:
        """Show the bar and take the keys at once: focus is set synchronously (``Widget.focus`` defers it to the
        next idle moment, and the keys of a burst typed after ``:`` reached the list behind: ``:nodes`` opened
        describe on ``d``). Where the focus was is remembered and given back on close."""
        self.mode = mode
        self.suggester = self.commands if mode == "command" else None  # a filter completes to no command
        self.placeholder = (
            "command: pods nodes deploy sts svc pvc hpa events incidents history ns NAME ctx NAME"
            if mode == "command"
            else "filter: regex, !inverse, -l label=selector"
        )
        self.value = text
        self.cursor_position = len(text)
        if self.screen.focused is not self:
            self.before = self.screen.focused
        self.add_class("-open")
        self.screen.set_focus(self)

    def close(self) -> None:
        self.remove_class("-open")
        before, self.before = self.before, None
        if before is not None and before.is_attached and before.focusable:
            self.screen.set_focus(before)
        else:
            self.screen.focus_next()

    def deliver(self, message: Message) -> None:
        """Hand the screen what the bar produced at once (``bar_message``), not through the message queue: keys
        typed right after Enter or Esc then act on the screen as it already is (``/x2x7k⏎d`` describes the
        row the filter left)."""
        handler = getattr(self.screen, "bar_message", None)
        if callable(handler):
            handler(message)
        else:
            self.post_message(message)

    async def _on_key(self, event: events.Key) -> None:
        """Enter and Esc close the bar as they are read, and keys the bar received after that (a burst: the app
        had already handed them to it) are not typed into it: ``/x2x7k⏎d`` filters by ``x2x7k``, not
        ``x2x7kd``."""
        if not self.has_class("-open"):
            return
        if event.key in ("enter", "escape"):  # here, not by a binding: a binding runs only once the key has
            event.stop()  # bubbled up to the app, after the keys queued behind it were typed into the bar
            event.prevent_default()
            self.submit_now() if event.key == "enter" else self.action_cancel()
            return
        await super()._on_key(event)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter" and self.has_class("-open"):
            self.deliver(self.FilterChanged(event.value, final=False))

    async def action_submit(self) -> None:
        """Enter: Input posts a Submitted message, which the bar would handle only after the keys already queued
        behind Enter; the bar closes here instead, as Enter is handled."""
        if self.has_class("-open"):
            self.submit_now()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.has_class("-open"):
            self.submit_now()

    def submit_now(self) -> None:
        """Enter: close the bar (the focus back where it was), then run the command or keep the filter."""
        text = self.value.strip()
        self.close()
        if self.mode == "command":
            self.deliver(self.Command(text.lstrip(":")))
        else:
            self.deliver(self.FilterChanged(text, final=True))

    def action_cancel(self) -> None:
        self.close()
        if self.mode == "filter":
            self.deliver(self.FilterChanged("", final=True))
