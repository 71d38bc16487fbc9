"""Every setting kubewhy has, read once from an injectable environ plus CLI flags (flags win).

Like starlette's ``Config(environ=)`` and kopf's settings dataclasses: front-ends call :func:`load` at the very
top and pass the frozen :class:`Settings` down; no other module reads ``os.environ``. A bad value becomes a
:class:`SettingsError` that names the variable (or flag), never a traceback.

The audit database URL is normalised here, once: ``sqlite:///…``, ``sqlite://``, ``postgresql://…``,
``postgres://…`` and the async-driver forms are accepted; other sync drivers are mapped to the async ones.
"""

from __future__ import annotations

import getpass
import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from .durations import parse_duration
from .errors import KubewhyError

ENV_DATABASE_URL = "KUBEWHY_DATABASE_URL"
ENV_AUDIT_FALLBACK = "KUBEWHY_AUDIT_FALLBACK"
DISCOVER = "discover"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class SettingsError(KubewhyError):
    """A setting with a value kubewhy cannot use; the message names the variable or flag."""

    exit_code = 2


@dataclass(frozen=True)
class KubeSettings:
    kubeconfig: str | None = None  # KUBECONFIG / --kubeconfig
    context: str | None = None  # KUBEWHY_CONTEXT / --context
    in_cluster: bool = False  # KUBEWHY_IN_CLUSTER / --in-cluster
    request_timeout: float = 10.0  # KUBEWHY_KUBE_TIMEOUT, seconds per API request
    snapshot: tuple[Path, ...] = ()  # --snapshot: diagnose offline from files


@dataclass(frozen=True)
class PromSettings:
    """How to reach Prometheus. ``url`` may be ``discover`` (find its Service in the cluster) or empty (none);
    ``verify_tls`` may be a CA bundle path; ``timeout`` is per query, in seconds."""

    url: str = ""
    token: str | None = None
    basic_auth: tuple[str, str] | None = None
    verify_tls: bool | str = True
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = True
    url: str = ""  # normalised: sqlite+aiosqlite:// or postgresql+asyncpg://
    fallback_path: Path = Path("audit-fallback.jsonl")
    data_dir: Path = Path(".")
    stream: str = ""  # KUBEWHY_AUDIT_STREAM: this writer's hash chain (default: the host name, a pod's name)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""  # xapp-... for Socket Mode
    mode: Literal["http", "socket"] = "http"
    port: int = 3000
    # HTTP mode's listening address: loopback unless told otherwise; in a pod (KUBERNETES_SERVICE_HOST set) all
    # interfaces, so the Service can reach it.
    host: str = "127.0.0.1"
    api_url: str = "https://slack.com/api/"
    # Who may apply fixes: namespace (or "*") -> Slack user ids (U...) or user group ids (S...).
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Namespaces the bot may read ("*" = all).
    namespaces: tuple[str, ...] = ("*",)
    # Who may mute, unmute, acknowledge and resolve (same form as ``allow``; None: the fix allowlist; an id "*":
    # anyone who can run /k8s).
    incident_allow: Mapping[str, tuple[str, ...]] | None = None
    # Slack users and groups -> the Kubernetes user and groups fixes are applied as (docs/slack.md); None: no
    # mapping, and the bot applies no fix as anyone.
    identities: Path | None = None
    approval_ttl: float = 900.0  # seconds a dry run shown to a person stays approvable (KUBEWHY_APPROVAL_TTL)
    verify_after: float = 120.0  # seconds after a fix before the diagnosis runs again (KUBEWHY_VERIFY_AFTER)
    # Where two people are needed (KUBEWHY_TWO_PERSON, ";"-separated): a namespace, or "selector:" and a label
    # selector of the patched object; there, whoever asked for a fix cannot approve it.
    two_person: tuple[str, ...] = ()

    def require(self) -> SlackSettings:
        """What the bot cannot start without (the CLI does not need any of it)."""
        if not self.bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (the xoxb- token of the Slack app)")
        if self.mode == "http" and not self.signing_secret:
            raise SettingsError("SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)")
        if self.mode == "socket" and not self.app_token:
            raise SettingsError("SLACK_APP_TOKEN (xapp-...) is not set (needed for Socket Mode)")
        return self


