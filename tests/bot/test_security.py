"""Issue 27's probes against the real Bolt app (signed requests, the Slack double, a simulator): what leaks into a
channel, which payload fields are trusted, who may act, and what bad input gets. Each test failed before its fix.

The module's bot, simulator and audit database are shared; a test that changes the cluster puts it back."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.signature import SignatureVerifier

from bot import blocks
from bot.pager import ACTION_RESOLVE
from kubesim import load as load_scenario
from kubesim.runner import RunningSim, run_in_thread
from kubesim.server import SimOptions
from kubewhy.models.target import parse_target
from tests.bot.fixers import fixers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import CHANNEL, SECRET, Bot, all_elements, running_bot, text_of, workshop

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["workshop"]  # the module's simulator: the fixture of test_slack_bot, one instance for this module

APPROVER, ASKER, STRANGER = "U0APPROVER", "U0ASKER", "U0STRANGER"
KEY_BODY = "MIIEowIBAAKCAQEAx3Fj3kQpD8f5l3a9N6p2q0V6d0bW0oE9y8Y6s1Xx1pQ2wq8vMZx9"
SESSION = "s3ss10n-c00kie-v4lue"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_bot(workshop: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    tmp = tmp_path_factory.mktemp("bot")
    identities = fixers(workshop, tmp / "identities.yaml", (APPROVER, ASKER))
    env = {
        "KUBEWHY_SLACK_ALLOW": f"*={APPROVER}",
        "KUBEWHY_SLACK_IDENTITIES": str(identities),
        "KUBEWHY_SLACK_NAMESPACES": "q1,q4,q5,default",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp / "audit-fallback.jsonl"),
    }
    async with running_bot(workshop, env, SlackDouble()) as running:
        yield running


@pytest.fixture
def bot(module_bot: Bot) -> Iterator[Bot]:
    module_bot.double.reset()
    yield module_bot
    _clear_faults(module_bot.sim)


def _clear_faults(sim: RunningSim) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{sim.url}/kubesim/v1/faults", method="DELETE"), timeout=10)


async def _answer(bot: Bot, text: str, user: str = APPROVER) -> dict[str, Any]:
    await bot.command(text, user=user)
    return (await bot.double.wait_for("chat.update"))[0]


def _apply_button(message: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_APPLY)


def _submission(user: str, metadata: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "view": {
            "id": "V0001",
            "type": "modal",
            "callback_id": blocks.VIEW_CONFIRM,
            "private_metadata": metadata,
            "state": {"values": {}},
            "hash": "h",
            "team_id": "T0001",
            "blocks": [],
        },
    }


async def _modal(bot: Bot, message: dict[str, Any], user: str = APPROVER) -> dict[str, Any]:
    await bot.click(message, blocks.ACTION_APPLY, user=user, value=_apply_button(message)["value"])
    return dict((await bot.double.wait_for("views.update"))[0]["view"])


# ---- leaks ------------------------------------------------------------------------------------------------------
async def test_a_failed_apply_does_not_post_the_api_server_url(bot: Bot) -> None:
    message = await _answer(bot, "why svc/web -n q4")
    modal = await _modal(bot, message)
    bot.sim.control(
        "faults", {"status": 409, "method": "PATCH", "path": "/services/web", "times": 5, "message": "conflict"}
    )
    await bot.interact(_submission(APPROVER, modal["private_metadata"]))
    posts = await bot.double.wait_for("chat.postMessage", 2)
    said = json.dumps(posts[-1])
    assert "failed" in said and "409" in said
    assert bot.sim.url not in said and "http://" not in said and "127.0.0.1" not in said


async def test_show_logs_redacts_private_keys_and_session_cookies(bot: Bot) -> None:
    logs = (
        "starting\n-----BEGIN RSA PRIVATE KEY-----\n"
        f"{KEY_BODY}\n{KEY_BODY[:40]}\n-----END RSA PRIVATE KEY-----\n"
        f"GET /cart Cookie: sessionid={SESSION}; theme=dark\n"
        f"Set-Cookie: JSESSIONID={SESSION}; Path=/\nready\n"
    )
    body = base64.b64encode(logs.encode()).decode()
    message = await _answer(bot, "why db-0 -n q5")
    bot.sim.control("faults", {"method": "GET", "path": "/pods/db-0/log", "times": 2, "body_base64": body})
    await bot.click(message, blocks.ACTION_LOGS)
    posted = (await bot.double.wait_for("chat.postMessage", 2))[-1]
    shown = text_of(posted["blocks"])
    assert "starting" in shown and "ready" in shown and "BEGIN RSA PRIVATE KEY" in shown
    assert KEY_BODY[:20] not in shown and SESSION not in shown
    assert "[redacted]" in shown


async def test_the_fallback_text_is_escaped(bot: Bot) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pinger", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": False,
                    "restartCount": 7,
                    "image": "busybox",
                    "imageID": "",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {"terminated": {"reason": "<!channel>", "exitCode": 1}},
                }
            ],
        },
    }
    bot.sim.control("apply", {"steps": [{"create": pod}]})
    try:
        update = await _answer(bot, "why pod/default/pinger")
    finally:
        bot.sim.control("apply", {"steps": [{"delete": {"kind": "Pod", "namespace": "default", "name": "pinger"}}]})
    assert "exited with code 1" in update["text"]
    assert "<!channel>" not in update["text"] and "&lt;!channel&gt;" in update["text"]


async def _paged(bot: Bot, subject: str) -> tuple[Any, str]:
    """An incident the watchers paged in CHANNEL (its message posted by the bot), and the message's ts."""
    ledger = await bot.deps.app.ledger()
    incident, _ = await ledger.open_incident(
        cluster="sim", rule="crashloop", subject=subject, severity="warning", title="crash", channel=CHANNEL
    )
    ts = f"1718359999.{incident.id:06d}"
    await ledger.change(incident.id, message_ts=ts)
    return incident, ts


