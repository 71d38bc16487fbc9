"""Block Kit messages built with ``slack_sdk`` models, which enforce Slack's limits.

Pure functions: a Report (or a status, or lines) in, blocks out. Everything user- or cluster-supplied is
escaped for mrkdwn, and long text is cut with a "more" affordance so Slack never rejects a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from kubewhy.inspect import ClusterStatus
from kubewhy.models.findings import Finding, Report
from kubewhy.models.target import Target

from .public import scrub

SECTION_LIMIT = 3000
CODE_LIMIT = 2800
MAX_EVIDENCE = 8
MAX_BLOCKS = 50
SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}

ACTION_LOGS, ACTION_EVENTS, ACTION_DESCRIBE = "kubewhy_logs", "kubewhy_events", "kubewhy_describe"
ACTION_RERUN, ACTION_MORE, ACTION_APPLY = "kubewhy_rerun", "kubewhy_more", "kubewhy_apply_fix"
VIEW_CONFIRM = "kubewhy_confirm_fix"
ACTION_CHANGES = "kubewhy_changes"  # "What changed": the timeline of the last 2 h (bot/listeners/changes.py)
MAX_PAGE_CHANGES = 3  # the top changes shown on a watcher's page


def escape(text: str) -> str:
    """mrkdwn control characters: a name like ``<!channel>`` must never ping anyone."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")


def mention(user: str) -> str:
    """``<@U123>`` for a well-formed Slack user id; anything else is shown escaped, never as markup (a user id
    ``<!channel>`` taken from a payload must not become an @channel)."""
    return f"<@{user}>" if USER_ID.fullmatch(str(user)) else f"`{escape(user)}`"


def code(text: str, limit: int = CODE_LIMIT) -> str:
    text = escape(text).replace("```", "'''")
    if len(text) > limit:
        text = text[: limit - 40] + "\n… (truncated)"
    return f"```{text}```"


def cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut(text)))


def button(text: str, action_id: str, value: dict[str, Any], style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text[:75]),
        action_id=action_id,
        value=json.dumps(value, separators=(",", ":"))[:2000],
        style=style,
    )


def action_value(target: Target, incident: str | None = None, **extra: Any) -> dict[str, Any]:
    """What a button carries: the target, the incident it belongs to, and extras (a fix id)."""
    return {"t": target.ref, **({"i": incident} if incident else {}), **extra}


def investigating(target: Target, user: str) -> list[Block]:
    return [section(f":mag: {mention(user)} asked *why* `{escape(target.ref)}` — investigating…")]


def _evidence_text(finding: Finding, limit: int) -> tuple[str, int]:
    logs = [e.removeprefix("previous log: ") for e in finding.evidence if e.startswith("previous log: ")]
    other = [e for e in finding.evidence if not e.startswith("previous log: ")]
    shown = other[:limit]
    text = "\n".join(f"• {escape(e)}" for e in shown)
    hidden = len(other) - len(shown)
    if logs:
        text += "\n" + code("\n".join(logs[-8:]), 1200)
        hidden += max(len(logs) - 8, 0)
    return text, hidden


def finding_blocks(
    finding: Finding, index: int, target: Target, fix_ids: list[str | None], incident: str | None = None
) -> list[Block]:
    emoji = SEVERITY_EMOJI.get(finding.severity, "")
    subject = "" if finding.subject == target.ref else f" on `{escape(finding.subject)}`"
    head = f"{emoji} *{index}. {escape(finding.title)}*{subject}\n{escape(finding.summary)}"
    if finding.caused_by:
        head += f"\n_Caused by:_ {', '.join(f'`{escape(c)}`' for c in finding.caused_by)}"
    blocks: list[Block] = [section(head)]
    evidence, hidden = _evidence_text(finding, MAX_EVIDENCE)
    if evidence:
        more = f"\n_…and {hidden} more line(s): use *Show all evidence*_" if hidden else ""
        blocks.append(section(f"*Evidence*\n{cut(evidence, SECTION_LIMIT - 120)}{more}"))
    for fix, fix_id in zip(finding.fixes, fix_ids, strict=True):
        text = f"*Fix:* {escape(fix.title)} _(risk: {fix.risk})_"
        if fix.why:
            text += f"\n{escape(fix.why)}"
        if fix.command:
            text += "\n" + code(fix.command, 900)
        if fix.does_not_fix:
            text += f"\n_Does not fix:_ {escape(fix.does_not_fix)}"
        block = SectionBlock(text=MarkdownTextObject(text=cut(text)))
        if fix_id:
            block.accessory = button("Apply fix…", ACTION_APPLY, action_value(target, incident, f=fix_id), "primary")
        blocks.append(block)
    return blocks


