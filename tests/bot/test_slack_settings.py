"""Bot configuration: mode selection, required secrets, allowlist parsing; and command parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands import parse
from kubewhy.settings import SettingsError, load, parse_allow


def test_socket_mode_when_an_app_token_is_given() -> None:
    s = load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).slack.require()
    assert s.mode == "socket" and s.app_token == "xapp-1"


def test_http_mode_needs_the_signing_secret() -> None:
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load({"SLACK_BOT_TOKEN": "xoxb-1", "KUBEWHY_SLACK_MODE": "http"}).slack.require()
    s = load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "8080"}).slack.require()
    assert s.mode == "http" and s.port == 8080


def test_missing_token_and_bad_values_are_clear_errors() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        load({}).slack.require()
    with pytest.raises(SettingsError, match="KUBEWHY_SLACK_MODE.*http or socket"):
        load({"SLACK_BOT_TOKEN": "x", "KUBEWHY_SLACK_MODE": "carrier-pigeon"})
    with pytest.raises(SettingsError, match="KUBEWHY_SLACK_PORT"):
        load({"KUBEWHY_SLACK_PORT": "http"})
    with pytest.raises(SettingsError, match="KUBEWHY_SLACK_ALLOW"):
        load({"KUBEWHY_SLACK_ALLOW": "U123"})


def test_allowlist_from_text_and_file(tmp_path: Path) -> None:
    f = tmp_path / "allow.yaml"
    f.write_text("prod: [U1, S9]\n")
    assert parse_allow("*=S1,U2; staging=U3", str(f)) == {"prod": ("U1", "S9"), "*": ("S1", "U2"), "staging": ("U3",)}
    with pytest.raises(SettingsError, match="KUBEWHY_SLACK_ALLOW_FILE"):
        parse_allow("", str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize(
    "text,name,args,ns,error",
    [
        ("why pod-x", "why", ("pod-x",), None, None),
        ("why deploy/api -n prod", "why", ("deploy/api",), "prod", None),
        ("why --namespace=prod pod-x", "why", ("pod-x",), "prod", None),
        ("WHY pod-x", "why", ("pod-x",), None, None),
        ("why", "why", (), None, "Tell me what to look at"),
        ("status -n kube-system", "status", (), "kube-system", None),
        ("history", "history", (), None, None),
        ("wat", "help", (), None, None),
    ],
)
def test_command_parsing(text: str, name: str, args: tuple[str, ...], ns: str | None, error: str | None) -> None:
    cmd = parse(text)
    assert cmd.name == name
    if error:
        assert cmd.error and error in cmd.error
    else:
        assert cmd.args == args and cmd.namespace == ns and cmd.error is None


def test_kubewhy_bot_without_a_token_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from kubewhy import cli

    assert cli.main(["bot"], environ={"KUBEWHY_SLACK_MODE": "http"}) == 2
    err = capsys.readouterr().err
    assert err.startswith("kubewhy bot: SLACK_BOT_TOKEN is not set") and len(err.strip().splitlines()) == 1


def test_issue_27_settings_read_and_refuse_bad_values() -> None:
    from kubewhy.settings import SettingsError, load

    slack = load(
        {
            "KUBEWHY_SLACK_INCIDENT_ALLOW": "*=S0SRE;prod=U0BOSS",
            "KUBEWHY_TWO_PERSON": "prod; selector:tier in (critical),app=api",
            "KUBEWHY_APPROVAL_TTL": "5m",
            "KUBEWHY_VERIFY_AFTER": "30s",
        }
    ).slack
    assert slack.incident_allow == {"*": ("S0SRE",), "prod": ("U0BOSS",)}
    assert slack.two_person == ("prod", "selector:tier in (critical),app=api")
    assert (slack.approval_ttl, slack.verify_after) == (300.0, 30.0)
    assert load({}).slack.incident_allow is None  # unset: the fix allowlist decides
    for env, message in (
        ({"KUBEWHY_TWO_PERSON": "Prod Team"}, "KUBEWHY_TWO_PERSON: 'Prod Team'"),
        ({"KUBEWHY_TWO_PERSON": "selector:tier in critical"}, "KUBEWHY_TWO_PERSON: 'selector:tier in critical'"),
        ({"KUBEWHY_SLACK_INCIDENT_ALLOW": "S0SRE"}, "KUBEWHY_SLACK_INCIDENT_ALLOW: 'S0SRE'"),
        ({"KUBEWHY_APPROVAL_TTL": "soon"}, "KUBEWHY_APPROVAL_TTL='soon'"),
    ):
        with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
            load(env)
