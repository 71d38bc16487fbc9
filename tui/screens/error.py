"""The cluster did not answer, or refused the credentials: a screen that says which context and why, with a
retry, instead of an empty list or a traceback."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..markup import escape


def advice(reason: str) -> str:
    low = reason.lower()
    if "401" in low or "unauthorized" in low or "expired" in low:
        return "The credentials were refused: log in again (e.g. refresh the cloud provider's token), then retry."
    if "403" in low or "forbidden" in low:
        return "The credentials lack permission to list these objects."
    return "Check the network, a VPN, or that the cluster is up; `:ctx NAME` switches to another context."


class ClusterError(ModalScreen[str]):
    """Dismissed with "retry" or "quit"."""

    BINDINGS = [Binding("r", "retry", "Retry"), Binding("q,escape", "quit", "Quit")]

    def __init__(self, context: str, endpoint: str, reason: str) -> None:
        super().__init__()
        self.context, self.endpoint, self.reason = context, endpoint, reason

    def compose(self) -> ComposeResult:
        with Vertical(id="cluster-error"):
            what = (
                "The snapshot could not be read"
                if self.context.startswith("snapshot ")
                else "The cluster is not answering"
            )
            yield Static(f"[b red]{what}[/]")
            yield Static(f"Context: [b]{escape(self.context)}[/]  ({escape(self.endpoint)})")
            yield Static(f"Reason: {escape(self.reason)}", id="error-reason")
            yield Static(f"[dim]{escape(advice(self.reason))}[/]")
            yield Button("Retry (r)", id="retry", variant="primary")
            yield Button("Quit (q)", id="quit")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "quit")

    def action_retry(self) -> None:
        self.dismiss("retry")

    def action_quit(self) -> None:
        self.dismiss("quit")