@dataclass(frozen=True)
class WatchSettings:
    """The watchers (``kubewhy watch``, ``k8sbot``)."""

    rules: Path | None = None  # --rules / KUBEWHY_WATCH_RULES (None: the bundled defaults)
    grace: float | None = None  # --grace / KUBEWHY_WATCH_GRACE, seconds: overrides every rule's grace period
    channel: str | None = None  # --channel / KUBEWHY_ALERT_CHANNEL: where pages go when no route matches
    cluster: str = ""  # KUBEWHY_CLUSTER_NAME: the ledger's cluster key (default: the API server's host)
    identity: str = ""  # KUBEWHY_WATCH_IDENTITY or POD_NAME: this replica in the Lease (default: host-pid)
    leader_election: bool = True  # KUBEWHY_WATCH_LEADER_ELECTION
    lease_namespace: str = "default"  # KUBEWHY_WATCH_LEASE_NAMESPACE or POD_NAMESPACE
    lease_name: str = "kubewhy-watch"  # KUBEWHY_WATCH_LEASE_NAME
    lease_duration: float = 15.0  # KUBEWHY_WATCH_LEASE_DURATION, seconds (a successor takes over after it)
    update_interval: float = 2.0  # KUBEWHY_WATCH_UPDATE_INTERVAL: seconds between in-place updates of a message
    retention_days: float = 90.0  # KUBEWHY_AUDIT_RETENTION_DAYS: the watchers prune older audit rows (0: never)
    changes: bool = True  # KUBEWHY_WATCH_CHANGES: keep the change log (docs/changes.md; a kind refused is skipped)
    change_secrets: bool = False  # KUBEWHY_WATCH_CHANGE_SECRETS: Secrets' keys too (needs RBAC on Secrets)
    change_key: str = ""  # KUBEWHY_CHANGE_KEY: the change log's HMAC key (default: a file in the data directory)
    # The kubelet sampler (docs/watchers.md, "Without Prometheus"): the metric rules from the kubelets' node proxy.
    sampler: bool | None = None  # KUBEWHY_SAMPLER: true/false; unset: on exactly when no Prometheus URL is set
    sampler_interval: float = 30.0  # KUBEWHY_SAMPLER_INTERVAL (a duration): each node read once per interval
    sampler_rate: float = 10.0  # KUBEWHY_SAMPLER_RATE: node proxy requests per second at most (the interval stretches)
    sampler_timeout: float = 5.0  # KUBEWHY_SAMPLER_TIMEOUT (a duration): a node slower than this is skipped


@dataclass(frozen=True)
class AlertmanagerSettings:
    """Alertmanager (docs/alertmanager.md): the receiver k8sbot serves, and the API kubewhy reads silences from."""

    url: str = ""  # KUBEWHY_ALERTMANAGER_URL: its API (silences); empty: none, snoozes are kubewhy's own mutes
    headers: tuple[tuple[str, str], ...] = ()  # KUBEWHY_ALERTMANAGER_HEADERS: `Name: value` lines (an auth proxy)
    timeout: float = 5.0  # KUBEWHY_ALERTMANAGER_TIMEOUT, seconds per API call
    token: str = ""  # KUBEWHY_ALERTMANAGER_TOKEN: the bearer token its webhook must carry
    user: str = ""  # KUBEWHY_ALERTMANAGER_USER/_PASSWORD: or basic auth
    password: str = ""
    port: int = 0  # KUBEWHY_ALERTMANAGER_PORT: where k8sbot serves /alertmanager (0: no receiver)
    host: str = "127.0.0.1"  # KUBEWHY_ALERTMANAGER_HOST (0.0.0.0 in a pod)

    @property
    def receiver(self) -> bool:
        return self.port > 0


