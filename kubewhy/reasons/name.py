"""Matches → findings: the cause Kubernetes named, with its words as evidence and a next step.

A finding id that a bundled playbook also gives keeps that playbook's title, severity and stage, so the same
cause reads the same whichever path found it; the vocabulary's ``findings:`` section gives the rest. Informational
entries name no finding: they are what a healthy object also says (``Scheduled``, ``Pulled``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.findings import Finding, Fix
from .match import Match
from .vocabulary import Vocabulary

MAX_EVIDENCE = 6


@dataclass(frozen=True)
class Known:
    """A bundled playbook's face for a finding id."""

    title: str
    severity: str
    stage: str


@dataclass(frozen=True)
class About:
    """The object the matches were found on, for the finding's subject and the next step's command."""

    ref: str
    kind: str
    namespace: str | None
    name: str
    node: str = ""

    def fill(self, command: str) -> str:
        ns = self.namespace or "default"
        return (
            command.replace("{namespace}", ns)
            .replace("{kind}", self.kind.lower())
            .replace("{name}", self.name)
            .replace("{node}", self.node or "<node>")
        )


def findings(
    vocabulary: Vocabulary,
    matches: list[Match],
    about: About,
    known: Callable[[str], Known | None],
    judged_absent: frozenset[str] = frozenset(),
) -> list[Finding]:
    """The cause of the first match in the vocabulary's order (specific entries come before generic ones, so a
    pod's ``status.reason: Terminated`` for a node shutdown is named before its generic phase ``Failed``); its
    evidence quotes every match of that finding. ``judged_absent``: findings a playbook examined on this object
    and found absent. A phase alone is a state, not a cause (a claim Pending for its first consumer is fine), so a
    phase entry does not overrule that playbook; a reason, a message or an event does (a paste of events alone
    gives the playbook too little to judge)."""
    grouped: dict[str, list[Match]] = {}
    for m in matches:
        if m.entry.finding and not (m.entry.where == "phase" and m.entry.finding in judged_absent):
            grouped.setdefault(m.entry.finding, []).append(m)
    grouped = dict(list(grouped.items())[:1])
    out: list[Finding] = []
    for fid, ms in grouped.items():
        info = vocabulary.findings[fid]
        face = known(fid)
        first = ms[0].entry
        reason = _reason_word(first.example, first.match)
        evidence = tuple(dict.fromkeys(m.quote for m in ms))[:MAX_EVIDENCE]
        step = info.next_step
        out.append(
            Finding(
                id=fid,
                title=face.title if face else info.title,
                severity=(face.severity if face else info.severity) or "warning",  # type: ignore[arg-type]
                summary=f"Kubernetes reports {reason} on {about.kind.lower()} {about.name}: {first.why}",
                subject=about.ref,
                stage=(face.stage if face else info.stage) or "pod",
                evidence=evidence,
                fixes=(Fix(title=step.title, command=about.fill(step.command), risk="low", why=step.why),),
                source=f"{vocabulary.source}#{first.id}",
            )
        )
    return out


def _reason_word(example: dict[str, Any], match: dict[str, Any]) -> str:
    """The word a reader recognises: the reason, the condition, the taint key, or the message fragment."""
    for key in ("reason", "key", "phase"):
        if example.get(key):
            return str(example[key])
    if example.get("type"):
        return f"{example['type']}={example.get('status', '')}"
    return repr(str(example.get("message") or match.get("message") or "")[:80])