async def _click_incident(bot: Bot, action_id: str, incident: Any, ts: str, user: str, **over: Any) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "x", "team_id": "T0001"},
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "ops"},
        "message": {"ts": ts, "blocks": []},
        "response_url": f"{bot.double.url}/response/3",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": json.dumps({"i": incident.id, "r": incident.ref}),
                "action_ts": "1",
            }
        ],
    }
    payload.update(over)
    await bot.interact(payload)


async def test_a_user_id_with_markup_is_not_a_mention_in_resolved_by(bot: Bot) -> None:
    bot.double.usergroups["S0ODD"] = ["<!channel>"]  # a payload's user id is whatever the payload says
    saved = bot.deps.slack
    bot.deps.slack = dataclasses.replace(saved, allow={**saved.allow, "*": (*saved.allow.get("*", ()), "S0ODD")})
    try:
        incident, ts = await _paged(bot, "pod/q1/odd-user")
        await _click_incident(bot, ACTION_RESOLVE, incident, ts, "<!channel>")
        await bot.double.wait_for("response_url")  # refused: not a Slack user id
    finally:
        bot.deps.slack = saved
    assert not any("<!channel>" in json.dumps(c.params) for c in bot.double.calls if c.method.startswith("chat."))
    current = await (await bot.deps.app.ledger()).get(incident.id)
    assert current is not None and current.state == "open"
    assert "<!channel>" not in blocks.mention("<!channel>")  # and were one shown, it is text, not a mention
    assert blocks.mention("U0APPROVER") == "<@U0APPROVER>"


# ---- trust in the payload ---------------------------------------------------------------------------------------
def _refusals(entries: list[Any]) -> list[str]:
    return [e.summary for e in entries if e.kind == "action" and e.summary.startswith("refused")]


async def test_a_forged_channel_does_not_make_show_logs_post_elsewhere(bot: Bot) -> None:
    message = await _answer(bot, "why db-0 -n q5")
    button = next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_LOGS)
    payload = {
        "type": "block_actions",
        "user": {"id": APPROVER, "username": "a", "team_id": "T0001"},
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C0ELSEWHERE"},
        "channel": {"id": "C0ELSEWHERE", "name": "random"},
        "message": {"ts": message["ts"], "blocks": message["blocks"]},
        "response_url": f"{bot.double.url}/response/4",
        "actions": [{"action_id": blocks.ACTION_LOGS, "block_id": "b", "type": "button", "value": button["value"]}],
    }
    await bot.interact(payload)
    await bot.double.wait_for("response_url")
    assert not [p for p in bot.double.to("chat.postMessage") if p.get("channel") == "C0ELSEWHERE"]
    assert not [p for p in bot.double.to("chat.postEphemeral") if p.get("channel") == "C0ELSEWHERE"]
    assert _refusals(await bot.deps.app.history(limit=20))


async def test_rerun_cannot_overwrite_another_message(bot: Bot) -> None:
    first = await _answer(bot, "why db-0 -n q5")
    bot.double.reset()
    other = await _answer(bot, "why svc/web -n q4")  # the message a forged Re-run would overwrite
    bot.double.reset()
    forged = {**first, "ts": other["ts"]}  # db-0's button, on the Service's message
    await bot.click(forged, blocks.ACTION_RERUN)
    await bot.double.wait_for("response_url")
    assert not bot.double.to("chat.update")  # nothing overwritten
    bot.double.reset()
    await bot.click({**first, "ts": "1700000000.000001"}, blocks.ACTION_RERUN)  # a message the bot never posted
    await bot.double.wait_for("response_url")
    assert not bot.double.to("chat.update")


