"""Who calls, what they may read, and what leaves: the MCP front-end's identity, namespace scope and output
safety. No ``mcp`` import here, so the rules are testable without the SDK.

The namespace rule is the bot's (``KUBEWHY_SLACK_NAMESPACES``): ``*`` reads everything, a cluster-scoped target
(a node) is always readable, anything else only in the listed namespaces. History is filtered by the core
(:meth:`kubewhy.app.Kubewhy.history` ``namespaces=``), as the bot asks for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..adapters.delegate import DelegatingKube
from ..adapters.ports import Capabilities
from ..errors import UsageError
from ..models.target import validate_namespace
from ..redact import redact_text
from ..settings import Settings


@dataclass(frozen=True)
class Caller:
    """One MCP caller: over stdio the OS user (``$USER``); ``namespaces`` as the bot's (``("*",)``: all)."""

    name: str
    namespaces: tuple[str, ...] = ("*",)

    def readable(self, namespace: str | None) -> bool:
        return "*" in self.namespaces or namespace is None or namespace in self.namespaces

    def readable_namespaces(self) -> tuple[str, ...] | None:
        """The namespaces this caller may read, or None for all (what :meth:`Kubewhy.history` takes)."""
        return None if "*" in self.namespaces else self.namespaces


def parse_namespaces(text: str, what: str) -> tuple[str, ...]:
    """``shop,payments`` or ``*``; :class:`UsageError` naming ``what`` for a name Kubernetes would refuse."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for n in names:
        if n != "*":
            try:
                validate_namespace(n)
            except UsageError as exc:
                raise UsageError(f"{what}: {exc}") from None
    return names or ("*",)


def stdio_caller(settings: Settings, namespaces: str | None = None) -> Caller:
    """The stdio caller: the OS user, limited to ``--namespaces``, else ``KUBEWHY_MCP_NAMESPACES``, else the
    namespaces the Slack bot may read (``KUBEWHY_SLACK_NAMESPACES``, default all)."""
    if namespaces is not None:
        return Caller(settings.actor or "unknown user", parse_namespaces(namespaces, "--namespaces"))
    raw = settings.mcp.namespaces
    if raw is not None:
        return Caller(settings.actor or "unknown user", parse_namespaces(raw, "KUBEWHY_MCP_NAMESPACES"))
    return Caller(settings.actor or "unknown user", settings.slack.namespaces)


def namespace_of(subject: str) -> str | None:
    """The namespace of a ledger subject (``pod/shop/api-1`` or ``pod/shop/api-1:rule``; None: cluster-scoped)."""
    parts = subject.split(":", 1)[0].split("/")
    return parts[1] if len(parts) == 3 else None


def scrub(value: Any) -> Any:
    """Every string in a JSON-shaped value through :func:`kubewhy.redact.redact_text` (the adapters already
    redact objects and logs; this is the front-end's own pass, as the bot escapes what it posts)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


class ReadOnlyKube(DelegatingKube):
    """The connection with its writing sides removed (no patch, no create, no impersonation): what the MCP
    application object diagnoses with, so no tool can write to the cluster even by mistake."""

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(self._inner.capabilities, writer=None, objects=None, impersonate=None)


__all__ = ["Caller", "ReadOnlyKube", "namespace_of", "parse_namespaces", "scrub", "stdio_caller"]
