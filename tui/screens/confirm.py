"""``a``: applying a fix is confirmed on a screen that shows the server-side dry run first.

The proposal, the dry run, the approval and the result go into the audit log with the local user (through
:mod:`kubewhy.actions`, in the session). Declining is recorded too.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kubewhy.errors import KubewhyError
from kubewhy.fixes import describe_patch
from kubewhy.models.findings import Finding, Fix

from ..host import Host


class ConfirmFix(ModalScreen[bool]):
    BINDINGS = [Binding("y", "apply", "Apply"), Binding("n,escape", "cancel", "Cancel")]

    def __init__(self, finding: Finding, fix: Fix) -> None:
        super().__init__()
        self.finding, self.fix = finding, fix
        self.proposal: Any = None
        self.dry_run_ok = False
        self.done = False

    def compose(self) -> ComposeResult:
        assert self.fix.patch is not None
        with Vertical(id="confirm"):
            yield Static(f"[b]Apply: {escape(self.fix.title)}[/b]  [dim](risk {self.fix.risk})[/]")
            yield Static(f"{escape(describe_patch(self.fix.patch))}\n[cyan]{escape(self.fix.command)}[/]")
            if self.fix.does_not_fix:
                yield Static(f"[yellow]Does not fix:[/] {escape(self.fix.does_not_fix)}")
            yield Static("Server-side dry run … ", id="dry-run")
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply (y)", id="apply", variant="error", disabled=True)
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.run_dry_run()

    @work(exclusive=True)
    async def run_dry_run(self) -> None:
        assert isinstance(self.app, Host)
        box = self.query_one("#dry-run", Static)
        try:
            result, self.proposal = await self.app.session.dry_run(self.fix, self.finding.id)
        except KubewhyError as exc:
            box.update(f"[red]Dry run failed:[/] {escape(str(exc))}")
            return
        self.dry_run_ok = result.ok
        mark = "[green]✓ dry run accepted[/]" if result.ok else "[red]✗ dry run refused[/]"
        box.update(f"{mark}: {escape(result.message)}")
        self.query_one("#apply", Button).disabled = not result.ok

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_apply(self) -> None:
        if not self.dry_run_ok or self.done:
            self.notify("the dry run has not been accepted: nothing to apply", severity="warning")
            return
        self.done = True
        self.apply()

    @work(exclusive=True)
    async def apply(self) -> None:
        assert isinstance(self.app, Host)
        result = await self.app.session.apply(self.fix, self.proposal)
        self.app.notify(
            result.message,
            title="applied" if result.ok else "apply failed",
            severity="information" if result.ok else "error",
        )
        self.dismiss(result.ok)

    def action_cancel(self) -> None:
        if self.done:
            return
        if self.proposal is not None and isinstance(self.app, Host):
            self.app.session.declined(self.proposal)
        self.dismiss(False)
