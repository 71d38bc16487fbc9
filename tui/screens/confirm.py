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
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kubewhy.errors import KubewhyError
from kubewhy.fixes import describe_patch
from kubewhy.lifecycle import Action, AlreadyApplied, Identity
from kubewhy.models.findings import Finding, Fix
from kubewhy.models.target import Target

from ..actions import ACTION_ID
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


class ConfirmBatch(ModalScreen[bool]):
    """The same key on every marked row (space): one confirmation naming every object, each its own proposal in
    the core's lifecycle — each dry-run server-side, pre-checked (RBAC, the same object) and applied on its own,
    so every object has its own audit rows. ``y`` is offered once every dry run is accepted; ``n`` declines
    them all."""

    BINDINGS = [Binding("y", "apply", "Apply all"), Binding("n,escape", "cancel", "Cancel")]

    def __init__(self, title: str, items: list[tuple[Target, Fix]]) -> None:
        super().__init__()
        self.title_text, self.items = title, items
        self.actions: list[Action | None] = []
        self.states: list[str] = ["proposed"] * len(items)
        self.dry_run_ok = False
        self.applying = False
        self.finished = False  # applied, some not: the dialog stays, with each result, until closed

    @property
    def kubewhy(self) -> Kubewhy:
        assert isinstance(self.app, Host)
        return self.app.session.kubewhy

    @staticmethod
    def object_line(fix: Fix) -> str:
        patch = fix.patch
        assert patch is not None
        where = f"{patch.namespace}/{patch.name}" if patch.namespace else patch.name
        return f"Object: [b]{escape(patch.kind)} {escape(where)}[/b]"

    def compose(self) -> ComposeResult:
        risk = max((fix.risk for _, fix in self.items), key=("low", "medium", "high").index, default="low")
        with Vertical(id="confirm"):
            yield Static(
                f"[b]Apply: {escape(self.title_text)} — {len(self.items)} marked objects[/b]  [dim](risk {risk})[/]"
            )
            with VerticalScroll(id="batch-objects"):  # every object named, however many are marked
                for i, (_, fix) in enumerate(self.items):
                    yield Static(f"{self.object_line(fix)}  [cyan]{escape(fix.command)}[/]", id=f"object-{i}")
            yield Static("", id="acting-as")
            yield Static("Server-side dry runs … ", id="dry-run")
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply all (y)", id="apply", variant="error", disabled=True)
                yield Button("Cancel (n)", id="cancel")

    def _show(self, i: int, state: str) -> None:
        self.states[i] = state
        _, fix = self.items[i]
        self.query_one(f"#object-{i}", Static).update(f"{self.object_line(fix)}  ·  {state}")

    def on_mount(self) -> None:
        for i, (target, fix) in enumerate(self.items):
            try:
                action = self.kubewhy.propose_fix(fix, target=target, finding_id=ACTION_ID)
            except KubewhyError as exc:
                self.actions.append(None)
                self._show(i, f"[red]cannot be applied:[/] {escape(str(exc))}")
                continue
            self.actions.append(action)
        first = next((a for a in self.actions if a is not None), None)
        if first is not None:
            self.query_one("#acting-as", Static).update(identity_markup(first.acting_as))
        self.run_dry_runs()

    @work(exclusive=True)
    async def run_dry_runs(self) -> None:
        accepted = 0
        for i, action in enumerate(self.actions):
            if action is None:
                continue
            try:
                result = await self.kubewhy.dry_run(action)
            except KubewhyError as exc:
                self._show(i, f"[red]✗ dry run failed:[/] {escape(str(exc))}")
                continue
            accepted += result.ok
            mark = "[green]✓ dry run accepted[/]" if result.ok else "[red]✗ dry run refused[/]"
            self._show(i, f"{mark}: {escape(result.message)}")
        total = len(self.items)
        self.dry_run_ok = accepted == total
        box = self.query_one("#dry-run", Static)
        if self.dry_run_ok:
            box.update(f"[green]{accepted} of {total} dry runs accepted[/]: y applies each, pre-checked first")
        else:
            box.update(f"[red]{accepted} of {total} dry runs accepted[/]: nothing applied (unmark the others)")
        self.query_one("#apply", Button).disabled = not self.dry_run_ok

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_apply(self) -> None:
        if not self.dry_run_ok:
            self.notify("not every dry run has been accepted: nothing to apply", severity="warning")
            return
        if self.applying:
            return
        self.applying = True
        self.query_one("#apply", Button).disabled = True
        self.apply_all()

    @work(group="apply")
    async def apply_all(self) -> None:
        applied = 0
        for i, action in enumerate(self.actions):
            assert action is not None  # every dry run was accepted
            try:
                result = await self.kubewhy.apply(action)
            except KubewhyError as exc:
                self._show(i, f"[red]✗ not applied:[/] {escape(str(exc))}")
                continue
            if action.state == "declined":
                self._show(i, f"[red]✗ pre-check failed, not applied:[/] {escape(result.message)}")
            elif result.ok:
                applied += 1
                self._show(i, f"[green]✓ applied[/]: {escape(result.message)}")
            else:
                self._show(i, f"[red]✗ apply failed:[/] {escape(result.message)}")
        total = len(self.actions)
        message = f"{self.title_text}: {applied} of {total} applied"
        if applied == total:
            self.app.notify(message, title="applied")
            self.dismiss(True)
            return
        self.query_one("#dry-run", Static).update(f"[red]{escape(message)}[/] (each object's result above)")
        self.query_one("#cancel", Button).label = "Close (n)"
        self.finished = True
        self.notify(message, title="not all applied", severity="error")

    def action_cancel(self) -> None:
        if self.applying and not self.finished:
            return  # being applied: the results close the dialog
        for action in self.actions:
            if action is not None and action.approved_by is None and action.state != "declined":
                self.kubewhy.decline(action, reason="cancelled in the confirm dialog")
        self.dismiss(False)
