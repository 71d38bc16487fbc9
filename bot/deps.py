"""What the bot's listeners use: the core's :class:`Deps` (from :mod:`kubewhy.compose`), the Slack settings and a
few small registries. No diagnosis logic here."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kubewhy.audit.ledger import Ledger
from kubewhy.models.findings import Fix, Patch, Report
from kubewhy.models.target import Target
from kubewhy.playbooks.loader import Catalog
from kubewhy.service import Deps
from kubewhy.settings import SlackSettings

K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V], Generic[K, V]):
    """An LRU map: the bot keeps recent reports and fix proposals without growing forever."""

    def __init__(self, size: int = 1000):
        super().__init__()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass(frozen=True)
class ProposedFix:
    id: str
    target: Target
    finding_id: str
    fix: Fix
    patch: Patch
    audit_key: uuid.UUID | None = None


@dataclass
class BotDeps:
    core: Deps  # kube reader (a LiveKube, which can also patch), metrics, catalog, audit
    slack: SlackSettings
    default_namespace: str = "default"
    fixes: Bounded[str, ProposedFix] = field(default_factory=Bounded)
    reports: Bounded[tuple[str, str], Report] = field(default_factory=Bounded)
    applying: Bounded[str, str] = field(default_factory=Bounded)  # fix id -> who submitted Apply (once only)
    ledger: Ledger | None = None  # the watchers' incident ledger (acknowledge, resolve, mute, incidents)

    @property
    def kube(self) -> Any:
        return self.core.kube

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    @property
    def prom(self) -> Any:
        return self.core.prom

    def readable(self, namespace: str | None) -> bool:
        return "*" in self.slack.namespaces or namespace is None or namespace in self.slack.namespaces

    def readable_namespaces(self) -> tuple[str, ...] | None:
        """The namespaces the bot may read, or None for all."""
        return None if "*" in self.slack.namespaces else self.slack.namespaces

    def allowed_ids(self, namespace: str | None) -> list[str]:
        return [*self.slack.allow.get(namespace or "", ()), *self.slack.allow.get("*", ())]
