"""``?``: every key of the screen it was opened from, and the ``:`` commands."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..markup import escape
from ..widgets.commandbar import COMMANDS

GLOBAL = [
    ("ctrl+p", "command palette"),
    ("tab", "next pane"),
    ("mouse", "click selects, double click opens, a header click sorts, the wheel scrolls"),
]
MARKS = [  # a list's table (k9s's keys); z, r and ctrl+d then act on every marked row
    ("space", "Mark / unmark"),
    ("ctrl+space", "Mark range"),
    ("ctrl+\\", "Clear marks"),
]


def bindings_of(screen: Screen[Any]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for cls in type(screen).__mro__:
        for b in getattr(cls, "BINDINGS", []):
            if isinstance(b, Binding):
                key = b.key_display or b.key
                seen.setdefault(key, b.description or b.action)
    return list(seen.items())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.keys = bindings_of(screen) + (MARKS if getattr(screen, "MARKABLE", False) else []) + GLOBAL

    def compose(self) -> ComposeResult:
        lines = ["[b]Keys[/b]"] + [f"  [cyan]{escape(k):<14}[/] {escape(d)}" for k, d in self.keys]
        lines += ["", "[b]Commands[/b] (after [cyan]:[/], Tab or → completes)"]
        lines += [f"  [cyan]:{escape(c.strip())}{' NAME' if c.endswith(' ') else ''}[/]" for c in COMMANDS]
        lines += [
            "",
            "[b]Filter[/b] (after [cyan]/[/]): a regex · [cyan]!regex[/] inverse · "
            "[cyan]-l app=web,tier!=db[/] label selector · Esc clears",
        ]
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
