"""What the k8stui screens use of the application: :class:`Host`, which :class:`tui.app.K8sTui` is.

The screens import this module, never ``tui.app``: the application imports its screens, and a screen that opens
another screen (``w`` why, ``d`` describe, ``l`` logs, ``e`` events …) asks the host to (:meth:`Host.open_detail`),
so the screens do not import each other in a circle either (issue 22).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from textual.app import App
from textual.notifications import SeverityLevel

if TYPE_CHECKING:
    from kubewhy.models.target import Target

    from .data import Session

Detail = Literal["why", "describe", "yaml", "logs", "previous-logs", "events"]


class Host(App[int]):
    """The application as its screens see it; :class:`tui.app.K8sTui` implements it."""

    session: Session
    namespace: str | None
    context_name: str

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, as plain text by default: what it says comes from the person (a typed command, a filter) or the
        cluster (an error, a fix's command with ``[...]`` in it), never markup to interpret."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def clock(self) -> float:
        """Now, for ages (a snapshot's clock is the time it was taken)."""
        raise NotImplementedError

    def completions(self) -> list[str]:
        """The ``:`` command bar's suggestions."""
        raise NotImplementedError

    def run_command(self, text: str) -> None:
        """Run a ``:`` command."""
        raise NotImplementedError

    def open_detail(self, view: Detail, target: Target) -> None:
        """Push the detail screen ``view`` of ``target`` (the involved object, for ``events``)."""
        raise NotImplementedError

    async def scale(self, target: Target) -> None:
        """Ask how many replicas, then confirm the scale (dry run, pre-check, audit)."""
        raise NotImplementedError

    def restart(self, target: Target) -> None:
        """Confirm a rollout restart."""
        raise NotImplementedError

    async def edit(self, target: Target) -> None:
        """Edit the object in ``$EDITOR``, then confirm the change with its diff and dry run."""
        raise NotImplementedError

    def delete(self, target: Target) -> None:
        """Confirm deleting the object (dry run, pre-check, audit)."""
        raise NotImplementedError

    async def scale_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        """Ask how many replicas once, then confirm scaling every one of ``targets`` together."""
        raise NotImplementedError

    def restart_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        """Confirm a rollout restart of every one of ``targets`` together."""
        raise NotImplementedError

    def delete_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        """Confirm deleting every one of ``targets`` together (``done(True)`` once all were applied)."""
        raise NotImplementedError

    async def port_forward(self, target: Target) -> None:
        """Ask for the ports, then forward a local port to the pod's (in-process, over WebSocket)."""
        raise NotImplementedError

    async def shell(self, target: Target) -> None:
        """A shell in the pod's container (``kubectl exec -it``, the terminal handed over)."""
        raise NotImplementedError

    def settle(self) -> None:
        """A big LIST has landed in a cache."""
        raise NotImplementedError

    def action_quit_app(self) -> None:
        raise NotImplementedError
