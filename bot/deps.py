"""What the bot's listeners use: the core's ports and a few small registries. No diagnosis logic here."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kubewhy.models.findings import Fix, Patch, Report
from kubewhy.models.target import Target
from kubewhy.playbooks.loader import Catalog
from kubewhy.service import Deps

from .settings import BotSettings

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
    settings: BotSettings
    kube: Any  # a KubeReader that is also a KubeWriter (LiveKube)
    catalog: Catalog
    prom: Any = None
    audit: Any = None  # kubewhy.audit.AuditLog, optional
    fixes: Bounded[str, ProposedFix] = field(default_factory=Bounded)
    reports: Bounded[tuple[str, str], Report] = field(default_factory=Bounded)

    def core(self) -> Deps:
        return Deps(kube=self.kube, catalog=self.catalog, prom=self.prom)

    def readable(self, namespace: str | None) -> bool:
        return "*" in self.settings.namespaces or namespace is None or namespace in self.settings.namespaces

    def allowed_ids(self, namespace: str | None) -> list[str]:
        return self.settings.allow.get(namespace or "", []) + self.settings.allow.get("*", [])