@dataclass(frozen=True)
class EscalationSettings:
    """Unacknowledged pages handed on to PagerDuty and/or Opsgenie (docs/alertmanager.md, "Escalation")."""

    after: float = 900.0  # KUBEWHY_ESCALATE_AFTER: `15m` or `15m;#payments-oncall=5m` (per channel, i.e. route)
    per_channel: tuple[tuple[str, float], ...] = ()
    pagerduty_key: str = ""  # KUBEWHY_PAGERDUTY_ROUTING_KEY: an Events API v2 integration's key
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"  # KUBEWHY_PAGERDUTY_URL
    opsgenie_key: str = ""  # KUBEWHY_OPSGENIE_API_KEY
    opsgenie_url: str = "https://api.opsgenie.com"  # KUBEWHY_OPSGENIE_URL (EU: https://api.eu.opsgenie.com)

    @property
    def enabled(self) -> bool:
        return bool(self.pagerduty_key or self.opsgenie_key)

    def after_for(self, channel: str | None) -> float:
        return dict(self.per_channel).get(channel or "", self.after)


@dataclass(frozen=True)
class RunbookSettings:
    """``KUBEWHY_RUNBOOKS``: a YAML file ``{playbooks: {FINDING-ID: URL}, namespaces: {NAMESPACE: URL}}``; the links
    appear on every page and every diagnosis of that cause or namespace (docs/alertmanager.md, "Runbooks")."""

    playbooks: tuple[tuple[str, str], ...] = ()
    namespaces: tuple[tuple[str, str], ...] = ()

    def links(self, namespace: str | None, finding_ids: Sequence[str], *, first: Sequence[str] = ()) -> list[str]:
        """``first`` (an alert's own ``runbook_url``), then each finding's, then the namespace's; each once."""
        by_id, by_ns = dict(self.playbooks), dict(self.namespaces)
        found = [*first, *(by_id[i] for i in finding_ids if i in by_id)]
        if namespace and namespace in by_ns:
            found.append(by_ns[namespace])
        return list(dict.fromkeys(u for u in found if u))


@dataclass(frozen=True)
class McpSettings:
    """``kubewhy mcp``: ``KUBEWHY_MCP_TOKENS`` (the HTTP transport's token file) and ``KUBEWHY_MCP_NAMESPACES``
    (the stdio caller's namespaces, as text; None: the Slack bot's)."""

    tokens: str | None = None
    namespaces: str | None = None


def _mcp(env: Mapping[str, str]) -> McpSettings:
    return McpSettings(tokens=env.get("KUBEWHY_MCP_TOKENS") or None, namespaces=env.get("KUBEWHY_MCP_NAMESPACES"))