async def test_a_payload_from_another_workspace_is_refused(bot: Bot) -> None:
    message = await _answer(bot, "why db-0 -n q5")
    bot.double.reset()
    button = next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_EVENTS)
    await bot.interact(
        {
            "type": "block_actions",
            "team": {"id": "T0EVIL", "domain": "evil"},
            "user": {"id": APPROVER, "username": "a", "team_id": "T0EVIL"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
            "channel": {"id": CHANNEL, "name": "ops"},
            "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "response_url": f"{bot.double.url}/response/5",
            "actions": [
                {"action_id": blocks.ACTION_EVENTS, "block_id": "b", "type": "button", "value": button["value"]}
            ],
        }
    )
    said = (await bot.double.wait_for("response_url"))[0]
    assert "workspace" in said["text"]
    assert not bot.double.to("chat.postMessage")


async def test_a_submission_with_no_prior_click_applies_nothing_and_is_audited(bot: Bot) -> None:
    message = await _answer(bot, "why svc/web -n q4")
    fix = json.loads(_apply_button(message)["value"])["f"]
    before = bot.sim.stats().get("patch services", 0)
    # Straight to the submission: no click, so no dry run, no access review, no modal of the bot's
    await bot.interact(_submission(APPROVER, json.dumps({"f": fix, "c": CHANNEL, "ts": message["ts"]})))
    # The modal opened for someone else, submitted by the approver
    modal = await _modal(bot, message, user=APPROVER)
    bot.deps.modals[next(iter(reversed(bot.deps.modals)))] = dataclasses.replace(
        bot.deps.modals[next(iter(reversed(bot.deps.modals)))], user=ASKER
    )
    await bot.interact(_submission(APPROVER, modal["private_metadata"]))
    entries = await bot.deps.app.history(limit=30)
    refused = _refusals(entries)
    assert len(refused) >= 2, [e.summary for e in entries]
    assert bot.sim.stats().get("patch services", 0) == before + 1  # the one dry run of the click; no apply
    action = bot.deps.app.fix(fix)
    assert action is not None and action.approved_by is None


async def test_the_lifecycle_refuses_an_approval_with_no_dry_run_shown(bot: Bot) -> None:
    report = await bot.deps.app.diagnose(parse_target("svc/q4/web"))
    action = next(iter(bot.deps.app.propose(report).values()))
    result = await bot.deps.app.apply(action, actor=APPROVER)
    assert not result.ok and "no dry run was shown" in result.message
    assert action.approved_by is None
    entries = await bot.deps.app.history(target=parse_target("svc/q4/web"), limit=10)
    assert any(e.kind == "fix_event" and e.summary.startswith("declined") for e in entries)


def _command_from(team: str, enterprise: str | None, text: str, user: str = APPROVER) -> str:
    import urllib.parse

    fields = {
        "token": "legacy",
        "team_id": team,
        "channel_id": CHANNEL,
        "user_id": user,
        "command": "/k8s",
        "text": text,
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": f"1.2.{time.time_ns()}",
    }
    if enterprise is not None:
        fields.update(enterprise_id=enterprise, is_enterprise_install="true")
    return urllib.parse.urlencode(fields)


async def test_an_org_wide_install_serves_every_workspace_of_its_org_and_no_other(
    workshop: RunningSim, tmp_path: Path
) -> None:
    """Enterprise Grid: a bot installed org-wide (auth.test: is_enterprise_install) answers a person in any
    workspace of its org, and refuses a request naming another org, or none (a workspace outside any org on the
    same app), for commands and clicks alike."""
    env = {
        "KUBEWHY_SLACK_ALLOW": f"*={APPROVER}",
        "KUBEWHY_SLACK_NAMESPACES": "q4,q5",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    import asyncio

    from bot.app import build_client
    from bot.binding import installed, keep_workspaces
    from tests.waiting import until

    org = SlackDouble(
        auth={"team_id": "E0ORG", "enterprise_id": "E0ORG", "is_enterprise_install": True},
        org_teams=["T0OPS", "T0DEV", "T0SALES"],  # two pages
    )
    async with running_bot(workshop, env, org) as bot:
        status, said, _ = await bot.post(_command_from("T0SALES", "E0ORG", "why db-0 -n q5"))
        assert "not from the workspace" in said  # the org's workspaces not read yet: nothing is served
        client = build_client(bot.deps.slack)
        bot.deps.installation = await installed(await client.auth_test(), client)  # as the bot does at start
        assert bot.deps.installation.workspaces == frozenset({"T0OPS", "T0DEV", "T0SALES"})
        status, said, _ = await bot.post(_command_from("T0SALES", "E0ORG", "why db-0 -n q5"))
        assert status == 200 and "not from the workspace" not in said
        message = (await bot.double.wait_for("chat.update"))[0]
        for team, enterprise in (("T0OTHER", "E0OTHER"), ("T0LONE", None), ("E0OTHER", "E0OTHER"), ("T0NEW", "E0ORG")):
            status, said, _ = await bot.post(_command_from(team, enterprise, "why db-0 -n q5"))
            assert status == 200 and "not from the workspace I am installed in" in said, (team, enterprise, said)
        button = next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_EVENTS)

        def click(team: str, enterprise: str) -> dict[str, Any]:
            return {
                "type": "block_actions",
                "team": {"id": team, "domain": "x", "enterprise_id": enterprise},
                "enterprise": {"id": enterprise, "name": "org"},
                "is_enterprise_install": True,
                "user": {"id": "W0APPROVER", "username": "a", "team_id": team},
                "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
                "channel": {"id": CHANNEL, "name": "ops"},
                "message": {"ts": message["ts"], "blocks": message["blocks"]},
                "response_url": f"{bot.double.url}/response/6",
                "actions": [
                    {"action_id": blocks.ACTION_EVENTS, "block_id": "b", "type": "button", "value": button["value"]}
                ],
            }

        bot.double.reset()
        await bot.interact(click("T0EVIL", "E0EVIL"))
        answer = (await bot.double.wait_for("response_url"))[0]
        assert "workspace" in answer["text"] and not bot.double.to("chat.postMessage")
        await bot.interact(click("T0SALES", "E0ORG"))  # another workspace of the org: served
        posted = (await bot.double.wait_for("chat.postMessage"))[0]
        assert posted["thread_ts"] == message["ts"]
        refused = _refusals(await bot.deps.app.history(limit=30))
        assert len(refused) == 6, refused  # five commands and a click
        # A workspace the org admin adds later is served from the next reading of the org's workspaces.
        org.org_teams.append("T0NEW")
        stop = asyncio.Event()
        keeping = asyncio.create_task(keep_workspaces(bot.deps, client, stop, every=0.05))
        await until(lambda: "T0NEW" in (bot.deps.installation.workspaces or ()), what="the new workspace")
        stop.set()
        await keeping
        bot.double.reset()
        status, said, _ = await bot.post(_command_from("T0NEW", "E0ORG", "why db-0 -n q5"))
        assert "not from the workspace" not in said
        await bot.double.wait_for("chat.update")


async def test_which_installation_a_request_must_come_from() -> None:
    """The rules of bot/binding.py, one installation shape at a time (auth.test as Slack answers it)."""
    from bot.binding import Installation, foreign

    def body(team: str | None, enterprise: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"user": {"id": "W0A"}}
        if team:
            out["team"] = {"id": team}
        if enterprise:
            out["enterprise"] = {"id": enterprise}
        return out

    workspace = Installation.of({"team_id": "T0001"})
    granted = frozenset({"T0001", "T0002", "T0003"})
    in_an_org = Installation.of({"team_id": "T0001", "enterprise_id": "E0ORG", "is_enterprise_install": False})
    org_wide = dataclasses.replace(
        Installation.of({"team_id": "T0001", "enterprise_id": "E0ORG", "is_enterprise_install": True}),
        workspaces=granted,
    )
    bolt_org_wide = Installation.of({"team_id": "E0ORG", "enterprise_id": "E0ORG"})  # Bolt's result: no flag
    assert not workspace.org_wide and not in_an_org.org_wide and org_wide.org_wide and bolt_org_wide.org_wide
    unlisted = dataclasses.replace(bolt_org_wide, workspaces=None)
    cases = [
        (workspace, ("T0001", None), True),
        (workspace, ("T0002", None), False),
        (workspace, ("T0001", "E0ORG"), False),
        (in_an_org, ("T0001", "E0ORG"), True),
        (in_an_org, ("T0002", "E0ORG"), False),  # installed in one workspace of the org: that one only
        (in_an_org, ("T0001", None), True),  # Slack leaves the enterprise out of some payloads
        (org_wide, ("T0002", "E0ORG"), True),
        (org_wide, ("T0002", "E0OTHER"), False),
        (org_wide, ("T0002", None), False),
        (org_wide, ("<!channel>", "E0ORG"), False),
        (org_wide, ("T0009", "E0ORG"), False),  # not a workspace the org granted the app
        (dataclasses.replace(bolt_org_wide, workspaces=granted), ("T0003", "E0ORG"), True),
        (unlisted, ("T0003", "E0ORG"), False),  # the org's workspaces not known: nothing is served
    ]
    for installation, (team, enterprise), accepted in cases:
        why = foreign({}, body(team, enterprise), installation)
        assert (why is None) == accepted, (installation, team, enterprise, why)
    # A person of another organisation in a shared (Slack Connect) channel: their own team is on the user.
    shared = {"team": {"id": "T0001"}, "user": {"id": "U0EXT", "team_id": "T0EXTERNAL"}}
    assert foreign({}, shared, workspace) is not None
    assert foreign({}, {**shared, "enterprise": {"id": "E0ORG"}}, org_wide) is not None  # not of the org: refused


# ---- who may act ------------------------------------------------------------------------------------------------
def _said(body: str) -> str:
    return str(json.loads(body)["text"]) if body.startswith("{") else body


async def test_mute_acknowledge_and_resolve_need_the_allowlist(bot: Bot) -> None:
    ledger = await bot.deps.app.ledger()
    _, body, _ = await bot.command("mute ns/q1 30d", user=STRANGER)
    assert "not on the allowlist" in _said(body)
    assert not [m for m in await ledger.mutes() if m.target == "ns/q1"]
    _, body, _ = await bot.command("unmute node/node-3", user=STRANGER)
    assert "not on the allowlist" in _said(body)
    incident, ts = await _paged(bot, "pod/q1/who-may-act")
    await _click_incident(bot, ACTION_RESOLVE, incident, ts, STRANGER)
    said = (await bot.double.wait_for("response_url"))[-1]
    assert "not on the allowlist" in said["text"]
    current = await ledger.get(incident.id)
    assert current is not None and current.state == "open"
    _, body, _ = await bot.command("mute ns/q1 1h", user=APPROVER)  # the allowlist may
    assert "muted `ns/q1`" in _said(body)
    await bot.command("unmute ns/q1", user=APPROVER)


async def test_the_incident_allowlist_is_configurable(bot: Bot) -> None:
    saved = bot.deps.slack
    bot.deps.slack = dataclasses.replace(saved, incident_allow={"*": ("*",)})  # anyone who can run /k8s
    try:
        _, body, _ = await bot.command("mute node/node-3 1h", user=STRANGER)
        assert "muted `node/node-3`" in _said(body)
        await bot.command("unmute node/node-3", user=STRANGER)
        bot.deps.slack = dataclasses.replace(saved, incident_allow={"q1": (ASKER,)})
        _, body, _ = await bot.command("mute node/node-3 1h", user=APPROVER)  # fixes, yes; incidents, not here
        assert "KUBEWHY_SLACK_INCIDENT_ALLOW" in _said(body)
    finally:
        bot.deps.slack = saved


# ---- durability -------------------------------------------------------------------------------------------------
async def test_a_replay_is_refused_after_a_restart(workshop: RunningSim, tmp_path: Path) -> None:
    env = {
        "KUBEWHY_SLACK_ALLOW": f"*={APPROVER}",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    body = "token=legacy&team_id=T0001&channel_id=C0OPS&user_id=U0APPROVER&command=%2Fk8s&text=help&trigger_id=1.2.3"
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    async with running_bot(workshop, env) as first:
        status, _, _ = await first.post(body, timestamp=timestamp, signature=signature)
        assert status == 200
        status, _, _ = await first.post(body, timestamp=timestamp, signature=signature)
        assert status == 401  # a replay, in the same process
    async with running_bot(workshop, env) as restarted:  # a new process on the same audit database
        status, text, _ = await restarted.post(body, timestamp=timestamp, signature=signature)
        assert status == 401 and "replayed" in text
        assert restarted.double.calls == [] or all(c.method == "auth.test" for c in restarted.double.calls)


# ---- bad input --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload,reason",
    [
        ("[" * 5000 + "]" * 5000, "nested"),  # a signed, deeply nested JSON body
        ('{"a":' * 60 + "1" + "}" * 60, "nested"),  # deeper than any Slack payload, within Python's limit
        (
            json.dumps({"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": APPROVER}, "actions": []}),
            "without actions",
        ),
        (json.dumps({"type": "block_actions", "actions": [{"value": "x"}]}), "action_id"),
        (json.dumps({"type": "view_submission", "view": {"id": "V1"}}), "callback_id"),
        (json.dumps({"type": "block_actions", "user": "U1", "actions": [{"action_id": "x"}]}), "not an object"),
    ],
    ids=["deep-arrays", "deeper-than-slack", "no-actions", "no-action-id", "no-callback-id", "user-not-object"],
)
async def test_signed_malformed_payloads_get_a_clear_400(bot: Bot, payload: str, reason: str) -> None:
    import urllib.parse

    status, text, _ = await bot.post(urllib.parse.urlencode({"payload": payload}))
    assert status == 400, text
    assert reason in json.loads(text)["reason"] and "Traceback" not in text


