"""What changed, as typed values: one :class:`Change` per thing the API still says happened, a :class:`Timeline` of
them for one target. Never a value of a Secret, a ConfigMap or an env variable: names, times and who."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# What a change touched: the blame rules and the ranking read it.
Area = Literal[
    "image", "resources", "env", "command", "probes", "template", "config", "scale", "node", "metadata", "spec"
]


@dataclass(frozen=True)
class Change:
    at: datetime  # when (UTC): a ReplicaSet's creation, a managedFields entry's time, an event's last time
    subject: str  # the object changed, as a finding names it (deploy/shop/pricing)
    summary: str  # one line: "revision 8: image pricing: 2.9.1 → 3.0.0"
    areas: tuple[Area, ...] = ()
    details: tuple[str, ...] = ()  # one line per difference (never a value of a Secret, ConfigMap or env)
    who: str = ""  # the managedFields manager, the event's source, or "" when the API does not say
    operation: str = ""  # managedFields' Apply/Update, "rollout", "event", "condition"
    cause: str = ""  # kubernetes.io/change-cause, when set
    source: str = ""  # where it was read: ReplicaSet, ControllerRevision, managedFields, Event, status
    lowered: tuple[str, ...] = ()  # resources that went down (memory limit of container app): the blame rules
    digests: tuple[tuple[str, str], ...] = ()  # (ConfigMap key, keyed HMAC of its new value): never the value

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": self.subject,
            "summary": self.summary,
            "areas": list(self.areas),
            "details": list(self.details),
            "who": self.who,
            "operation": self.operation,
            "cause": self.cause,
            "source": self.source,
            **({"digests": dict(self.digests)} if self.digests else {}),
        }


@dataclass(frozen=True)
class Ranked:
    """A change seen before a diagnosis' onset: how long before, and whether it plausibly explains the failure."""

    change: Change
    before_s: float  # seconds from the change to the onset
    blamed: str = ""  # why it plausibly explains the failure ("image changed, then ImagePullBackOff"), else ""


@dataclass
class Timeline:
    target: str
    since: datetime
    until: datetime
    changes: list[Change] = field(default_factory=list)  # oldest first
    notes: list[str] = field(default_factory=list)  # what could not be read, and why the history is short
    subjects: list[str] = field(default_factory=list)  # the objects it covers (refs): the change log is read for them

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "since": self.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": self.until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }
