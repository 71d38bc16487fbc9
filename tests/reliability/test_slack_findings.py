"""Issue 15, "Found: Slack": each finding, reproduced against the real Bolt app over HTTP (signed as Slack
signs), the workshop scenario on the simulator and the Slack Web API double."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import blocks
from kubewhy import actions
from kubewhy.models.target import Target
from kubewhy.settings import load as load_settings
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import ALLOWED, CHANNEL, GROUP_MEMBER, Bot, all_elements, running_bot, text_of
from tests.reliability.conftest import audit_env, post_raw, signed_headers
from tests.scenarios import KUBELET_SAMPLE

REPO = Path(__file__).resolve().parents[2]


def click_payload(action_id: str, value: str, user: str = ALLOWED, ts: str = "1718359200.000100") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "ops"},
        "message": {"ts": ts, "blocks": []},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": str(time.time())}
        ],
    }


# ------------------------------------------------------------------------------------- 1. namespace restriction


async def test_status_without_namespace_lists_only_readable_namespaces(rbot: Bot) -> None:
    await rbot.command("status")
    text = text_of((await rbot.double.wait_for("chat.postMessage"))[0]["blocks"])
    assert "q5/db-0" in text  # a crashing pod of a readable namespace
    assert "q8/" not in text and "q3/" not in text and "kube-system/" not in text
    assert "namespaces `q1`, `q4`, `q5`" in text


async def test_history_shows_only_readable_namespaces_and_no_os_user(rbot: Bot) -> None:
    core = rbot.deps.app
    assert core.audit is not None
    actions.record_action(core, "show_logs", actor="alice-os-login", source="cli", target=Target("Pod", "x", "q8"))
    actions.record_action(core, "show_logs", actor="bob-os-login", source="cli", target=Target("Pod", "y", "q1"))
    actions.record_action(core, "show_events", actor="U0SOMEONE", source="slack", target=Target("Pod", "z", "q1"))
    await rbot.command("history")
    text = text_of((await rbot.double.wait_for("chat.postMessage"))[0]["blocks"])
    assert "pod/q1/y" in text and "pod/q1/z" in text and "U0SOMEONE" in text
    assert "q8" not in text  # another namespace's record
    assert "alice-os-login" not in text and "bob-os-login" not in text  # the CLI operator's OS user
    await rbot.command("history pod/q8/x")
    refused = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert "may not read namespace `q8`" in refused["text"]
    assert len(rbot.double.to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "action_id",
    [
        blocks.ACTION_LOGS,
        blocks.ACTION_EVENTS,
        blocks.ACTION_DESCRIBE,
        blocks.ACTION_RERUN,
        blocks.ACTION_MORE,
        blocks.ACTION_APPLY,
    ],
)
async def test_hand_made_button_values_are_checked_on_the_server(rbot: Bot, action_id: str) -> None:
    value = json.dumps({"t": "pod/kube-system/kube-apiserver-node-1", "f": "0" * 16})
    status, _, _ = await rbot.interact(click_payload(action_id, value))
    assert status == 200
    refused = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert refused["user"] == ALLOWED and "may not read namespace `kube-system`" in refused["text"]
    assert not rbot.double.to("chat.postMessage") and not rbot.double.to("chat.update")
    assert not rbot.double.to("views.open")
    entries = await actions.history(rbot.deps.app.audit, limit=50)
    assert not [e for e in entries if "kube-system" in e.target]  # nothing was read, nothing recorded


async def test_a_malformed_button_value_is_refused_clearly(rbot: Bot) -> None:
    await rbot.interact(click_payload(blocks.ACTION_LOGS, "{not json"))
    refused = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert "cannot use this button" in refused["text"]


# ------------------------------------------------------------------------------------- 2. replays and retries


async def test_the_same_signed_request_three_times_runs_once(rbot: Bot) -> None:
    body = urllib.parse.urlencode(
        {
            "command": "/k8s",
            "text": "why app-7d4b9c6f5-x2x7k -n q1",
            "user_id": ALLOWED,
            "channel_id": CHANNEL,
            "team_id": "T0001",
            "trigger_id": "1.2.replay",
            "response_url": f"{rbot.double.url}/response/1",
        }
    ).encode()
    headers = signed_headers(body)
    statuses = [(await post_raw(rbot, body, headers))[0] for _ in range(3)]
    assert statuses == [200, 401, 401]
    await rbot.double.wait_for("chat.update")
    assert len(rbot.double.to("chat.postMessage")) == 1
    await rbot.deps.app.audit.flush()  # type: ignore[union-attr]
    diagnoses = [e for e in await actions.history(rbot.deps.app.audit, limit=50) if e.kind == "diagnosis"]
    assert len(diagnoses) == 1


async def test_slack_retries_of_a_delivered_request_are_not_run_again(rbot: Bot) -> None:
    body = urllib.parse.urlencode(
        {
            "command": "/k8s",
            "text": "why app-7d4b9c6f5-x2x7k -n q1",
            "user_id": ALLOWED,
            "channel_id": CHANNEL,
            "team_id": "T0001",
            "trigger_id": "1.2.retry",
            "response_url": f"{rbot.double.url}/response/1",
        }
    ).encode()
    assert (await post_raw(rbot, body, signed_headers(body)))[0] == 200
    for n in (1, 2):  # Slack signs each retry anew (new timestamp); the delivery is the same
        status, _, headers = await post_raw(
            rbot,
            body,
            signed_headers(
                body,
                timestamp=str(int(time.time()) + n),
                **{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"},
            ),
        )
        assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    await rbot.double.wait_for("chat.update")
    assert len(rbot.double.to("chat.postMessage")) == 1


async def test_an_events_api_retry_is_recognised_by_event_id(rbot: Bot) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "A0KUBEWHY",
        "event_id": "Ev0001",
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "UKUBEWHY", "is_bot": True}],
        "event": {
            "type": "app_mention",
            "user": ALLOWED,
            "text": "<@UKUBEWHY> why app-7d4b9c6f5-x2x7k -n q1",
            "ts": "1718359300.000100",
            "channel": CHANNEL,
            "event_ts": "1718359300.000100",
        },
    }
    first = json.dumps(event).encode()
    retry = json.dumps({**event, "event_time": event["event_time"] + 1}).encode()  # same event, new envelope
    assert (await post_raw(rbot, first, signed_headers(first, content_type="application/json")))[0] == 200
    status, _, _ = await post_raw(
        rbot, retry, signed_headers(retry, content_type="application/json", **{"X-Slack-Retry-Num": "1"})
    )
    assert status == 200
    await rbot.double.wait_for("chat.update")
    assert len(rbot.double.to("chat.postMessage")) == 1


# ------------------------------------------------------------------------------------- 3. verify before parsing


@pytest.mark.parametrize(
    "case", ["non-integer timestamp", "unsigned garbage", "signed garbage payload", "non-utf8 signed body"]
)
async def test_bad_requests_get_4xx_without_traceback_or_body_in_the_log(
    rbot: Bot, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    legacy = urllib.parse.urlencode({"token": "legacy-verification-token-123", "text": "why x"}).encode()
    if case == "non-integer timestamp":
        body, headers = legacy, {**signed_headers(legacy), "X-Slack-Request-Timestamp": "17e9"}
    elif case == "unsigned garbage":
        body, headers = b"\x00\xff{{{token=legacy-verification-token-123", {"Content-Type": "text/plain"}
    elif case == "signed garbage payload":
        body = b"payload=%7Bnot-json&token=legacy-verification-token-123"
        headers = signed_headers(body)
    else:
        body = b"token=legacy-verification-token-123&text=\xff\xfe"
        headers = signed_headers(body)
    status, text, _ = await post_raw(rbot, body, headers)
    expected = 401 if case in ("non-integer timestamp", "unsigned garbage") else 400
    assert status == expected, text
    assert "Traceback" not in text
    assert not [r for r in caplog.records if r.exc_info]
    assert "legacy-verification-token-123" not in caplog.text
    assert [c.method for c in rbot.double.calls if c.method != "auth.test"] == []


# ------------------------------------------------------------------------------------- 4. failure after ack


async def test_a_listener_failing_after_ack_answers_through_response_url(rbot: Bot) -> None:
    rbot.double.fail("chat.postMessage", "not_in_channel")  # a private channel the bot was not invited to
    status, _, _ = await rbot.command("why app-7d4b9c6f5-x2x7k -n q1")
    assert status == 200
    fallback = (await rbot.double.wait_for("response_url"))[0]
    assert fallback["response_type"] == "ephemeral"
    assert "not a member" in fallback["text"] and "/invite" in fallback["text"]


async def test_an_unexpected_slack_error_still_reaches_the_user(rbot: Bot) -> None:
    rbot.double.fail("chat.postMessage", "fatal_error")
    await rbot.command("status")
    fallback = (await rbot.double.wait_for("response_url"))[0]
    assert "Sorry, I could not finish that" in fallback["text"] and "fatal_error" in fallback["text"]


# ------------------------------------------------------------------------------------- 5. internals in public


async def test_an_unreachable_cluster_is_reported_without_internals(start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim("workshop", timeline_mode="manual")
    async with running_bot(sim, {"KUBEWHY_SLACK_NAMESPACES": "q1", **audit_env(tmp_path), **KUBELET_SAMPLE}) as bot:
        sim.stop()  # the API server goes away
        await bot.command("why app-7d4b9c6f5-x2x7k -n q1")
        await bot.command("status -n q1")
        update = (await bot.double.wait_for("chat.update"))[0]
        status = (await bot.double.wait_for("chat.postEphemeral"))[0]
        for shown in (text_of(update["blocks"]), update["text"], status["text"]):
            assert "cannot be reached" in shown
            assert "127.0.0.1" not in shown and "http" not in shown.lower().replace("https://", "")
            assert "MaxRetryError" not in shown and "Error(" not in shown


# ------------------------------------------------------------------------------------- 6. start-up


async def test_start_up_verifies_the_token_once_before_any_request(rbot: Bot) -> None:
    from bot.app import build_app
    from bot.startup import prewarm, verify_token

    app = build_app(rbot.deps)
    prewarm(app, await verify_token(app.client, attempts=1))
    before = len(rbot.double.to("auth.test"))
    from slack_bolt.request.async_request import AsyncBoltRequest

    body = urllib.parse.urlencode(
        {"command": "/k8s", "text": "help", "user_id": ALLOWED, "channel_id": CHANNEL, "team_id": "T0001"}
    )
    headers: dict[str, Any] = dict(signed_headers(body.encode()))
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert len(rbot.double.to("auth.test")) == before  # the request did not wait for auth.test


async def test_an_unreachable_slack_api_stops_start_up_with_a_clear_error(start_sim: Any, tmp_path: Path) -> None:
    from bot.runner import serve
    from bot.startup import SlackUnavailable

    sim = start_sim("workshop", timeline_mode="manual")
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "KUBEWHY_SLACK_API_URL": "http://127.0.0.1:9/api/",
            "KUBECONFIG": str(sim.kubeconfig),
            **audit_env(tmp_path),
        }
    )
    with pytest.raises(SlackUnavailable, match="cannot verify the bot token after 1 attempt"):
        await serve(settings, auth_attempts=1)


def test_a_rejected_token_exits_4_with_one_line(
    start_sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import threading

    from bot.runner import main

    double = SlackDouble()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    url = asyncio.run_coroutine_threadsafe(double.start(), loop).result(10)
    double.fail("auth.test", "invalid_auth")
    sim = start_sim("workshop", timeline_mode="manual")
    try:
        code = main(
            {
                "SLACK_BOT_TOKEN": "xoxb-revoked",
                "SLACK_SIGNING_SECRET": "s",
                "KUBEWHY_SLACK_API_URL": url,
                "KUBECONFIG": str(sim.kubeconfig),
                **audit_env(tmp_path),
            }
        )
    finally:
        asyncio.run_coroutine_threadsafe(double.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
    err = capsys.readouterr().err
    assert code == 4
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------- 7. smaller findings


async def test_not_found_is_ephemeral(rbot: Bot) -> None:
    await rbot.command("why no-such-pod -n q1")
    ephemeral = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert ephemeral["user"] == ALLOWED and "not found" in ephemeral["text"].lower()
    assert rbot.double.to("chat.delete")  # the public "investigating…" message is withdrawn
    assert not rbot.double.to("chat.update")


async def test_long_targets_are_not_echoed_whole(rbot: Bot) -> None:
    status, body, _ = await rbot.command("why pod/" + "a" * 5000 + "!")
    assert status == 200 and len(body) < 600


async def test_history_escapes_what_was_typed(rbot: Bot) -> None:
    await rbot.command("history <!channel>")
    ephemeral = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert "<!channel>" not in ephemeral["text"] and "&lt;!channel&gt;" in ephemeral["text"]


async def test_playbooks_lists_every_playbook_without_cutting_a_line(rbot: Bot) -> None:
    _, body, _ = await rbot.command("playbooks")
    reply = json.loads(body)
    sections = [b["text"]["text"] for b in reply["blocks"]]
    assert all(len(s) <= 3000 for s in sections)
    listed = [line for s in sections for line in s.splitlines() if line.startswith("• `")]
    ids = sorted(p.id for p in rbot.deps.app.catalog.playbooks)
    assert len(ids) > 37 and [line.split("`")[1] for line in listed] == ids


async def test_the_slack_answer_suggests_no_cli_flag(rbot: Bot) -> None:
    await rbot.command("why app-7d4b9c6f5-x2x7k -n q1")
    update = (await rbot.double.wait_for("chat.update"))[0]
    shown = json.dumps(update["blocks"])
    assert "Prometheus not configured" in shown  # the note is there ...
    assert "--prometheus" not in shown  # ... without a command-line flag


async def test_submitting_apply_twice_applies_once(rbot: Bot) -> None:
    await rbot.command("why svc/web -n q4")
    message = (await rbot.double.wait_for("chat.update"))[0]
    value = next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_APPLY)["value"]
    await rbot.interact(click_payload(blocks.ACTION_APPLY, value, user=GROUP_MEMBER, ts=message["ts"]))
    modal = (await rbot.double.wait_for("views.update"))[0]["view"]
    submit = {
        "type": "view_submission",
        "user": {"id": GROUP_MEMBER, "username": "g", "team_id": "T0001"},
        "view": {
            "id": "V0001",
            "type": "modal",
            "callback_id": blocks.VIEW_CONFIRM,
            "hash": "h",
            "private_metadata": modal["private_metadata"],
            "state": {"values": {}},
            "team_id": "T0001",
            "blocks": [],
        },
    }
    await rbot.interact(submit)
    await rbot.interact({**submit, "trigger_id": "another"})  # a double click: a second, distinct delivery
    again = (await rbot.double.wait_for("chat.postEphemeral"))[0]
    assert "already submitted" in again["text"]
    await rbot.double.wait_for("chat.postMessage", 2)
    await rbot.deps.app.audit.flush()  # type: ignore[union-attr]
    events = [
        e.summary.split(":")[0] for e in await actions.history(rbot.deps.app.audit, limit=100) if e.kind == "fix_event"
    ]
    assert events.count("applied") == 1 and events.count("approved") == 1


async def test_the_bot_answers_an_at_mention_in_the_thread(rbot: Bot) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "A0KUBEWHY",
        "event_id": "Ev0002",
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "UKUBEWHY", "is_bot": True}],
        "event": {
            "type": "app_mention",
            "user": ALLOWED,
            "text": "<@UKUBEWHY> why app-7d4b9c6f5-x2x7k -n q1",
            "ts": "1718359300.000200",
            "channel": CHANNEL,
            "event_ts": "1718359300.000200",
        },
    }
    body = json.dumps(event).encode()
    assert (await post_raw(rbot, body, signed_headers(body, content_type="application/json")))[0] == 200
    posted = (await rbot.double.wait_for("chat.postMessage"))[0]
    assert posted["thread_ts"] == "1718359300.000200"
    update = (await rbot.double.wait_for("chat.update"))[0]
    assert "OOMKilled" in text_of(update["blocks"])
    manifest = yaml.safe_load((REPO / "slack" / "manifest.yaml").read_text())
    assert "app_mention" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "app_mentions:read" in manifest["oauth_config"]["scopes"]["bot"]


async def test_an_at_mention_is_held_to_the_namespace_restriction(rbot: Bot) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "A0KUBEWHY",
        "event_id": "Ev0003",
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "UKUBEWHY", "is_bot": True}],
        "event": {
            "type": "app_mention",
            "user": ALLOWED,
            "text": "<@UKUBEWHY> why pod-x -n kube-system",
            "ts": "1718359300.000300",
            "channel": CHANNEL,
            "event_ts": "1718359300.000300",
        },
    }
    body = json.dumps(event).encode()
    await post_raw(rbot, body, signed_headers(body, content_type="application/json"))
    reply = (await rbot.double.wait_for("chat.postMessage"))[0]
    assert "may not read namespace `kube-system`" in reply["text"]
    assert not rbot.double.to("chat.update")


@pytest.mark.parametrize(
    "env,host",
    [
        ({}, "127.0.0.1"),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "0.0.0.0"),
        ({"KUBEWHY_SLACK_HOST": "10.1.2.3"}, "10.1.2.3"),
    ],
)
def test_the_bind_address_is_loopback_unless_in_a_pod_or_told(env: dict[str, str], host: str) -> None:
    assert load_settings({"SLACK_BOT_TOKEN": "x", **env}).slack.host == host