@dataclass(frozen=True)
class Settings:
    kube: KubeSettings = field(default_factory=KubeSettings)
    prometheus: PromSettings = field(default_factory=PromSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    playbook_dirs: tuple[Path, ...] = ()
    check_timeout: float = 5.0
    default_namespace: str = "default"
    actor: str = ""
    cache_dir: Path | None = None  # $XDG_CACHE_HOME/kubewhy: the playbook compile cache (None: no cache)
    watch: WatchSettings = field(default_factory=WatchSettings)
    health_port: int = 8080  # KUBEWHY_HEALTH_PORT: k8sbot's /healthz, /readyz and /metrics (the chart's probes)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    runbooks: RunbookSettings = field(default_factory=RunbookSettings)
    mcp: McpSettings = field(default_factory=lambda: McpSettings())
    # KUBEWHY_CHANGES_WINDOW (a duration): how far before the onset a diagnosis looks for changes (docs/changes.md)
    changes_window: float = 7200.0
    # KUBEWHY_PEOPLE_DIAGNOSES: people's diagnoses at once; KUBEWHY_BACKGROUND_DIAGNOSES: the watchers' (and other
    # background) diagnoses at once, none while a person's is in flight; 0: no gate at all (kubewhy/lanes.py)
    people_diagnoses: int = 8
    background_diagnoses: int = 2


@dataclass(frozen=True)
class Flags:
    """What the command line said; ``None`` (or empty) means "not given", so the environment applies."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool | None = None
    snapshot: Sequence[str] = ()
    prometheus: str | None = None
    playbooks: Sequence[str] = ()
    database_url: str | None = None
    no_audit: bool = False
    check_timeout: float | None = None
    rules: str | None = None  # kubewhy watch --rules
    grace: str | None = None  # kubewhy watch --grace (a duration: 5s, 2m)
    channel: str | None = None  # kubewhy watch --channel


# ---- value parsers: each names what it parses -------------------------------------------------------------------


def _bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false (1/0, yes/no)")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be more than 0")
    return value


def _port(raw: str, name: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a port number") from None
    if not 0 < port < 65536:
        raise SettingsError(f"{name}={raw!r}: a port is between 1 and 65535")
    return port


def cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/kubewhy`` (``~/.cache/kubewhy`` by default): compiled playbooks."""
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "kubewhy"


def data_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/kubewhy`` (``~/.local/share/kubewhy`` by default)."""
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "kubewhy"


_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def normalise_database_url(url: str | None, data_dir: Path, *, name: str = ENV_DATABASE_URL) -> str:
    """An async-driver SQLAlchemy URL: empty → a SQLite file in ``data_dir``; ``sqlite://`` → aiosqlite;
    ``postgresql://``/``postgres://`` and sync drivers (``postgresql+psycopg2://``) → asyncpg."""
    if not url:
        return f"sqlite+aiosqlite:///{data_dir / 'audit.db'}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SettingsError(
            f"{name}={url!r}: expected a URL such as sqlite:///path/audit.db or postgresql://user@host/db"
        )
    dialect = scheme.split("+", 1)[0].lower()
    if dialect not in _DRIVERS:
        raise SettingsError(f"{name}: unsupported database {scheme!r} (use sqlite:// or postgresql://)")
    _check_database_url(url, dialect, name)
    return f"{_DRIVERS[dialect]}://{rest}"


def _check_database_url(url: str, dialect: str, name: str) -> None:
    """What the driver would only find out with a traceback: a port that is not a number, a broken host."""
    shown = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)
    example = "sqlite:////path/audit.db" if dialect == "sqlite" else "postgresql://user@host:5432/db"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError as exc:
        raise SettingsError(f"{name}={shown}: malformed URL ({exc}); expected e.g. {example}") from None


def parse_allow(text: str, path: str | None = None, name: str = "KUBEWHY_SLACK_ALLOW") -> dict[str, tuple[str, ...]]:
    """``*=U123,S456;prod=U789`` (KUBEWHY_SLACK_ALLOW) or a YAML file ``{namespace: [ids]}``
    (KUBEWHY_SLACK_ALLOW_FILE)."""
    allow: dict[str, list[str]] = {}
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"KUBEWHY_SLACK_ALLOW_FILE={path}: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise SettingsError(
                f"KUBEWHY_SLACK_ALLOW_FILE={path}: expected a mapping of namespace to a list of Slack user or group ids"
            )
        for ns, ids in data.items():
            if ids is not None and not isinstance(ids, list):
                raise SettingsError(f"KUBEWHY_SLACK_ALLOW_FILE={path}: {ns}: expected a list of ids")
            allow[str(ns)] = [str(i) for i in (ids or [])]
    for part in filter(None, (p.strip() for p in text.split(";"))):
        ns, eq, ids = part.partition("=")
        if not eq or not ns.strip():
            raise SettingsError(f"{name}: {part!r}: expected NAMESPACE=ID[,ID...] (e.g. *=U123;prod=S456)")
        allow.setdefault(ns.strip(), []).extend(i.strip() for i in ids.split(",") if i.strip())
    return {ns: tuple(ids) for ns, ids in allow.items()}


def _actor(env: Mapping[str, str]) -> str:
    if env.get("USER"):
        return env["USER"]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to fail
        return ""


# ---- sections ---------------------------------------------------------------------------------------------------


