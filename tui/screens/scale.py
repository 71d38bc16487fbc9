"""``z``: how many replicas — a one-line prompt; the confirm screen (dry run, pre-check, audit) follows."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kubewhy.models.target import Target

from ..markup import escape


class ScalePrompt(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: Target, current: int | None, also: Sequence[Target] = ()) -> None:
        """``also``: the other marked objects scaled to the same count (one prompt for all)."""
        super().__init__()
        self.target, self.current, self.also = target, current, tuple(also)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            if self.also:
                refs = ", ".join(t.ref for t in (self.target, *self.also))
                yield Static(f"[b]Scale {len(self.also) + 1} marked objects[/b]: {escape(refs)}")
            else:
                now = self.current if self.current is not None else "?"
                yield Static(f"[b]Scale {escape(self.target.ref)}[/b]  (now {now})")
            now = f"now {self.current}" if self.current is not None else "replicas"
            yield Input(placeholder=now, type="integer", id="replicas")
            yield Static("Enter: on to the dry run and the confirmation · Esc: cancel", classes="hint")

    AUTO_FOCUS = "#replicas"

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))  # at once: keys typed right after z land in the field

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text.isdigit():
            self.notify("replicas: a whole number, 0 or more", severity="error")
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
