"""What every k8stui screen shares: the context line on top, the ``:``/``/`` bar and the footer of its keys."""

from __future__ import annotations

from typing import Any

from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from kubewhy.models.target import Target

from ..host import Host
from ..markup import escape
from ..widgets.commandbar import CommandBar


class Base(Screen[None]):
    """A screen of the app. Subclasses compose their body in :meth:`body`."""

    BINDINGS = [
        # priority: run as the app reads the key, before it hands the next keys of a burst to the focused widget
        Binding("colon", "command", ":cmd", key_display=":", priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back", show=False),
        Binding("q", "back", "Back", show=False),
    ]
    title_text = ""

    @property
    def tui(self) -> Host:
        assert isinstance(self.app, Host)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(self.heading(), id="heading")
        yield from self.body()
        yield CommandBar(self.tui.completions())
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def focus_body(self, widget: Widget) -> None:
        """Give ``widget`` the keys as the screen mounts, unless ``:`` or ``/`` already opened the bar (keys typed
        the moment the screen appeared: the first ``:pods`` after start lost the bar to home's table, and ``p``
        opened previous logs); the bar then gives the focus to ``widget`` when it closes."""
        bar = self.query_one(CommandBar)
        if bar.has_class("-open"):
            bar.before = widget
        else:  # at once: ``Widget.focus`` defers, and a ``:`` read meanwhile lost the bar to this deferred focus
            self.set_focus(widget)

    def heading(self) -> str:
        ns = self.tui.namespace or "all namespaces"
        return f"[b]k8stui[/b]  {escape(self.tui.context_name)}  ·  {escape(ns)}  ·  {escape(self.title_text)}"

    def set_heading(self, extra: str = "") -> None:
        # one line always (its height is fixed): no layout of the screen for it
        self.query_one("#heading", Static).update(
            self.heading() + (f"  ·  {escape(extra)}" if extra else ""), layout=False
        )

    def typing(self) -> None:
        """A ``:`` or ``/`` pressed while a text field has the keys is a character of its text: those keys are
        priority bindings (they reach the screen first), so the binding steps aside and the key goes on to the
        field, in its place among the keys queued for it."""
        if isinstance(self.focused, Input):
            raise SkipAction()

    def action_command(self) -> None:
        self.typing()
        self.query_one(CommandBar).open("command")

    def action_help(self) -> None:
        from .help import HelpScreen

        self.tui.push_screen(HelpScreen(self))

    def action_back(self) -> None:
        """Esc and ``q`` go back to the screen below; on home, the bottom, they do nothing (as in k9s): quitting
        is ``:q`` or ctrl+c, never a stray Esc."""
        if len(self.tui.screen_stack) > 2:
            self.tui.pop_screen()

    def bar_message(self, message: CommandBar.Command | CommandBar.FilterChanged) -> None:
        if isinstance(message, CommandBar.Command):
            self.tui.run_command(message.text)
        else:
            self.filter_changed(message.text, message.final)

    def on_command_bar_command(self, message: CommandBar.Command) -> None:
        self.tui.run_command(message.text)

    def on_command_bar_filter_changed(self, message: CommandBar.FilterChanged) -> None:
        self.filter_changed(message.text, message.final)

    def filter_changed(self, text: str, final: bool) -> None:
        """The ``/`` text changed (screens with a list filter it)."""


LOG_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")  # what ``l`` reads logs of


class TargetScreen(Base):
    """A screen with a selected object: ``w`` why, ``d`` describe, ``y`` YAML, ``l``/``p`` logs, ``e`` events."""

    BINDINGS = [
        Binding("slash", "filter", "/filter", key_display="/", priority=True),
        Binding("w", "why", "Why"),
        Binding("d", "describe", "Describe"),
        Binding("y", "yaml", "YAML"),
        Binding("l", "logs(False)", "Logs"),
        Binding("p", "logs(True)", "Prev logs"),
        Binding("e", "events", "Events"),
        Binding("s", "sort(1)", "Sort"),
        Binding("S", "sort(-1)", "Reverse", show=False),
        Binding("z", "scale", "Scale", show=False),
        Binding("r", "restart", "Restart", show=False),
        Binding("E", "edit", "Edit", show=False),
        Binding("x", "shell", "Shell", show=False),
        Binding("ctrl+d", "delete", "Delete", show=False),
        Binding("F", "port_forward", "Port-forward", show=False),
    ]

    def selected(self) -> Target | None:
        """The object under the cursor."""
        return None

    def marked(self) -> list[Target]:
        """The marked objects (space), which the keys that change the cluster act on instead of the cursor's."""
        return []

    def clear_marks(self) -> None:
        """Forget the marks (after a batch was applied, as k9s does)."""

    def _batch_done(self, applied: bool | None) -> None:
        if applied:
            self.clear_marks()

    def _marked_of(self, kinds: tuple[str, ...] | None, verb: str) -> list[Target] | None:
        """The marked objects when there are marks (None: act on the cursor's); refused, with the names, when
        one of them is not of ``kinds``."""
        marked = self.marked()
        if not marked:
            return None
        wrong = [t.ref for t in marked if kinds is not None and t.kind not in kinds]
        if wrong:
            what = ", ".join(k.lower() for k in kinds or ())
            self.notify(f"{verb}: {', '.join(wrong)} marked, not a {what} (ctrl+\\ clears marks)", severity="warning")
            return []
        return marked

    def _target(self) -> Target | None:
        target = self.selected()
        if target is None:
            self.notify("nothing selected", severity="warning")
        return target

    def action_filter(self) -> None:
        self.typing()
        self.query_one(CommandBar).open("filter", getattr(self, "filter_text", ""))

    def action_sort(self, direction: int) -> None:
        """Sort by the next column (``s``) or reverse the order (``S``)."""

    def action_why(self) -> None:
        if (target := self._target()) is not None:
            self.tui.open_detail("why", target)

    def action_describe(self) -> None:
        if (target := self._target()) is not None:
            self.tui.open_detail("describe", target)

    def action_yaml(self) -> None:
        if (target := self._target()) is not None:
            self.tui.open_detail("yaml", target)

    def action_logs(self, previous: bool) -> None:
        target = self._target()
        if target is None:
            return
        if target.kind not in LOG_KINDS:
            self.notify("logs: select a pod or a workload (its pods' logs, merged)", severity="warning")
            return
        self.tui.open_detail("previous-logs" if previous else "logs", target)

    def action_events(self) -> None:
        if (target := self._target()) is not None:
            self.tui.open_detail("events", target)

    # ---- keys that change the cluster: each a proposal through the core's lifecycle, confirmed on ConfirmFix ----
    def _kind_of(self, kinds: tuple[str, ...], verb: str) -> Target | None:
        target = self._target()
        if target is not None and target.kind not in kinds:
            self.notify(f"{verb}: select a {', '.join(k.lower() for k in kinds)}", severity="warning")
            return None
        return target

    def action_scale(self) -> None:
        from ..actions import SCALABLE

        if (marked := self._marked_of(SCALABLE, "scale")) is not None:
            if marked:
                self.run_worker(self.tui.scale_many(marked, self._batch_done), group="action", exclusive=True)
            return
        if (target := self._kind_of(SCALABLE, "scale")) is not None:
            self.run_worker(self.tui.scale(target), group="action", exclusive=True)

    def action_restart(self) -> None:
        from ..actions import RESTARTABLE

        if (marked := self._marked_of(RESTARTABLE, "rollout restart")) is not None:
            if marked:
                self.tui.restart_many(marked, self._batch_done)
            return
        if (target := self._kind_of(RESTARTABLE, "rollout restart")) is not None:
            self.tui.restart(target)

    def action_shell(self) -> None:
        if (target := self._kind_of(("Pod",), "shell")) is not None:
            self.run_worker(self.tui.shell(target), group="action", exclusive=True)

    def action_delete(self) -> None:
        if (marked := self._marked_of(None, "delete")) is not None:
            if marked:
                self.tui.delete_many(marked, self._batch_done)
            return
        if (target := self._target()) is not None:
            self.tui.delete(target)

    def action_port_forward(self) -> None:
        if (target := self._kind_of(("Pod",), "port-forward")) is not None:
            self.run_worker(self.tui.port_forward(target), group="action", exclusive=True)

    def action_edit(self) -> None:
        if (target := self._target()) is not None:
            self.run_worker(self.tui.edit(target), group="action", exclusive=True)


def row_target(kind: str, row: Any) -> Target:
    return Target(kind=kind, name=row["name"], namespace=row["ns"] or None)
