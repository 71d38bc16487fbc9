"""A report as terminal text, Markdown or JSON (the formats of ``kubewhy why -o``)."""

from __future__ import annotations

import json

from ..models.findings import Report

ICON = {"critical": "✖", "warning": "▲", "info": "•"}


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def to_text(report: Report, *, verbose: bool = False) -> str:
    lines = [f"kubewhy: {report.target.ref}"]
    if report.healthy:
        lines.append(f"  No problems found: {len(report.checks)} checks passed in {report.duration_ms:.0f} ms.")
    elif not report.findings:
        lines.append(
            f"  Diagnosis incomplete: {len(report.incomplete)} of {len(report.checks)} checks could not "
            "complete (below), so no cause was proven; this does not mean the target is healthy."
        )
    for i, f in enumerate(report.findings, 1):
        lines.append("")
        lines.append(f"{i}. {ICON.get(f.severity, '•')} [{f.severity}] {f.title}  ({f.id}, {f.subject})")
        lines.append(f"   {f.summary}")
        if f.caused_by:
            lines.append(f"   Caused by: {', '.join(f.caused_by)}")
        if f.evidence:
            lines.append("   Evidence:")
            lines.extend(f"     - {e}" for e in f.evidence)
        if f.fixes:
            lines.append("   Fixes:")
            for fix in f.fixes:
                lines.append(f"     * {fix.title} (risk: {fix.risk})")
                if fix.why:
                    lines.append(f"       why: {fix.why}")
                if fix.command:
                    lines.extend(f"       $ {c}" for c in fix.command.splitlines())
                if fix.does_not_fix:
                    lines.append(f"       does not fix: {fix.does_not_fix}")
    for note in report.notes:
        lines.append(f"\nnote: {note}")
    bad = [c for c in report.checks if c.status in ("error", "timeout")]
    if bad:
        lines.append("\nChecks that could not complete:")
        lines.extend(f"  - {c.id}: {c.status} {c.detail}" for c in bad)
    if verbose:
        lines.append("\nChecks:")
        lines.extend(f"  {c.status:8} {c.duration_ms:7.1f} ms  {c.id}  {c.detail}" for c in report.checks)
    lines.append(f"\n({report.duration_ms:.0f} ms, {report.api_requests} API requests)")
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    out = [f"## kubewhy: `{report.target.ref}`", ""]
    if report.healthy:
        out.append(f"No problems found ({len(report.checks)} checks, {report.duration_ms:.0f} ms).")
    elif not report.findings:
        out.append(
            f"**Diagnosis incomplete:** {len(report.incomplete)} of {len(report.checks)} checks could not "
            "complete, so no cause was proven; this does not mean the target is healthy."
        )
    elif report.incomplete:
        out.append(f"*Diagnosis incomplete: {len(report.incomplete)} checks could not complete.*")
    for i, f in enumerate(report.findings, 1):
        out.append(f"### {i}. {f.title} — *{f.severity}*")
        out.append(f"`{f.id}` on `{f.subject}`: {f.summary}")
        if f.caused_by:
            out.append(f"\n**Caused by:** {', '.join(f'`{c}`' for c in f.caused_by)}")
        if f.evidence:
            out.append("\n**Evidence**\n")
            out.extend(f"- {e}" for e in f.evidence)
        if f.fixes:
            out.append("\n**Fixes**\n")
            for fix in f.fixes:
                out.append(f"- **{fix.title}** (risk: {fix.risk}){' — ' + fix.why if fix.why else ''}")
                if fix.command:
                    out.append(f"  ```\n  {fix.command}\n  ```")
        out.append("")
    for note in report.notes:
        out.append(f"> {note}")
    return "\n".join(out)
