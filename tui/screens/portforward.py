"""``F`` (k9s's shift+f): which ports to forward — a one-line prompt, ``LOCAL:REMOTE`` or just the pod's port."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kubewhy.models.target import Target

from ..markup import escape


def parse_ports(text: str) -> tuple[int, int] | None:
    """``8080`` (the same port locally), ``9000:8080``, or ``:8080`` (any free local port): (local, remote);
    None when it is not that."""
    local, sep, remote = text.strip().rpartition(":")
    if not sep:
        local = remote
    try:
        pair = (int(local) if local else 0, int(remote))
    except ValueError:
        return None
    if not (0 <= pair[0] <= 65535 and 0 < pair[1] <= 65535):
        return None
    return pair


class PortPrompt(ModalScreen[tuple[int, int] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#ports"

    def __init__(self, target: Target, ports: list[int]) -> None:
        super().__init__()
        self.target, self.ports = target, ports

    def compose(self) -> ComposeResult:
        declared = ", ".join(str(p) for p in self.ports) or "none declared"
        with Vertical(id="confirm"):
            yield Static(f"[b]Port-forward {escape(self.target.ref)}[/b]  (container ports: {escape(declared)})")
            default = f"{self.ports[0]}:{self.ports[0]}" if self.ports else "LOCAL:REMOTE"
            yield Input(placeholder=default, id="ports")
            yield Static(
                "LOCAL:REMOTE, or REMOTE alone (the same port locally), or :REMOTE (any free local port) · "
                "Enter: forward · Esc: cancel",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))  # at once: keys typed right after F land in the field

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip() or (f"{self.ports[0]}:{self.ports[0]}" if self.ports else "")
        ports = parse_ports(text)
        if ports is None:
            self.notify(f"ports: LOCAL:REMOTE, e.g. 8080:80 (not {text!r})", severity="error")
            return
        self.dismiss(ports)

    def action_cancel(self) -> None:
        self.dismiss(None)