def runbook_section(urls: Sequence[str]) -> SectionBlock:
    """The runbook links (http(s) URLs checked when the settings were read; escaped again here)."""
    return section(":book: Runbook: " + " · ".join(f"<{escape(u)}|{escape(u)[:80]}>" for u in urls[:5]))


def report_blocks(
    report: Report,
    fix_ids: dict[tuple[int, int], str],
    user: str = "",
    incident: str | None = None,
    runbooks: Sequence[str] = (),
) -> list[Block]:
    target = report.target
    who = f" (asked by {mention(user)})" if user else ""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=cut(f"Why {target.ref}?", 150)))]
    if report.healthy:
        blocks.append(
            section(
                f":white_check_mark: No problems found in `{escape(target.ref)}`: {len(report.checks)} checks passed."
            )
        )
    elif not report.findings:
        blocks.append(
            section(
                f":warning: Diagnosis of `{escape(target.ref)}` incomplete: {len(report.incomplete)} "
                f"of {len(report.checks)} checks could not complete, so no cause was proven "
                "(this does not mean it is healthy)."
            )
        )
    for i, finding in enumerate(report.findings, 1):
        ids = [fix_ids.get((i - 1, j)) for j in range(len(finding.fixes))]
        candidate = [DividerBlock(), *finding_blocks(finding, i, target, ids, incident)]
        if len(blocks) + len(candidate) + 3 > MAX_BLOCKS:
            blocks.append(section(f"_…{len(report.findings) - i + 1} more finding(s): use *Show all evidence*_"))
            break
        blocks += candidate
    if runbooks:
        blocks.append(runbook_section(runbooks))
    bad = [c for c in report.checks if c.status in ("error", "timeout")]
    notes = list(report.notes) + [f"{c.id}: {c.status} ({scrub(c.detail)[:80]})" for c in bad[:3]]
    context = f"{len(report.checks)} checks in {report.duration_ms:.0f} ms{who}"
    if notes:
        context += " · " + " · ".join(escape(n) for n in notes)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(context, 2000))]))
    value = action_value(target, incident)
    actions = [
        button("Show logs", ACTION_LOGS, value),
        button("Show events", ACTION_EVENTS, value),
        button("Describe", ACTION_DESCRIBE, value),
        button("Re-run", ACTION_RERUN, value),
        button("What changed", ACTION_CHANGES, value),
    ]
    if any(f.evidence for f in report.findings):
        actions.append(button("Show all evidence", ACTION_MORE, value))
    if target.kind != "Pod":
        actions = [a for a in actions if a.action_id != ACTION_LOGS]
    blocks.append(ActionsBlock(elements=actions))
    return blocks


def fallback_text(report: Report) -> str:
    """The message's top-level ``text`` (notifications, screen readers): mrkdwn too, so escaped like the blocks
    (a status reason ``<!channel>`` pings nobody)."""
    if report.healthy:
        text = f"kubewhy: no problems found in {report.target.ref}"
    elif not report.findings:
        text = f"kubewhy: diagnosis of {report.target.ref} incomplete: {len(report.incomplete)} checks failed"
    else:
        top = report.findings[0]
        text = f"kubewhy: {report.target.ref}: {top.title} — {top.summary}"
    return cut(escape(text), 3000)


def lines_messages(title: str, lines: list[str], per_message: int = CODE_LIMIT) -> list[list[Block]]:
    """Long output split into several messages, each within Slack's limits."""
    if not lines:
        return [[section(f"*{escape(title)}*\n_(nothing)_")]]
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = line[:500]
        if size + len(line) > per_message - 100 and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    out: list[list[Block]] = []
    for i, chunk in enumerate(chunks[:5]):
        part = f" ({i + 1}/{min(len(chunks), 5)})" if len(chunks) > 1 else ""
        out.append([section(f"*{escape(title)}*{part}\n{code(chr(10).join(chunk))}")])
    if len(chunks) > 5:
        out[-1].append(section(f"_…{len(chunks) - 5} more part(s) not shown; use kubectl for the full output_"))
    return out


