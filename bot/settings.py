"""Bot configuration from the environment (injectable for tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

import yaml


@dataclass(frozen=True)
class BotSettings:
    bot_token: str
    signing_secret: str = ""
    app_token: str = ""  # xapp-... for Socket Mode
    mode: Literal["http", "socket"] = "http"
    port: int = 3000
    slack_api_url: str = "https://slack.com/api/"
    # Who may apply fixes: namespace (or "*") -> Slack user ids (U...) or user group ids (S...).
    allow: dict[str, list[str]] = field(default_factory=dict)
    # Namespaces the bot may read ("*" = all).
    namespaces: list[str] = field(default_factory=lambda: ["*"])
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    prometheus_url: str | None = None
    playbook_dirs: list[str] = field(default_factory=list)
    database_url: str | None = None
    default_namespace: str = "default"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "BotSettings":
        env = os.environ if environ is None else environ
        mode = env.get("KUBEWHY_SLACK_MODE", "socket" if env.get("SLACK_APP_TOKEN") else "http")
        if mode not in ("http", "socket"):
            raise ValueError(f"KUBEWHY_SLACK_MODE must be http or socket, not {mode!r}")
        if not env.get("SLACK_BOT_TOKEN"):
            raise ValueError("SLACK_BOT_TOKEN is not set (the xoxb- token of the Slack app)")
        if mode == "http" and not env.get("SLACK_SIGNING_SECRET"):
            raise ValueError("SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)")
        if mode == "socket" and not env.get("SLACK_APP_TOKEN"):
            raise ValueError("SLACK_APP_TOKEN (xapp-...) is not set (needed for Socket Mode)")
        return cls(
            bot_token=env["SLACK_BOT_TOKEN"], signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""), mode=mode,  # type: ignore[arg-type]
            port=int(env.get("PORT", env.get("KUBEWHY_SLACK_PORT", "3000"))),
            slack_api_url=env.get("KUBEWHY_SLACK_API_URL", "https://slack.com/api/"),
            allow=parse_allow(env.get("KUBEWHY_SLACK_ALLOW", ""), env.get("KUBEWHY_SLACK_ALLOW_FILE")),
            namespaces=[n.strip() for n in env.get("KUBEWHY_SLACK_NAMESPACES", "*").split(",") if n.strip()],
            kubeconfig=env.get("KUBECONFIG"), context=env.get("KUBEWHY_CONTEXT"),
            in_cluster=env.get("KUBEWHY_IN_CLUSTER", "") in ("1", "true", "yes"),
            prometheus_url=env.get("KUBEWHY_PROMETHEUS_URL"),
            playbook_dirs=[p for p in env.get("KUBEWHY_PLAYBOOKS", "").split(":") if p],
            database_url=env.get("KUBEWHY_DATABASE_URL"),
            default_namespace=env.get("KUBEWHY_DEFAULT_NAMESPACE", "default"),
        )


def parse_allow(text: str, path: str | None = None) -> dict[str, list[str]]:
    """``*=U123,S456;prod=U789`` or a YAML file ``{namespace: [ids]}``."""
    allow: dict[str, list[str]] = {}
    if path:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of namespace to a list of Slack user or group ids")
        for ns, ids in data.items():
            allow[str(ns)] = [str(i) for i in (ids or [])]
    for part in filter(None, (p.strip() for p in text.split(";"))):
        ns, _, ids = part.partition("=")
        allow.setdefault(ns.strip(), []).extend(i.strip() for i in ids.split(",") if i.strip())
    return allow
