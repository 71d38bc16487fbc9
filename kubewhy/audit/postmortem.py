"""A blameless post-mortem draft in Markdown from what the audit log recorded about one incident.

Causes are listed as a chain (root causes first, then what each one caused): a post-mortem that names only the
root cause misses most of the lessons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .store import PostmortemData, target_ref


def _ts(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def _cell(text: Any) -> str:
    return str(text if text not in (None, "") else "—").replace("|", "\\|").replace("\n", " ")


def _duration(a: datetime, b: datetime | None) -> str:
    if b is None:
        return "still open"
    minutes = int((b - a).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _causes(data: PostmortemData) -> list[str]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for d in data.diagnoses:
        for f in d.findings:
            k = (f.get("id", ""), f.get("subject", ""))
            entry = seen.setdefault(k, {**f, "first": d.created_at, "count": 0})
            entry["count"] += 1
    if not seen:
        return ["No cause was found by a recorded diagnosis."]
    caused_by = {fid: set(e.get("caused_by", [])) for (fid, _), e in seen.items()}
    roots = [e for e in seen.values() if not e.get("caused_by")]
    out = []
    for e in sorted(seen.values(), key=lambda e: (bool(e.get("caused_by")), e["first"])):
        role = (
            "root cause"
            if e in roots and any(e["id"] in cs for cs in caused_by.values())
            else ("consequence of " + ", ".join(f"`{c}`" for c in e["caused_by"]) if e.get("caused_by") else "cause")
        )
        out.append(
            f"- **{e.get('title', e['id'])}** (`{e['id']}`, {e.get('subject', '')}; {role}; "
            f"{e.get('severity', '')}) — first seen {_ts(e['first'])}, in {e['count']} diagnosis(es)"
        )
        if e.get("summary"):
            out.append(f"  - {e['summary']}")
        out.extend(f"  - evidence: {ev}" for ev in e.get("evidence", [])[:5])
    return out


def render(data: PostmortemData) -> str:
    i = data.incident
    lines = [
        f"# Post-mortem: {i.title} ({i.ref})",
        "",
        "_Blameless: this records what people and kubewhy did and saw, to learn from it, not whom to blame._",
        "",
        f"- **Opened:** {_ts(i.opened_at)} by {i.opened_by or '—'} ({i.source})",
        f"- **Resolved:** {_ts(i.resolved_at)}" + (f" by {i.resolved_by}" if i.resolved_by else ""),
        f"- **Duration:** {_duration(i.opened_at, i.resolved_at)}",
        f"- **Recorded:** {len(data.diagnoses)} diagnoses, {len(data.alerts)} alerts, {len(data.fixes)} fix proposals",
        "",
    ]
    if i.summary:
        lines += ["## Summary", "", i.summary, ""]
    lines += ["## Timeline", "", "| Time (UTC) | Who | Where | What | Target |", "|---|---|---|---|---|"]
    for h in data.timeline:
        where = h.source + (f" {h.channel}" if h.channel else "")
        lines.append(
            f"| {h.at.strftime('%Y-%m-%d %H:%M:%S')} | {_cell(h.actor)} | {_cell(where)} | "
            f"{_cell(h.kind + ': ' + h.summary)} | {_cell(h.target)} |"
        )
    lines += ["", "## Causes found", "", *_causes(data), "", "## Alerts", ""]
    if data.alerts:
        lines += ["| Rule | Target | Fired | Resolved | Channel | Message |", "|---|---|---|---|---|---|"]
        for a in data.alerts:
            lines.append(
                f"| {_cell(a.rule)} | {_cell(target_ref(a.target_kind, a.target_namespace, a.target_name))}"
                f" | {_ts(a.created_at)} | {_ts(a.resolved_at)} | {_cell(a.channel)} | "
                f"{_cell(a.message_ts or a.message_id)} |"
            )
    else:
        lines.append("No alert was recorded for this incident. Did one fire? If not, that is a finding too.")
    lines += ["", "## Fixes", ""]
    if data.fixes:
        lines += ["| Fix | Proposed | State | Decided by | Dry run | Applied |", "|---|---|---|---|---|---|"]
        for f in data.fixes:
            decided = (
                f"approved by {f.approved_by} at {_ts(f.approved_at)}"
                if f.approved_by
                else f"declined by {f.declined_by} at {_ts(f.declined_at)}"
                if f.declined_by
                else "—"
            )
            lines.append(
                f"| {_cell(f.title)} (`{f.playbook_id}`) | {_ts(f.proposed_at)} by {_cell(f.proposed_by)}"
                f" | {f.state} | {_cell(decided)} | {_cell(_result(f.dry_run_result))} | "
                f"{_cell(_result(f.applied_result))} |"
            )
        commands = [f for f in data.fixes if f.command]
        if commands:
            lines += ["", "Commands:", ""]
            for f in commands:
                lines += [
                    f"- {f.title} ({f.state}):",
                    "",
                    "  ```",
                    *[f"  {c}" for c in f.command.splitlines()],
                    "  ```",
                ]
    else:
        lines.append("No fix was proposed through kubewhy.")
    lines += [
        "",
        "## Follow-ups",
        "",
        "- [ ] What detected this, and could it have been detected sooner?",
        "- [ ] For each cause above (not only the root cause): what prevents it next time?",
        "",
    ]
    return "\n".join(lines)


def _result(result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    if "ok" in result:
        text = "ok" if result["ok"] else "failed"
        return text + (f": {result['message']}" if result.get("message") else "")
    return ", ".join(f"{k}={v}" for k, v in result.items())
