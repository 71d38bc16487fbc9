"""What the bot's listeners hold: the process's one :class:`~kubewhy.app.Kubewhy`, the Slack settings and the
recent answers. No diagnosis logic here: the listeners translate Slack into the application's methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kubewhy.app import Bounded, Kubewhy
from kubewhy.identity import IdentityMap, load_identities
from kubewhy.models.findings import Report
from kubewhy.settings import SlackSettings

if TYPE_CHECKING:
    from .binding import Installation
    from .verifier import Verifier


@dataclass(frozen=True)
class Modal:
    """A confirm modal the bot opened: for whom, for which fix, under which message (its submission is bound to
    this, never to its private_metadata)."""

    action: str
    user: str
    channel: str
    ts: str


@dataclass
class BotDeps:
    app: Kubewhy  # diagnosis, the fix lifecycle (app.fix(id) finds a proposal), audit log, incidents
    slack: SlackSettings
    default_namespace: str = "default"
    reports: Bounded[tuple[str, str], Report] = field(default_factory=Bounded)  # (channel, ts) -> its answer
    modals: Bounded[str, Modal] = field(default_factory=Bounded)  # view id -> the confirm modal opened there
    identities: IdentityMap | None = None  # Slack users and groups -> Kubernetes (KUBEWHY_SLACK_IDENTITIES)
    verifier: Verifier | None = None  # runs the verify-after-fix jobs (bot/verifier.py), once the app is built
    installation: Installation | None = None  # the start-up auth.test's (bot/binding.py); None: Bolt's, per request

    @classmethod
    def of(cls, app: Kubewhy) -> BotDeps:
        """The bot's view of an open application (its settings name the Slack side)."""
        slack = app.settings.slack
        identities = load_identities(slack.identities) if slack.identities is not None else None
        return cls(app=app, slack=slack, default_namespace=app.settings.default_namespace, identities=identities)

    def runbooks(self, report: Report) -> list[str]:
        """The runbook links configured for a diagnosis' causes and namespace (KUBEWHY_RUNBOOKS)."""
        return self.app.settings.runbooks.links(report.target.namespace, [f.id for f in report.findings])

    def readable(self, namespace: str | None) -> bool:
        return "*" in self.slack.namespaces or namespace is None or namespace in self.slack.namespaces

    def readable_namespaces(self) -> tuple[str, ...] | None:
        """The namespaces the bot may read, or None for all."""
        return None if "*" in self.slack.namespaces else self.slack.namespaces
