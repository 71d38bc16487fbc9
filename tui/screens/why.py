"""``w``: the core's diagnosis of the selected object, shown as it runs.

The application's diagnosis (``Kubewhy.diagnose``, through the session) runs in an exclusive worker (pressing
``r`` cancels a running one and starts again); each check's result is printed as it ends. Then the causes,
ranked by the core, with their evidence; terminal charts of the metric evidence when Prometheus has the series;
and the fixes: ``c`` copies the highlighted fix's command, ``a`` applies it after a confirmation screen that
shows the server-side dry run, whose credentials are used and what is checked just before
(:mod:`tui.screens.confirm`).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Log, OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from kubewhy.errors import KubewhyError
from kubewhy.models.findings import CheckResult, Finding, Fix, Report
from kubewhy.models.target import Target

from ..markup import escape
from .base import Base
from .confirm import ConfirmFix

COLOURS = {"critical": "red", "warning": "yellow", "info": "cyan"}
CHANGES_SHOWN = 12  # lines of the change timeline on the why screen
MARKS = {"ok": "✓", "failed": "✗", "skipped": "·", "error": "!", "timeout": "⌛"}


def check_line(result: CheckResult) -> str:
    return f"{MARKS.get(result.status, '?')} {result.id:<56} {result.status:<8} {result.duration_ms:7.1f} ms" + (
        f"  {result.detail[:100]}" if result.detail and result.status != "ok" else ""
    )


def shown_evidence(report: Report) -> list[list[str]]:
    """Each finding's evidence as it is worth reading: a line that only names a source with nothing after it
    (``previous log:`` for a blank log line) is left out, and a line already shown, under this finding or an
    earlier one, is not shown again."""
    seen: set[str] = set()
    out: list[list[str]] = []
    for f in report.findings:
        kept = []
        for e in f.evidence:
            text = " ".join(e.split())
            if not text or text.endswith(":") or text in seen:
                continue
            seen.add(text)
            kept.append(e)
        out.append(kept)
    return out


def causes_markup(report: Report) -> str:
    """The ranked findings, evidence under each, as Rich markup (every value from the cluster escaped)."""
    if report.healthy:
        return "[green b]No problems found.[/] Every check completed."
    out: list[str] = []
    for rank, (f, evidence) in enumerate(zip(report.findings, shown_evidence(report), strict=True), 1):
        colour = COLOURS.get(f.severity, "white")
        caused = f"  [dim](caused by {escape(', '.join(f.caused_by))})[/]" if f.caused_by else ""
        out.append(
            f"[b]{rank}. [{colour}]{f.severity.upper()}[/] {escape(f.title)}[/]  "
            f"[dim]{escape(f.subject)} · {escape(f.id)}[/]{caused}"
        )
        out.append(f"   {escape(f.summary)}")
        out += [f"   [dim]•[/] {escape(e)}" for e in evidence]
    for c in report.incomplete:
        out.append(f"[red]check {escape(c.id)} did not complete ({c.status}): {escape(c.detail)}[/]")
    out += [f"[dim]{escape(n)}[/]" for n in report.notes]
    return "\n".join(out)


def unique_fixes(report: Report) -> list[tuple[Finding, Fix]]:
    """The fixes in rank order, each command once (two findings proposing one command list it under the first)."""
    seen: set[str] = set()
    out = []
    for f in report.findings:
        for fix in f.fixes:
            key = " ".join(fix.command.split())
            if key not in seen:
                seen.add(key)
                out.append((f, fix))
    return out


class WhyScreen(Base):
    BINDINGS = [
        Binding("c", "copy", "Copy fix"),
        Binding("a", "apply", "Apply fix"),
        Binding("r", "rerun", "Re-run"),
    ]

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target
        self.title_text = f"why {target.ref}"
        self.report: Report | None = None
        self.fixes: list[tuple[Finding, Fix]] = []

    def body(self) -> ComposeResult:
        with VerticalScroll(id="why"):
            yield Static("", id="why-state")
            yield Log(id="progress", max_lines=2000)
            yield Static("", id="causes")
            yield Static("", id="changes")
            yield VerticalScroll(id="charts")
            yield Static("[b]Fixes[/b]  (c: copy the command · a: apply after a dry run)", id="fixes-title")
            yield OptionList(id="fixes")

    def on_mount(self) -> None:
        self.query_one("#fixes-title").display = False
        self.query_one("#fixes").display = False
        self.diagnose()

    def action_rerun(self) -> None:
        self.diagnose()

    @work(exclusive=True, group="diagnosis")
    async def diagnose(self) -> None:
        progress = self.query_one("#progress", Log)
        progress.clear()
        state = self.query_one("#why-state", Static)
        state.update(f"[b]Diagnosing {escape(self.target.ref)}[/b] …")
        self.query_one("#causes", Static).update("")
        counted = [0]

        def on_check(result: CheckResult) -> None:
            counted[0] += 1
            progress.write_line(check_line(result))
            state.update(f"[b]Diagnosing {escape(self.target.ref)}[/b] … {counted[0]} checks done")

        try:
            report = await self.tui.session.diagnose(self.target, on_check)
        except KubewhyError as exc:
            state.update(f"[red b]Could not diagnose {escape(self.target.ref)}:[/] {escape(str(exc))}")
            return
        self.report = report
        state.update(
            f"[b]{escape(self.target.ref)}[/b]: {len(report.findings)} finding(s), "
            f"{len(report.checks)} checks in {report.duration_ms:.0f} ms, {report.api_requests} API requests"
        )
        self.query_one("#causes", Static).update(causes_markup(report))
        self.show_changes()
        self.show_fixes(report)
        await self.show_charts(report)

    def show_fixes(self, report: Report) -> None:
        self.fixes = unique_fixes(report)
        options = self.query_one("#fixes", OptionList)
        options.clear_options()
        for i, (finding, fix) in enumerate(self.fixes):
            applies = "" if fix.patch is not None else " [dim](copy only)[/]"
            options.add_option(
                Option(
                    f"[b]{escape(fix.title)}[/] [dim]risk {fix.risk} · {escape(finding.id)}[/]"
                    f"{applies}\n  [cyan]{escape(fix.command)}[/]",
                    id=str(i),
                )
            )
        shown = bool(self.fixes)
        self.query_one("#fixes-title").display = shown
        options.display = shown
        if shown:
            options.highlighted = 0
            options.focus()

    @work(group="changes", exclusive=True)
    async def show_changes(self) -> None:
        """The changes pane: the core's change timeline of the target (``:changes`` shows it whole)."""
        box = self.query_one("#changes", Static)
        box.update("[b]What changed[/b] …")
        try:
            lines = await self.tui.session.changes(self.target)
        except KubewhyError as exc:
            box.update(f"[b]What changed[/b]  [dim]could not be read: {escape(str(exc))}[/]")
            return
        shown = lines[:CHANGES_SHOWN]
        more = (
            f"\n[dim]… {len(lines) - len(shown)} more line(s): :changes shows them all[/]"
            if lines[len(shown) :]
            else ""
        )
        box.update("[b]What changed[/b]\n" + escape("\n".join(shown)) + more)

    async def show_charts(self, report: Report) -> None:
        box = self.query_one("#charts", VerticalScroll)
        await box.remove_children()
        for finding in report.findings:
            if not finding.chart:
                continue
            try:
                data = await self.tui.session.chart(finding)
            except KubewhyError as exc:
                await box.mount(Static(f"[dim]chart of {escape(finding.id)}: {escape(str(exc))}[/]"))
                continue
            plot = PlotextPlot(classes="chart")
            plt = plot.plt
            for label, points in data.series:
                plt.plot([t - points[-1][0] for t, _ in points], [v for _, v in points], label=label)
            for label, value in data.lines.items():
                plt.hline(value)
                plt.text(label, x=0, y=value)
            plt.title(f"{data.title} ({data.unit or 'value'}) — last hour")
            plt.xlabel("seconds before now")
            await box.mount(plot)

    def _fix(self) -> tuple[Finding, Fix] | None:
        index = self.query_one("#fixes", OptionList).highlighted
        if index is None or not 0 <= index < len(self.fixes):
            self.notify("no fix selected", severity="warning")
            return None
        return self.fixes[index]

    def action_copy(self) -> None:
        chosen = self._fix()
        if chosen is None:
            return
        self.tui.copy_to_clipboard(chosen[1].command)
        self.tui.session.record("copy_fix", self.target)
        self.notify(f"copied: {chosen[1].command}", title="fix command")

    def action_apply(self) -> None:
        chosen = self._fix()
        if chosen is None:
            return
        finding, fix = chosen
        if fix.patch is None:
            self.notify("this fix has no patch kubewhy can apply: copy its command (c)", severity="warning")
            return
        self.tui.push_screen(ConfirmFix(self.target, finding, fix))
