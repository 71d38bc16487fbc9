"""slack/manifest.yaml against the bot's code: the slash commands it registers, the Web API methods it calls (each
needs its scope), interactivity for its buttons and modals, and the event subscription @-mentions need."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((REPO / "slack" / "manifest.yaml").read_text())
BOT_CODE = "\n".join(p.read_text() for p in sorted((REPO / "bot").rglob("*.py")))

# The bot scope each Web API method needs (api.slack.com/methods/<method>: "Bot tokens").
SCOPE_OF = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},  # its own messages only
    "auth_test": set(),  # the start-up check of the token
    "auth_teams_list": set(),  # an org-wide install: the workspaces the org granted it (no scope needed)
    "files_upload_v2": {"files:write"},
    "usergroups_users_list": {"usergroups:read"},
    "conversations_history": {"channels:history", "groups:history"},
    "views_open": set(),  # a trigger id from an interaction is enough
    "views_update": set(),
}


def test_every_web_api_method_the_bot_calls_has_its_scope() -> None:
    called = set(
        re.findall(r"\.((?:auth|chat|files|usergroups|conversations|views|users|reactions|pins)_\w+)\(", BOT_CODE)
    )
    assert called, "no Web API call found in bot/"
    unknown = called - set(SCOPE_OF)
    assert not unknown, f"add the scope of {unknown} to SCOPE_OF and the manifest"
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = set().union(*(SCOPE_OF[m] for m in called)) | {"commands", "app_mentions:read"}
    assert needed <= scopes, needed - scopes
    # chat:write.public lets the bot answer and page in public channels it was not invited to.
    assert scopes - needed <= {"chat:write.public"}, scopes - needed


def test_the_slash_commands_are_the_ones_the_bot_registers() -> None:
    registered = set(re.findall(r"app\.command\(\"(/[\w-]+)\"\)", BOT_CODE))
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert registered and declared == registered


def test_interactivity_and_mentions_reach_the_bot() -> None:
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True  # the buttons and the Apply fix… modal
    assert "app_mention" in settings["event_subscriptions"]["bot_events"]
    assert "app_mentions:read" in MANIFEST["oauth_config"]["scopes"]["bot"]
    urls = [
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
    ]
    # HTTP mode: one endpoint, the one the bot's web app serves; Socket Mode ignores them.
    assert {urlsplit(u).path for u in urls} == {"/slack/events"}
    assert 'web_app(path="/slack/events")' in BOT_CODE
    assert settings["socket_mode_enabled"] is True and MANIFEST["features"]["bot_user"]["display_name"]