def _kube(env: Mapping[str, str], flags: Flags) -> KubeSettings:
    in_cluster = flags.in_cluster if flags.in_cluster else _bool(env, "KUBEWHY_IN_CLUSTER")
    return KubeSettings(
        kubeconfig=flags.kubeconfig or env.get("KUBECONFIG") or None,
        context=flags.context or env.get("KUBEWHY_CONTEXT") or None,
        in_cluster=in_cluster,
        request_timeout=_float(env, "KUBEWHY_KUBE_TIMEOUT", 10.0),
        snapshot=tuple(Path(p) for p in flags.snapshot),
    )


def _prometheus(env: Mapping[str, str], flags: Flags) -> PromSettings:
    url = flags.prometheus or env.get("KUBEWHY_PROMETHEUS_URL") or ""
    name = "--prometheus" if flags.prometheus else "KUBEWHY_PROMETHEUS_URL"
    if url and url != DISCOVER and not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name}={url!r}: expected an http:// or https:// URL, or 'discover'")
    user, password = env.get("KUBEWHY_PROMETHEUS_USER"), env.get("KUBEWHY_PROMETHEUS_PASSWORD")
    ca = env.get("KUBEWHY_PROMETHEUS_CA") or ""
    if ca and not Path(ca).is_file():
        raise SettingsError(f"KUBEWHY_PROMETHEUS_CA={ca}: no such file (a PEM CA bundle)")
    verify: bool | str = ca or True
    if _bool(env, "KUBEWHY_PROMETHEUS_INSECURE"):
        verify = False
    return PromSettings(
        url=url,
        token=env.get("KUBEWHY_PROMETHEUS_TOKEN") or None,
        basic_auth=(user, password or "") if user else None,
        verify_tls=verify,
        timeout=_float(env, "KUBEWHY_PROMETHEUS_TIMEOUT", 10.0),
    )


def _audit(env: Mapping[str, str], flags: Flags) -> AuditSettings:
    directory = data_dir(env)
    if flags.database_url:
        url = normalise_database_url(flags.database_url, directory, name="--database-url")
    else:
        url = normalise_database_url(env.get(ENV_DATABASE_URL), directory)
    fallback = Path(env[ENV_AUDIT_FALLBACK]) if env.get(ENV_AUDIT_FALLBACK) else directory / "audit-fallback.jsonl"
    enabled = not flags.no_audit and not _bool(env, "KUBEWHY_NO_AUDIT")
    return AuditSettings(
        enabled=enabled,
        url=url,
        fallback_path=fallback,
        data_dir=directory,
        stream=env.get("KUBEWHY_AUDIT_STREAM", ""),
    )