def list_sections(title: str, lines: list[str], limit: int = SECTION_LIMIT) -> list[Block]:
    """A list in as many sections as it needs, cut between lines, never in the middle of one."""
    out: list[list[str]] = [[title]]
    size = len(title)
    for line in lines:
        line = cut(line, 500)
        if size + len(line) + 1 > limit - 10:
            out.append([])
            size = 0
        out[-1].append(line)
        size += len(line) + 1
    return [section("\n".join(chunk)) for chunk in out[:MAX_BLOCKS]]


def changes_section(lines: Sequence[str]) -> SectionBlock | None:
    """A page's top changes before the onset (:func:`kubewhy.watch.notify.cause_of` keeps them), the likely
    cause first; None when there are none."""
    if not lines:
        return None
    shown = "\n".join(f"• {escape(cut(str(line), 400))}" for line in list(lines)[:MAX_PAGE_CHANGES])
    return section(cut(f"*What changed before it started*\n{shown}"))


def all_evidence_lines(report: Report) -> list[str]:
    lines = []
    for i, f in enumerate(report.findings, 1):
        lines.append(f"{i}. {f.title} [{f.id} on {f.subject}]")
        lines += [f"   {e}" for e in f.evidence]
    return lines


def status_blocks(st: ClusterStatus) -> list[Block]:
    scope = (
        f"namespace `{escape(st.namespace)}`"
        if st.namespace
        else "namespaces " + ", ".join(f"`{escape(n)}`" for n in st.namespaces)
        if st.namespaces
        else "all namespaces"
    )
    if st.healthy:
        return [section(f":white_check_mark: {st.nodes} nodes and {st.pods} pods in {scope}: nothing unhealthy.")]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="Cluster status"))]

    def part(title: str, items: Iterable[str]) -> None:
        items = list(items)
        if items:
            shown = "\n".join(f"• `{escape(i)}`" for i in items[:15])
            more = f"\n_…and {len(items) - 15} more_" if len(items) > 15 else ""
            blocks.append(section(f"*{title}* ({len(items)})\n{shown}{more}"))

    part(":red_circle: Unhealthy nodes", st.unhealthy_nodes)
    part(":repeat: Crashing pods", st.crashing_pods)
    part(":hourglass: Pending pods", st.pending_pods)
    part(":boot: Evicted pods", st.evicted_pods)
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{st.nodes} nodes, {st.pods} pods in {scope}. Ask `/k8s why <pod>` about any of them."
                )
            ]
        )
    )
    return blocks


HELP = (
    "*kubewhy* explains why something in the cluster is broken, with evidence and fixes.\n"
    "• `/k8s why <pod>` or `/k8s why <kind>/<name> [-n namespace]` — kinds: pod, node, deploy, sts, ds, job, svc, "
    "pvc, hpa\n"
    "• `/k8s status [-n namespace]` — unhealthy nodes, crashing and pending pods, recent evictions\n"
    "• `/k8s history [<kind>/<name>]` — what was asked, found, proposed and applied\n"
    "• `/k8s playbooks` — the causes kubewhy knows\n"
    "• `/k8s incidents` — the watchers' open incidents; `/k8s mute <target> 2h`, `/k8s unmute <target>`\n"
    "• `/k8s help` — this message"
)


def help_blocks(unknown: str | None = None) -> list[Block]:
    intro = f"I don't know `{escape(unknown)}`.\n" if unknown else ""
    return [section(intro + HELP)]


def fix_modal(title: str, command: str, dry_run: str, ok: bool, metadata: str) -> View:
    status = ":white_check_mark: Dry run accepted by the API server" if ok else ":x: Dry run failed"
    return View(
        type="modal",
        callback_id=VIEW_CONFIRM,
        private_metadata=metadata[:3000],
        title=PlainTextObject(text="Apply fix"),
        close=PlainTextObject(text="Cancel"),
        submit=PlainTextObject(text="Apply") if ok else None,
        blocks=[section(f"*{escape(title)}*\n{code(command, 1500)}"), section(f"{status}\n{escape(dry_run)}")],
    )


def loading_modal(title: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Apply fix"),
        close=PlainTextObject(text="Cancel"),
        blocks=[section(f"*{escape(title)}*\n:hourglass_flowing_sand: Running a server-side dry run…")],
    )


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]