async def test_a_signed_json_body_nested_too_deep_is_a_400(bot: Bot) -> None:
    status, text, _ = await bot.post("{" + '"a":{' * 3000 + "}" * 3001)
    assert status == 400 and "nested" in text


async def test_a_body_over_one_mib_is_refused_unread(bot: Bot) -> None:
    """The HTTP server stops reading at MAX_BODY (1 MiB): 413, before the signature or any parsing."""
    import urllib.parse

    from bot.gate import MAX_BODY

    body = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "pad": "x" * MAX_BODY})})
    status, text, _ = await bot.post(body)
    assert status == 413 and "Maximum request body size 1048576 exceeded" in text, text
    assert "Traceback" not in text
    assert not bot.double.calls  # nothing reached Bolt


async def test_a_huge_mute_duration_is_a_clear_error(bot: Bot) -> None:
    _, body, _ = await bot.command("mute node/node-3 99999999999999999999d", user=APPROVER)
    said = _said(body)
    assert "between 1s and 30d" in said and "something went wrong" not in said


# ---- the model: applied as the person ---------------------------------------------------------------------------
async def test_fixes_are_applied_as_the_approver_and_kubernetes_rbac_decides(tmp_path: Path) -> None:
    """End to end: the bot's own token may read and impersonate (the chart's grant), nothing more. APPROVER is
    mapped to alice in the group sre, which may patch Services in q4; ASKER is mapped to bob, who may not;
    STRANGER is on the allowlist but not in the map."""
    from kubesim.scenario import Identity as SimIdentity
    from tests.kubesim.test_impersonation import SERVICE_ACCOUNT, grant

    scenario = load_scenario("workshop")
    scenario.users["kubesim"] = SimIdentity(SERVICE_ACCOUNT, read_only=True)  # the kubeconfig's token
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "kubeconfig")
    grant(sim, users=("alice", "bob"), groups=("sre",))
    identities = tmp_path / "identities.yaml"
    identities.write_text(f"{APPROVER}: {{user: alice, groups: [sre]}}\n{ASKER}: {{user: bob}}\n")
    env = {
        "KUBEWHY_SLACK_ALLOW": f"q4={APPROVER},{ASKER},{STRANGER}",
        "KUBEWHY_SLACK_IDENTITIES": str(identities),
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    try:
        async with running_bot(sim, env) as bot:
            message = await _answer(bot, "why svc/web -n q4")
            button = _apply_button(message)
            await bot.click(message, blocks.ACTION_APPLY, user=ASKER, value=button["value"])  # bob: RBAC says no
            said = (await bot.double.wait_for("chat.postEphemeral"))[-1]
            assert "`bob`" in said["text"] and "may not patch services in namespace `q4`" in said["text"]
            await bot.click(message, blocks.ACTION_APPLY, user=STRANGER, value=button["value"])  # not mapped
            said = (await bot.double.wait_for("chat.postEphemeral", 2))[-1]
            assert "no Kubernetes identity" in said["text"]
            assert not bot.double.to("views.open") and not any(k.startswith("patch") for k in sim.stats())
            modal = await _modal(bot, message, user=APPROVER)  # alice, in sre: the dry run passes, as her
            assert "Dry run accepted" in text_of(modal["blocks"])
            await bot.interact(_submission(APPROVER, modal["private_metadata"]))
            done = (await bot.double.wait_for("chat.postMessage", 2))[-1]
            assert "applied" in text_of(done["blocks"])
            service = sim.cluster.store.get(("", "services"), "q4", "web")
            assert service is not None and service["spec"]["selector"] == {"app": "web"}
            action = bot.deps.app.fix(json.loads(button["value"])["f"])
            assert action is not None and action.applied_as is not None
            assert (action.applied_as.kind, action.applied_as.name, action.applied_as.groups) == (
                "person",
                "alice",
                ("sre",),
            )
            entries = await bot.deps.app.history(limit=50)
            declined = [e for e in entries if e.kind == "fix_event" and e.summary.startswith("declined")]
            assert {e.actor for e in declined} >= {ASKER, STRANGER}
    finally:
        sim.stop()


async def test_without_an_identity_map_nothing_is_applied_with_the_bots_own_rights(
    workshop: RunningSim, tmp_path: Path
) -> None:
    """Issue 27: with no mapping, apply is refused; it never falls back to the bot's own rights. Here the bot's own
    token is the simulator's admin, who could patch anything: an allowlisted person is still refused, before any
    access review or dry run, told why, and the refusal is recorded."""
    env = {
        "KUBEWHY_SLACK_ALLOW": f"*={APPROVER}",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    async with running_bot(workshop, env) as unmapped:
        assert unmapped.deps.identities is None
        before = unmapped.sim.stats()
        message = await _answer(unmapped, "why svc/web -n q4")
        await unmapped.click(message, blocks.ACTION_APPLY, user=APPROVER, value=_apply_button(message)["value"])
        said = (await unmapped.double.wait_for("chat.postEphemeral"))[-1]
        assert said["user"] == APPROVER and "no identity map" in said["text"] and "own rights" in said["text"]
        assert not unmapped.double.to("views.open")
        after = unmapped.sim.stats()
        for call in ("create selfsubjectaccessreviews", "patch services"):
            assert after.get(call, 0) == before.get(call, 0), call  # no access review, no dry run
        entries = await unmapped.deps.app.history(limit=30)
        declined = [e for e in entries if e.kind == "fix_event" and e.summary.startswith("declined")]
        assert declined and declined[0].actor == APPROVER, declined
        assert "no identity map" in json.dumps(declined[0].details), declined[0].details


async def test_a_submission_is_refused_when_the_approver_is_no_longer_mapped_as_at_the_dry_run(bot: Bot) -> None:
    """The identity is looked up again at submit: a map gone, or naming someone else since the dry run, applies
    nothing (and the bot's own rights are never used instead); each refusal is recorded."""
    from kubewhy.identity import parse_identities

    saved = bot.deps.identities
    assert saved is not None
    before = bot.sim.stats().get("patch services", 0)
    try:
        message = await _answer(bot, "why svc/web -n q4")
        modal = await _modal(bot, message)  # the dry run, as the mapped approver
        bot.deps.identities = None
        await bot.interact(_submission(APPROVER, modal["private_metadata"]))
        said = (await bot.double.wait_for("chat.postEphemeral"))[-1]
        assert "no identity map" in said["text"]
        bot.deps.identities = parse_identities(f"{APPROVER}: {{user: someone-else}}\n", "edited.yaml")
        await bot.interact(_submission(APPROVER, modal["private_metadata"]))
        said = (await bot.double.wait_for("chat.postEphemeral", 2))[-1]
        assert "identity changed since the dry run" in said["text"]
    finally:
        bot.deps.identities = saved
    assert bot.sim.stats().get("patch services", 0) == before + 1  # the one dry run of the click; no apply
    action = bot.deps.app.fix(json.loads(_apply_button(message)["value"])["f"])
    assert action is not None and action.approved_by is None and action.applied_as is None
    entries = await bot.deps.app.history(target=parse_target("svc/q4/web"), limit=20)
    reasons = [json.dumps(e.details) for e in entries if e.kind == "fix_event" and e.summary.startswith("declined")]
    assert any("no identity map" in r for r in reasons) and any("identity changed" in r for r in reasons), reasons


# ---- did it work ------------------------------------------------------------------------------------------------
def _restore(sim: RunningSim) -> None:
    """The module's simulator as it was: q4's Service selects nothing, q9's ServiceMonitor is not selected."""
    steps = [
        {
            "target": {"kind": "Service", "namespace": "q4", "name": "web"},
            "merge": {"spec": {"selector": {"app": "webb"}}},
        },
        {
            "target": {"kind": "ServiceMonitor", "namespace": "q9", "name": "api"},
            "merge": {"metadata": {"labels": {"release": "prometheus"}}},
        },
    ]
    sim.control("apply", {"steps": [{"patch": step} for step in steps]})


@pytest.mark.parametrize(
    "target,word,said",
    [
        ("svc/api -n q9", "Resolved", "servicemonitor-ignored no longer found on svc/q9/api"),
        # the selector fixed, the pods still not reached (its targetPort is wrong too): the finding stays
        ("svc/web -n q4", "Still failing", "service-no-endpoints still found on svc/q4/web"),
    ],
    ids=["resolved", "still-failing"],
)
async def test_a_verify_run_after_the_fix_posts_resolved_or_still_failing(
    bot: Bot, target: str, word: str, said: str
) -> None:
    saved = bot.deps.slack
    # no settle window here, and q9 readable
    bot.deps.slack = dataclasses.replace(saved, verify_after=0.0, namespaces=(*saved.namespaces, "q9"))
    try:
        message = await _answer(bot, f"why {target}")
        modal = await _modal(bot, message)
        await bot.interact(_submission(APPROVER, modal["private_metadata"]))
        applied = (await bot.double.wait_for("chat.postMessage", 2))[-1]
        assert "applied" in text_of(applied["blocks"])
        assert bot.deps.verifier is not None
        await bot.deps.verifier.run_once()  # what its loop does within its interval
        posted = (await bot.double.wait_for("chat.postMessage", 3))[-1]
    finally:
        bot.deps.slack = saved
        _restore(bot.sim)
    assert posted["thread_ts"] == message["ts"] and posted["channel"] == CHANNEL
    shown = text_of(posted["blocks"])
    assert word in shown and said in shown, shown
    ref = parse_target(target.split()[0], target.split()[-1])
    entries = await bot.deps.app.history(target=ref, limit=20)
    assert [e for e in entries if e.kind == "action" and e.summary.startswith("fix verified")], entries
    jobs = await (await bot.deps.app.verifications()).jobs()
    assert jobs[-1].state == ("resolved" if word == "Resolved" else "failing")


# ---- two people where configured --------------------------------------------------------------------------------
async def test_where_two_people_are_needed_the_asker_cannot_approve(bot: Bot) -> None:
    saved = bot.deps.slack
    allow = {"*": (APPROVER, ASKER)}
    bot.deps.slack = dataclasses.replace(saved, allow=allow, two_person=("prod", "selector:app=web"))
    try:
        message = await _answer(bot, "why svc/web -n q4", user=ASKER)  # the Service's labels: app=web
        button = _apply_button(message)
        await bot.click(message, blocks.ACTION_APPLY, user=ASKER, value=button["value"])
        said = (await bot.double.wait_for("chat.postEphemeral"))[-1]
        assert said["user"] == ASKER and "two people are needed here" in said["text"]
        assert not bot.double.to("views.open")
        modal = await _modal(bot, message, user=APPROVER)  # someone else: the dry run, then the modal
        assert "Dry run accepted" in text_of(modal["blocks"])
        action = bot.deps.app.fix(json.loads(button["value"])["f"])
        assert action is not None and action.policy == "two-person" and action.requested_by == ASKER
        # the lifecycle itself refuses the asker, even past the front-end
        await bot.deps.app.dry_run(action, actor=ASKER)
        result = await bot.deps.app.apply(action, actor=ASKER)
        assert not result.ok and "someone else must approve" in result.message
        # where no rule matches, the asker may approve their own fix
        bot.deps.slack = dataclasses.replace(saved, allow=allow, two_person=("prod", "selector:tier=critical"))
        bot.double.reset()
        other = await _answer(bot, "why svc/web -n q4", user=ASKER)
        await _modal(bot, other, user=ASKER)
    finally:
        bot.deps.slack = saved


async def test_through_slack_a_changed_object_makes_the_approval_stale(bot: Bot) -> None:
    service = {"kind": "Service", "namespace": "q4", "name": "web"}
    try:
        message = await _answer(bot, "why svc/web -n q4")
        modal = await _modal(bot, message)
        # churn while the modal is open (status, annotations: a new resourceVersion), then the selector itself
        bot.sim.control(
            "apply", {"steps": [{"patch": {"target": service, "merge": {"metadata": {"annotations": {"x": "1"}}}}}]}
        )
        bot.sim.control(
            "apply", {"steps": [{"patch": {"target": service, "merge": {"spec": {"selector": {"app": "x"}}}}}]}
        )
        await bot.interact(_submission(APPROVER, modal["private_metadata"]))
        said = (await bot.double.wait_for("chat.postMessage", 2))[-1]
        assert "changed since the dry run" in text_of(said["blocks"])
        live = bot.sim.cluster.store.get(("", "services"), "q4", "web")
        assert live is not None and live["spec"]["selector"] == {"app": "x"}  # nothing was overwritten
        bot.double.reset()
        fresh = await _modal(bot, message)  # a fresh look, and the same churn alone: still approvable
        bot.sim.control(
            "apply", {"steps": [{"patch": {"target": service, "merge": {"metadata": {"annotations": {"x": "2"}}}}}]}
        )
        await bot.interact(_submission(APPROVER, fresh["private_metadata"]))
        said = (await bot.double.wait_for("chat.postMessage"))[-1]
        assert "applied" in text_of(said["blocks"]), text_of(said["blocks"])
    finally:
        _restore(bot.sim)