def _slack(env: Mapping[str, str]) -> SlackSettings:
    mode = env.get("KUBEWHY_SLACK_MODE") or ("socket" if env.get("SLACK_APP_TOKEN") else "http")
    if mode not in ("http", "socket"):
        raise SettingsError(f"KUBEWHY_SLACK_MODE={mode!r}: must be http or socket")
    port_name = "PORT" if env.get("PORT") else "KUBEWHY_SLACK_PORT"
    namespaces = tuple(n.strip() for n in env.get("KUBEWHY_SLACK_NAMESPACES", "*").split(",") if n.strip())
    return SlackSettings(
        bot_token=env.get("SLACK_BOT_TOKEN", ""),
        signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        app_token=env.get("SLACK_APP_TOKEN", ""),
        mode="socket" if mode == "socket" else "http",
        port=_port(env.get(port_name) or "3000", port_name),
        host=env.get("KUBEWHY_SLACK_HOST") or ("0.0.0.0" if env.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"),
        api_url=env.get("KUBEWHY_SLACK_API_URL") or "https://slack.com/api/",
        allow=parse_allow(env.get("KUBEWHY_SLACK_ALLOW", ""), env.get("KUBEWHY_SLACK_ALLOW_FILE")),
        namespaces=namespaces or ("*",),
        incident_allow=parse_allow(env["KUBEWHY_SLACK_INCIDENT_ALLOW"], None, "KUBEWHY_SLACK_INCIDENT_ALLOW")
        if env.get("KUBEWHY_SLACK_INCIDENT_ALLOW")
        else None,
        identities=Path(env["KUBEWHY_SLACK_IDENTITIES"]) if env.get("KUBEWHY_SLACK_IDENTITIES") else None,
        approval_ttl=_seconds(env["KUBEWHY_APPROVAL_TTL"], "KUBEWHY_APPROVAL_TTL")
        if env.get("KUBEWHY_APPROVAL_TTL")
        else 900.0,
        verify_after=_seconds(env["KUBEWHY_VERIFY_AFTER"], "KUBEWHY_VERIFY_AFTER")
        if env.get("KUBEWHY_VERIFY_AFTER")
        else 120.0,
        two_person=_two_person(env.get("KUBEWHY_TWO_PERSON", "")),
    )


def _two_person(raw: str) -> tuple[str, ...]:
    """``prod;payments;selector:tier=critical``: namespaces, and label selectors of the patched object."""
    from .selectors import SelectorError, parse

    rules = tuple(r.strip() for r in raw.split(";") if r.strip())
    for rule in rules:
        try:
            if rule.startswith("selector:"):
                parse(rule.removeprefix("selector:"))
            elif not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", rule):
                raise SelectorError("not a namespace name")
        except SelectorError as exc:
            raise SettingsError(
                f"KUBEWHY_TWO_PERSON: {rule!r}: {exc} (expected NAMESPACE or selector:LABEL-SELECTOR, ';'-separated)"
            ) from None
    return rules


def _seconds(raw: str, name: str) -> float:
    try:
        return parse_duration(raw).total_seconds()
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a duration such as 30s, 2m or 1h") from None


def _watch(env: Mapping[str, str], flags: Flags) -> WatchSettings:
    rules = flags.rules or env.get("KUBEWHY_WATCH_RULES") or None
    grace_raw, grace_name = (
        (flags.grace, "--grace") if flags.grace else (env.get("KUBEWHY_WATCH_GRACE"), "KUBEWHY_WATCH_GRACE")
    )
    identity = env.get("KUBEWHY_WATCH_IDENTITY") or env.get("POD_NAME") or ""
    if not identity:
        import socket

        identity = f"{socket.gethostname()}-{os.getpid()}"
    return WatchSettings(
        rules=Path(rules) if rules else None,
        grace=_seconds(grace_raw, grace_name) if grace_raw else None,
        channel=flags.channel or env.get("KUBEWHY_ALERT_CHANNEL") or None,
        cluster=env.get("KUBEWHY_CLUSTER_NAME", ""),
        identity=identity,
        leader_election=_bool(env, "KUBEWHY_WATCH_LEADER_ELECTION", True),
        lease_namespace=env.get("KUBEWHY_WATCH_LEASE_NAMESPACE") or env.get("POD_NAMESPACE") or "default",
        lease_name=env.get("KUBEWHY_WATCH_LEASE_NAME") or "kubewhy-watch",
        lease_duration=_float(env, "KUBEWHY_WATCH_LEASE_DURATION", 15.0),
        update_interval=_float(env, "KUBEWHY_WATCH_UPDATE_INTERVAL", 2.0),
        retention_days=_float(env, "KUBEWHY_AUDIT_RETENTION_DAYS", 90.0),
        changes=_bool(env, "KUBEWHY_WATCH_CHANGES", True),
        change_secrets=_bool(env, "KUBEWHY_WATCH_CHANGE_SECRETS", False),
        change_key=env.get("KUBEWHY_CHANGE_KEY", ""),
        sampler=_bool(env, "KUBEWHY_SAMPLER") if (env.get("KUBEWHY_SAMPLER") or "").strip() else None,
        sampler_interval=_duration(env, "KUBEWHY_SAMPLER_INTERVAL", 30.0),
        sampler_rate=_float(env, "KUBEWHY_SAMPLER_RATE", 10.0),
        sampler_timeout=_duration(env, "KUBEWHY_SAMPLER_TIMEOUT", 5.0),
    )


def _duration(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration (``30s``, ``2m``) or a number of seconds, more than 0."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    value = float(raw) if re.fullmatch(r"\d+(\.\d+)?", raw) else _seconds(raw, name)
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be more than 0")
    return value


def _alertmanager(env: Mapping[str, str]) -> AlertmanagerSettings:
    url = (env.get("KUBEWHY_ALERTMANAGER_URL") or "").rstrip("/")
    if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SettingsError(f"KUBEWHY_ALERTMANAGER_URL={url!r}: expected http://HOST:PORT or https://...")
    headers = []
    for line in filter(None, (h.strip() for h in env.get("KUBEWHY_ALERTMANAGER_HEADERS", "").splitlines())):
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
            raise SettingsError(f"KUBEWHY_ALERTMANAGER_HEADERS: {name.strip()[:40]!r}: expected `Name: value` lines")
        headers.append((name.strip(), value.strip()))
    token, user = env.get("KUBEWHY_ALERTMANAGER_TOKEN", ""), env.get("KUBEWHY_ALERTMANAGER_USER", "")
    port = (
        _port(env["KUBEWHY_ALERTMANAGER_PORT"], "KUBEWHY_ALERTMANAGER_PORT")
        if env.get("KUBEWHY_ALERTMANAGER_PORT")
        else 0
    )
    if port and not token and not user:
        raise SettingsError(
            "KUBEWHY_ALERTMANAGER_PORT is set but neither KUBEWHY_ALERTMANAGER_TOKEN nor KUBEWHY_ALERTMANAGER_USER: "
            "the receiver never runs without authentication"
        )
    return AlertmanagerSettings(
        url=url,
        headers=tuple(headers),
        timeout=_float(env, "KUBEWHY_ALERTMANAGER_TIMEOUT", 5.0),
        token=token,
        user=user,
        password=env.get("KUBEWHY_ALERTMANAGER_PASSWORD", ""),
        port=port,
        host=env.get("KUBEWHY_ALERTMANAGER_HOST") or ("0.0.0.0" if env.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"),
    )


def _escalation(env: Mapping[str, str]) -> EscalationSettings:
    name = "KUBEWHY_ESCALATE_AFTER"
    default, per_channel = 900.0, []
    for part in filter(None, (p.strip() for p in env.get(name, "").split(";"))):
        channel, eq, span = part.rpartition("=")
        seconds = _seconds(span.strip(), name)
        if seconds <= 0:
            raise SettingsError(f"{name}: {part!r}: the wait must be more than 0")
        if eq:
            per_channel.append((channel.strip(), seconds))
        else:
            default = seconds
    urls = {}
    for var, fallback in (
        ("KUBEWHY_PAGERDUTY_URL", "https://events.pagerduty.com/v2/enqueue"),
        ("KUBEWHY_OPSGENIE_URL", "https://api.opsgenie.com"),
    ):
        urls[var] = env.get(var) or fallback
        if urllib.parse.urlsplit(urls[var]).scheme not in ("http", "https"):
            raise SettingsError(f"{var}={urls[var]!r}: expected an http(s) URL")
    return EscalationSettings(
        after=default,
        per_channel=tuple(per_channel),
        pagerduty_key=env.get("KUBEWHY_PAGERDUTY_ROUTING_KEY", ""),
        pagerduty_url=urls["KUBEWHY_PAGERDUTY_URL"],
        opsgenie_key=env.get("KUBEWHY_OPSGENIE_API_KEY", ""),
        opsgenie_url=urls["KUBEWHY_OPSGENIE_URL"],
    )


def _runbooks(env: Mapping[str, str]) -> RunbookSettings:
    path = env.get("KUBEWHY_RUNBOOKS")
    if not path:
        return RunbookSettings()
    from .yamlsrc import YamlSourceError, documents

    try:
        docs = list(documents(Path(path).read_text(encoding="utf-8")))
    except OSError as exc:
        raise SettingsError(f"KUBEWHY_RUNBOOKS={path}: {exc.strerror or exc}") from None
    except YamlSourceError as exc:
        raise SettingsError(f"{path}:{exc.line or 1}: {exc}") from None
    if not docs or not isinstance(docs[0].data, dict):
        raise SettingsError(f"{path}:1: expected a mapping with `playbooks` and/or `namespaces`")
    doc, out = docs[0], {}
    for section in ("playbooks", "namespaces"):
        table = doc.data.get(section) or {}
        if not isinstance(table, dict):
            raise SettingsError(f"{path}:{doc.line_of((section,))}: {section}: expected NAME: URL entries")
        for name, url in table.items():
            if not isinstance(url, str) or not re.fullmatch(r"https?://[^\s<>|]+", url):
                line = doc.line_of((section, name))
                raise SettingsError(f"{path}:{line}: {section}.{name}: expected an http(s) URL, got {str(url)[:60]!r}")
        out[section] = tuple((str(k), str(v)) for k, v in table.items())
    unknown = set(doc.data) - {"playbooks", "namespaces"}
    if unknown:
        name = sorted(map(str, unknown))[0]
        raise SettingsError(f"{path}:{doc.line_of((name,))}: unknown key {name!r} (playbooks, namespaces)")
    return RunbookSettings(playbooks=out["playbooks"], namespaces=out["namespaces"])


def load(environ: Mapping[str, str] | None = None, flags: Flags | None = None) -> Settings:
    """Read every setting once. ``environ`` defaults to the process environment (the only place that reads it)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    flags = flags or Flags()
    playbooks = [p for p in env.get("KUBEWHY_PLAYBOOKS", "").split(":") if p] + list(flags.playbooks)
    timeout = flags.check_timeout if flags.check_timeout is not None else _float(env, "KUBEWHY_CHECK_TIMEOUT", 5.0)
    if timeout <= 0:
        raise SettingsError(f"--timeout={timeout:g}: must be more than 0")
    return Settings(
        kube=_kube(env, flags),
        prometheus=_prometheus(env, flags),
        audit=_audit(env, flags),
        slack=_slack(env),
        playbook_dirs=tuple(Path(p) for p in playbooks),
        check_timeout=timeout,
        default_namespace=env.get("KUBEWHY_DEFAULT_NAMESPACE") or "default",
        actor=_actor(env),
        cache_dir=cache_dir(env),
        watch=_watch(env, flags),
        health_port=_port(env.get("KUBEWHY_HEALTH_PORT") or "8080", "KUBEWHY_HEALTH_PORT"),
        alertmanager=_alertmanager(env),
        escalation=_escalation(env),
        runbooks=_runbooks(env),
        mcp=_mcp(env),
        changes_window=_changes_window(env),
        people_diagnoses=_count(env, "KUBEWHY_PEOPLE_DIAGNOSES", 8, least=1),
        background_diagnoses=_count(env, "KUBEWHY_BACKGROUND_DIAGNOSES", 2, least=0),
    )


def _count(env: Mapping[str, str], name: str, default: int, *, least: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise SettingsError(f"{name}={raw!r}: expected a whole number, at least {least}")
    return int(raw)


def _changes_window(env: Mapping[str, str]) -> float:
    raw = (env.get("KUBEWHY_CHANGES_WINDOW") or "").strip()
    seconds = _seconds(raw, "KUBEWHY_CHANGES_WINDOW") if raw else 7200.0
    if seconds <= 0:
        raise SettingsError(f"KUBEWHY_CHANGES_WINDOW={raw!r}: must be more than 0")
    return seconds


__all__ = [
    "DISCOVER",
    "AlertmanagerSettings",
    "AuditSettings",
    "EscalationSettings",
    "Flags",
    "KubeSettings",
    "McpSettings",
    "PromSettings",
    "RunbookSettings",
    "Settings",
    "SettingsError",
    "SlackSettings",
    "WatchSettings",
    "cache_dir",
    "data_dir",
    "load",
    "normalise_database_url",
    "parse_allow",
]
