"""``a``: applying a fix is confirmed on a screen that shows the server-side dry run first.

The screen only translates keys into the application's one fix lifecycle (:mod:`kubewhy.lifecycle`, through
:class:`kubewhy.app.Kubewhy`): opening it proposes the fix, then the dry run runs; ``y`` applies (the application
pre-checks first: RBAC, and the object still the one the dry run saw), ``n`` declines. Each step goes into the
audit log with the local user. The dialog shows whose credentials the patch is sent with (the person's own
kubeconfig identity) and the precondition checked just before it is; a refused pre-check shows its reason. A fix
is applied once: a second ``y`` is refused by the lifecycle, and nothing is sent again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kubewhy.errors import KubewhyError
from kubewhy.fixes import describe_patch
from kubewhy.lifecycle import Action, AlreadyApplied, Identity
from kubewhy.models.findings import Finding, Fix
from kubewhy.models.target import Target

from ..host import Host
from ..markup import escape

if TYPE_CHECKING:
    from kubewhy.app import Kubewhy


def identity_markup(who: Identity) -> str:
    whose = "your own kubeconfig credentials" if who.kind == "user" else "kubewhy's service account"
    return f"Acting as: [b]{escape(who.name)}[/b]  [dim]({whose})[/]"


def precondition_markup(action: Action) -> str:
    return f"Checked before applying: {escape(action.precondition)}"


class ConfirmFix(ModalScreen[bool]):
    BINDINGS = [Binding("y", "apply", "Apply"), Binding("n,escape", "cancel", "Cancel")]

    def __init__(self, target: Target, finding: Finding | str, fix: Fix, diff: str = "") -> None:
        """``finding``: the diagnosed finding whose fix this is, or the name an action of a person's own is
        recorded under (scale, restart, edit: ``k8stui``); ``diff``: an edit's, shown above the dry run."""
        super().__init__()
        self.target, self.fix, self.diff = target, fix, diff
        self.finding_id = finding if isinstance(finding, str) else finding.id
        self.action: Action | None = None
        self.dry_run_ok = False

    @property
    def kubewhy(self) -> Kubewhy:
        assert isinstance(self.app, Host)
        return self.app.session.kubewhy

    def compose(self) -> ComposeResult:
        assert self.fix.patch is not None
        with Vertical(id="confirm"):
            yield Static(f"[b]Apply: {escape(self.fix.title)}[/b]  [dim](risk {self.fix.risk})[/]")
            patch = self.fix.patch
            where = f"{patch.namespace}/{patch.name}" if patch.namespace else patch.name
            yield Static(f"Object: [b]{escape(patch.kind)} {escape(where)}[/b]", id="object")
            yield Static(f"{escape(describe_patch(self.fix.patch))}\n[cyan]{escape(self.fix.command)}[/]")
            if self.diff:
                yield Static(escape(self.diff.rstrip()), id="diff")
            if self.fix.does_not_fix:
                yield Static(f"[yellow]Does not fix:[/] {escape(self.fix.does_not_fix)}")
            yield Static("", id="acting-as")
            yield Static("", id="precondition")
            yield Static("Server-side dry run … ", id="dry-run")
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply (y)", id="apply", variant="error", disabled=True)
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        try:
            self.action = self.kubewhy.propose_fix(self.fix, target=self.target, finding_id=self.finding_id)
        except KubewhyError as exc:
            self.query_one("#dry-run", Static).update(f"[red]Cannot be applied:[/] {escape(str(exc))}")
            return
        self.query_one("#acting-as", Static).update(identity_markup(self.action.acting_as))
        self.query_one("#precondition", Static).update(precondition_markup(self.action))
        self.run_dry_run(self.action)

    @work(exclusive=True)
    async def run_dry_run(self, action: Action) -> None:
        box = self.query_one("#dry-run", Static)
        try:
            result = await self.kubewhy.dry_run(action)
        except KubewhyError as exc:
            box.update(f"[red]Dry run failed:[/] {escape(str(exc))}")
            return
        self.query_one("#precondition", Static).update(precondition_markup(action))  # now with the object's UID
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
        if self.action is None or not self.dry_run_ok:
            self.notify("the dry run has not been accepted: nothing to apply", severity="warning")
            return
        self.query_one("#apply", Button).disabled = True
        self.apply(self.action)  # a second press reaches the lifecycle too, which refuses it (applied once)

    @work(group="apply")
    async def apply(self, action: Action) -> None:
        try:
            result = await self.kubewhy.apply(action)
        except AlreadyApplied as exc:
            self.notify(str(exc), title="not applied again", severity="warning")
            return
        except KubewhyError as exc:
            self.app.notify(str(exc), title="apply failed", severity="error")
            self.dismiss(False)
            return
        if action.state == "declined":  # the pre-check refused it: say why, here, and send nothing
            self.query_one("#dry-run", Static).update(
                f"[red]✗ pre-check failed, not applied:[/] {escape(result.message)}"
            )
            self.query_one("#cancel", Button).label = "Close (n)"
            self.notify(result.message, title="apply refused", severity="error")
            return
        self.app.notify(
            result.message,
            title="applied" if result.ok else "apply failed",
            severity="information" if result.ok else "error",
        )
        self.dismiss(result.ok)

    def action_cancel(self) -> None:
        action = self.action
        if action is not None and action.approved_by is not None and action.state != "declined":
            return  # being applied: its result closes the dialog
        if action is not None and action.approved_by is None:
            self.kubewhy.decline(action, reason="cancelled in the confirm dialog")
        self.dismiss(False)
