"""Who a person is in Kubernetes: a front-end's users and groups (Slack user ids ``U…``/``W…``, user-group ids
``S…``) mapped to the Kubernetes user and groups a fix they approve is applied as (``KUBEWHY_SLACK_IDENTITIES``,
a YAML file; docs/slack.md). The dry run, the access review and the patch then impersonate that user, and the
API server's own RBAC decides; a person with no mapping applies nothing (there is no fallback to the bot's rights).

    # Slack id: {user: KUBERNETES-USER, groups: [KUBERNETES-GROUP, ...]}
    U0ALICE: {user: alice@example.com, groups: [sre]}
    U0BOB:   {user: bob@example.com}
    S0SRE:   {groups: [sre]}            # everyone in the Slack group also gets the Kubernetes group sre

A person's Kubernetes user comes from their own entry (or, failing that, the first of their Slack groups' entries
that names one); their groups are the union of every matching entry's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .yamlsrc import mapping_entries, read_source

SUBJECT = re.compile(r"[UWS][A-Z0-9]{2,20}")
NAME = re.compile(r"[^\s,]{1,253}")
FORBIDDEN_GROUPS = ("system:masters",)  # a mapping that grants cluster-admin is refused, not trusted


class IdentityError(UsageError):
    """An identity map that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class KubeIdentity:
    """A Kubernetes user and its groups, as impersonated."""

    user: str
    groups: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.user + (f" (groups {', '.join(self.groups)})" if self.groups else "")


@dataclass(frozen=True)
class Entry:
    user: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class IdentityMap:
    """The mapping (see the module docstring); ``subjects()`` are the Kubernetes names it can impersonate (the Helm
    chart's ``impersonate`` rule lists exactly these)."""

    entries: Mapping[str, Entry]
    source: str = ""

    def resolve(self, person: str, groups: Iterable[str] = ()) -> KubeIdentity | None:
        """The Kubernetes identity of ``person`` (a member of the front-end ``groups``), or None: not mapped."""
        own = self.entries.get(person)
        found = [self.entries[g] for g in groups if g in self.entries]
        user = own.user if own is not None and own.user else next((e.user for e in found if e.user), None)
        if user is None:
            return None
        names: list[str] = []
        for entry in ([own] if own is not None else []) + found:
            names += [g for g in entry.groups if g not in names]
        return KubeIdentity(user, tuple(names))

    def groups_needed(self) -> tuple[str, ...]:
        """The front-end groups whose membership matters (``S…`` entries)."""
        return tuple(k for k in self.entries if k.startswith("S"))

    def subjects(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(Kubernetes users, Kubernetes groups) this map can impersonate."""
        users = sorted({e.user for e in self.entries.values() if e.user})
        groups = sorted({g for e in self.entries.values() for g in e.groups})
        return tuple(users), tuple(groups)


def load_identities(path: Path) -> IdentityMap:
    """Read and check the map; :class:`IdentityError` with ``file:line`` for anything wrong."""
    return parse_identities(read_source(path, "the identity map", IdentityError), str(path))


def parse_identities(text: str, source: str = "<identities>") -> IdentityMap:
    found = mapping_entries(text, source, IdentityError, expected="Slack ids to {user: …, groups: […]}")
    entries: dict[str, Entry] = {}
    for item in found:
        where, subject, value = item.where, item.key, item.value
        if not SUBJECT.fullmatch(subject):
            raise IdentityError(f"{where}: {subject!r} is not a Slack user (U…, W…) or user-group (S…) id")
        if not isinstance(value, dict) or set(value) - {"user", "groups"}:
            raise IdentityError(f"{where}: {subject}: expected {{user: NAME, groups: [NAME, …]}}")
        user, groups = value.get("user"), value.get("groups") or []
        if user is not None and not (isinstance(user, str) and NAME.fullmatch(user)):
            raise IdentityError(f"{where}: {subject}: user must be one Kubernetes user name")
        if subject.startswith("S") and user is not None:
            raise IdentityError(f"{where}: {subject}: a Slack group maps to groups only (a user is one person)")
        if not isinstance(groups, list) or not all(isinstance(g, str) and NAME.fullmatch(g) for g in groups):
            raise IdentityError(f"{where}: {subject}: groups must be a list of Kubernetes group names")
        bad = [g for g in groups if g in FORBIDDEN_GROUPS]
        if bad:
            raise IdentityError(f"{where}: {subject}: {bad[0]} would make every fix cluster-admin: not allowed")
        entries[subject] = Entry(user, tuple(groups))
    return IdentityMap(entries, source)


__all__ = ["IdentityError", "IdentityMap", "KubeIdentity", "load_identities", "parse_identities"]
