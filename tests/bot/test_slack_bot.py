"""The real Bolt app in HTTP mode, driven with signed requests as Slack sends them, against a simulator
scenario, with its WebClient pointed at a local Slack Web API double.

The simulator, the bot (one :class:`~kubewhy.app.Kubewhy`) and its audit database are started once for the
module: each test starts from a fresh record of Slack calls, and a test that changes the cluster puts it back."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from slack_sdk.signature import SignatureVerifier

from bot import blocks
from bot.app import build_app, build_web_app
from bot.deps import BotDeps
from kubesim import load as load_scenario
from kubesim.runner import RunningSim, run_in_thread
from kubesim.server import SimOptions
from kubewhy.app import Kubewhy
from kubewhy.settings import load as load_settings
from tests.bot.fixers import GROUP, fixers
from tests.bot.slack_double import SlackDouble, block_errors

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's bot runs on one event loop

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0OPS"
ALLOWED, GROUP_MEMBER, STRANGER = "U0ALLOWED", "U0GROUPIE", "U0STRANGER"


class Bot:
    def __init__(self, url: str, double: SlackDouble, deps: BotDeps, sim: Any):
        self.url, self.double, self.deps, self.sim = url, double, deps, sim

    async def post(
        self, body: str, *, timestamp: str | None = None, signature: str | None = None
    ) -> tuple[int, str, float]:
        ts = timestamp or str(int(time.time()))
        sig = (
            signature
            if signature is not None
            else SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts}
        if sig:
            headers["X-Slack-Signature"] = sig
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.url}/slack/events", data=body.encode(), headers=headers) as resp:
                return resp.status, await resp.text(), time.perf_counter() - started

    async def command(self, text: str, user: str = ALLOWED, **kw: Any) -> tuple[int, str, float]:
        body = urllib.parse.urlencode(
            {
                "token": "legacy",
                "team_id": "T0001",
                "team_domain": "ops",
                "channel_id": CHANNEL,
                "channel_name": "ops",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/k8s",
                "text": text,
                "api_app_id": "A0KUBEWHY",
                "response_url": f"{self.double.url}/response/1",
                "trigger_id": f"1.2.{uuid.uuid4().hex}",
            }
        )  # unique per invocation, as Slack's (the gate refuses replays)
        return await self.post(body, **kw)

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str, float]:
        base = {
            "team": {"id": "T0001", "domain": "ops"},
            "api_app_id": "A0KUBEWHY",
            "token": "legacy",
            "trigger_id": f"9.8.{uuid.uuid4().hex}",
        }
        return await self.post(urllib.parse.urlencode({"payload": json.dumps({**base, **payload})}))

    async def click(
        self, message: dict[str, Any], action_id: str, user: str = ALLOWED, value: str | None = None
    ) -> tuple[int, str, float]:
        button = next(b for b in all_elements(message["blocks"]) if b.get("action_id") == action_id)
        return await self.interact(
            {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
                "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
                "channel": {"id": CHANNEL, "name": "ops"},
                "message": {"ts": message["ts"], "blocks": message["blocks"]},
                "response_url": f"{self.double.url}/response/2",
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": "b",
                        "type": "button",
                        "value": value or button["value"],
                        "action_ts": str(time.time()),
                    }
                ],
            }
        )


def all_elements(blocks_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for b in blocks_:
        out += b.get("elements") or []
        if b.get("accessory"):
            out.append(b["accessory"])
    return out


def text_of(blocks_: list[dict[str, Any]]) -> str:
    parts = []
    for b in blocks_:
        parts.append((b.get("text") or {}).get("text", ""))
        parts += [
            e.get("text", "") if isinstance(e.get("text"), str) else (e.get("text") or {}).get("text", "")
            for e in b.get("elements") or []
        ]
    return "\n".join(parts)


@asynccontextmanager
async def running_bot(sim: Any, env: dict[str, str], double: SlackDouble | None = None) -> AsyncIterator[Bot]:
    """The bot as ``kubewhy bot`` builds it (settings, then one Kubewhy), serving HTTP on a free port, with its Web
    API pointed at a Slack double."""
    double = double or SlackDouble()
    api_url = await double.start()
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "KUBEWHY_SLACK_API_URL": api_url,
            "KUBECONFIG": str(sim.kubeconfig),
            **env,
        }
    )
    try:
        async with Kubewhy(settings, source="slack", start_audit=True) as app:
            deps = BotDeps.of(app)
            runner = web.AppRunner(build_web_app(deps, build_app(deps)), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            try:
                yield Bot(f"http://127.0.0.1:{port}", double, deps, sim)
            finally:
                await runner.cleanup()
    finally:
        await double.stop()


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    sim = run_in_thread(
        load_scenario("workshop"),
        SimOptions(timeline_mode="manual"),
        kubeconfig_out=tmp_path_factory.mktemp("sim") / "kubeconfig",
    )
    yield sim
    sim.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_bot(workshop: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    tmp = tmp_path_factory.mktemp("bot")
    identities = fixers(workshop, tmp / "identities.yaml", (ALLOWED, GROUP_MEMBER))
    env = {
        "KUBEWHY_SLACK_ALLOW": f"q1={ALLOWED};*=S0SRE",
        "KUBEWHY_SLACK_IDENTITIES": str(identities),
        "KUBEWHY_SLACK_NAMESPACES": "q1,q4,q5,kube-system,default",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp / "audit-fallback.jsonl"),
    }
    async with running_bot(workshop, env, SlackDouble(usergroups={"S0SRE": [GROUP_MEMBER]})) as running:
        yield running


@pytest.fixture
def bot(module_bot: Bot) -> Bot:
    """The module's bot, with no Slack call recorded yet (every test's listeners have finished: each one waits
    for the last call its request makes)."""
    module_bot.double.reset()
    return module_bot


async def test_why_acks_then_posts_investigating_then_updates_in_place(bot: Bot) -> None:
    status, body, _ = await bot.command("why app-7d4b9c6f5-x2x7k -n q1")
    assert status == 200 and body == ""  # acknowledged, nothing ephemeral
    posted = (await bot.double.wait_for("chat.postMessage"))[0]
    assert posted["channel"] == CHANNEL and "investigating" in text_of(posted["blocks"])
    update = (await bot.double.wait_for("chat.update"))[0]
    answered = bot.double.answers("chat.postMessage")[0]["ts"]  # the ts Slack gave the "investigating" message
    assert update["ts"] == answered  # the answer replaced that very message, not another one
    rendered = text_of(update["blocks"])
    assert update["blocks"][0]["type"] == "header"
    assert "pod/q1/app-7d4b9c6f5-x2x7k" in update["blocks"][0]["text"]["text"]
    assert "Container killed for running out of memory" in rendered and "OOMKilled" in rendered
    assert "Liveness probe" in rendered
    assert "--limits=memory" in rendered  # the fix's kubectl command
    actions = {e.get("action_id") for e in all_elements(update["blocks"])}
    assert {blocks.ACTION_LOGS, blocks.ACTION_EVENTS, blocks.ACTION_DESCRIBE, blocks.ACTION_RERUN} <= actions
    assert not block_errors(update["blocks"])


@pytest.mark.parametrize("how", ["bad", "missing", "old"])
async def test_requests_with_bad_or_old_signatures_are_rejected(bot: Bot, how: str) -> None:
    kw: dict[str, Any] = {
        "bad": {"signature": "v0=" + "0" * 64},
        "missing": {"signature": ""},
        "old": {"timestamp": str(int(time.time()) - 3600)},
    }[how]
    status, _, _ = await bot.command("why app-7d4b9c6f5-x2x7k -n q1", **kw)
    assert status == 401
    assert [c.method for c in bot.double.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("why", "Tell me what to look at"),
        ("why <!channel>", "&lt;!channel&gt;"),
        ("why pod/x;rm", "not a valid Kubernetes"),
        ("why pod/x; rm -rf ~", "One target at a time"),
        ("why `id`", "not a valid Kubernetes name"),
        ("why app-x -n secret-team", "may not read namespace"),
        ("why app-x -n", "needs a namespace"),
        ("frobnicate", "I don't know `frobnicate`"),
        ("", "/k8s why"),
    ],
)
async def test_bad_input_gets_a_short_ephemeral_answer(bot: Bot, text: str, expected: str) -> None:
    status, body, _ = await bot.command(text)
    assert status == 200
    reply = json.loads(body) if body.startswith("{") else {"text": body}  # Bolt sends text-only acks as text
    shown = reply.get("text", "") + json.dumps(reply.get("blocks", []))
    assert expected in shown
    assert "<!channel>" not in shown
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert not bot.double.to("chat.postMessage")  # nothing went to the channel


async def test_show_logs_events_and_describe_buttons_post_in_thread(bot: Bot) -> None:
    await bot.command("why db-0 -n q5")
    message = (await bot.double.wait_for("chat.update"))[0]
    await bot.click(message, blocks.ACTION_LOGS)
    await bot.click(message, blocks.ACTION_EVENTS)
    await bot.click(message, blocks.ACTION_DESCRIBE)
    posts = await bot.double.wait_for("chat.postMessage", 4)
    threaded = [p for p in posts if p.get("thread_ts") == message["ts"]]
    text = "\n".join(text_of(p["blocks"]) for p in threaded)
    assert "No space left on device" in text  # previous container's logs, in a code block
    assert "```" in text
    assert "BackOff" in text  # events
    assert "Container postgres" in text  # describe
    entries = await bot.deps.app.history(limit=50)
    clicks = {(e.actor, e.summary, e.target) for e in entries if e.kind == "action"}
    assert {
        (ALLOWED, "show logs", "pod/q5/db-0"),
        (ALLOWED, "show events", "pod/q5/db-0"),
        (ALLOWED, "describe", "pod/q5/db-0"),
    } <= clicks  # every click is recorded with the Slack user


@pytest.fixture
def q4_web(module_bot: Bot) -> Iterator[k8s.CoreV1Api]:
    """A client for checking q4's Service ``web``; its broken selector is put back after the test (the module's
    simulator is shared, and the fix repairs it)."""
    v1 = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(module_bot.sim.kubeconfig)))
    yield v1
    v1.patch_namespaced_service("web", "q4", {"spec": {"selector": {"app": "webb"}}})


async def test_only_allowed_users_can_apply_a_fix_and_both_are_audited(bot: Bot, q4_web: k8s.CoreV1Api) -> None:
    await bot.command("why svc/web -n q4")
    message = (await bot.double.wait_for("chat.update"))[0]
    apply_buttons = [e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_APPLY]
    assert apply_buttons, text_of(message["blocks"])
    # A stranger sees why not; nothing opens, nothing changes.
    await bot.click(message, blocks.ACTION_APPLY, user=STRANGER, value=apply_buttons[0]["value"])
    ephemeral = (await bot.double.wait_for("chat.postEphemeral"))[0]
    assert ephemeral["user"] == STRANGER and "allowlist" in ephemeral["text"]
    assert not bot.double.to("views.open")
    # A member of the allowed user group gets the dry run first, then applies.
    await bot.click(message, blocks.ACTION_APPLY, user=GROUP_MEMBER, value=apply_buttons[0]["value"])
    await bot.double.wait_for("views.open")
    modal = (await bot.double.wait_for("views.update"))[0]["view"]
    assert "Dry run accepted" in text_of(modal["blocks"]) and modal["callback_id"] == blocks.VIEW_CONFIRM
    assert q4_web.read_namespaced_service("web", "q4").spec.selector == {"app": "webb"}  # dry run changed nothing
    await bot.interact(
        {
            "type": "view_submission",
            "user": {"id": GROUP_MEMBER, "username": "groupie", "team_id": "T0001"},
            "view": {
                "id": "V0001",
                "type": "modal",
                "callback_id": blocks.VIEW_CONFIRM,
                "private_metadata": modal["private_metadata"],
                "state": {"values": {}},
                "hash": "h",
                "team_id": "T0001",
                "blocks": [],
            },
        }
    )
    done = [p for p in await bot.double.wait_for("chat.postMessage", 2) if p.get("thread_ts") == message["ts"]]
    assert done and "applied" in text_of(done[-1]["blocks"])
    assert q4_web.read_namespaced_service("web", "q4").spec.selector == {"app": "web"}  # the fix reached the cluster
    action = bot.deps.app.fix(json.loads(apply_buttons[0]["value"])["f"])
    assert action is not None and action.state == "applied" and action.approved_by == GROUP_MEMBER
    assert action.applied_as is not None  # as the approver, mapped: never the bot's own credentials
    assert (action.applied_as.kind, action.applied_as.name, action.applied_as.groups) == (
        "person",
        "u0groupie",
        (GROUP,),
    )
    assert action.target_uid is not None  # read at the dry run, checked before the patch was sent
    entries = await bot.deps.app.history(limit=100)
    events = [(e.actor, e.summary.split(":")[0]) for e in entries if e.kind == "fix_event"]
    assert (STRANGER, "declined") in events
    assert (GROUP_MEMBER, "dry-run") in events and (GROUP_MEMBER, "approved") in events
    assert (GROUP_MEMBER, "applied") in events
    assert any(e.kind == "diagnosis" and e.source == "slack" and e.actor == ALLOWED for e in entries)


async def test_rate_limited_update_is_retried_after_retry_after(bot: Bot) -> None:
    bot.double.rate_limit("chat.update", times=1, retry_after=1)
    await bot.command("why node/node-3")
    update = (await bot.double.wait_for("chat.update"))[0]
    assert [c.method for c in bot.double.calls].count("chat.update:429") == 1
    assert "node-not-ready" in json.dumps(update["blocks"]) or "NotReady" in text_of(update["blocks"])


async def test_status_history_and_playbooks(bot: Bot) -> None:
    await bot.command("status")
    status = (await bot.double.wait_for("chat.postMessage"))[0]
    text = text_of(status["blocks"])
    assert "node-3" in text and "CrashLoopBackOff" in text
    assert "q8/" not in text  # the ContainerCreating pod of q8: a namespace this bot may not read (issue 15)
    await bot.command("why app-7d4b9c6f5-x2x7k -n q1")
    await bot.double.wait_for("chat.update")
    await bot.command("history pod/q1/app-7d4b9c6f5-x2x7k")
    history = (await bot.double.wait_for("chat.postMessage", 3))[-1]
    assert "oom" in text_of(history["blocks"]).lower() or "memory" in text_of(history["blocks"]).lower()
    _, body, _ = await bot.command("playbooks")
    assert "oom-killed" in body


async def test_answer_carries_a_chart_drawn_off_the_event_loop(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kubewhy.charts
    from kubesim import prometheus as promserver
    from kubewhy.adapters.prom import PromMetrics

    if promserver.binaries() is None:
        pytest.skip("prometheus/promtool not installed (scripts/services installs Debian's package)")
    drawn_in: list[int] = []
    render_png = kubewhy.charts.render_png

    def render_and_note_the_thread(*args: Any, **kwargs: Any) -> Path:
        drawn_in.append(threading.get_ident())
        return render_png(*args, **kwargs)

    monkeypatch.setattr(kubewhy.charts, "render_png", render_and_note_the_thread)
    core, slack = bot.deps.app.deps, bot.deps.slack
    saved = core.prom
    with promserver.serve_scenario_history(
        load_scenario("workshop/q10-p99-latency"), tmp_path / "prom", ahead=900
    ) as prom:
        core.prom = PromMetrics(prom.url)
        bot.deps.slack = dataclasses.replace(slack, namespaces=(*slack.namespaces, "q10"))
        try:
            await bot.command("why pod/q10/server-7b6f4c9d8c-jhk7g")
            update = (await bot.double.wait_for("chat.update"))[0]
            assert "throttl" in text_of(update["blocks"]).lower()
            await bot.double.wait_for("files.completeUploadExternal")
        finally:  # the module's bot again as it was: no Prometheus, no q10
            core.prom, bot.deps.slack = saved, slack
    uploads = bot.double.to("upload")
    assert uploads and uploads[0]["bytes"] > 10_000  # a real PNG
    complete = bot.double.to("files.completeUploadExternal")[0]
    assert complete.get("channel_id") == CHANNEL and complete.get("thread_ts") == update["ts"]
    # matplotlib ran in a worker thread, not on the event loop that acknowledges Slack's requests (this test's)
    assert drawn_in and threading.get_ident() not in drawn_in


async def test_why_with_pasted_describe_output_is_diagnosed_from_the_text(bot: Bot) -> None:
    sample = Path(__file__).resolve().parents[1] / "realworld" / "describe" / "kuill-83-pod.txt"
    paste = sample.read_text(encoding="utf-8")
    status, body, _ = await bot.command(f"why {paste}")
    assert status == 200 and body == ""
    update = (await bot.double.wait_for("chat.update"))[0]
    rendered = text_of(update["blocks"])
    assert "pod/kube-system/kuill-5b7bd6c875-lsbqc" in update["blocks"][0]["text"]["text"]
    assert "auth-proxy-certs" in rendered and "does not exist" in rendered
    actions = {e.get("action_id") for e in all_elements(update["blocks"])}
    assert blocks.ACTION_APPLY not in actions  # a paste is not the cluster: nothing to apply a fix to
    assert not block_errors(update["blocks"])


async def test_an_approver_kubernetes_refuses_is_told_so_before_any_dry_run(tmp_path: Path) -> None:
    """The bot asks the API server (SelfSubjectAccessReview, as the approver) whether they may patch, before
    offering the fix for approval: an approver RBAC gives no patch right is told so plainly, and nothing is
    tried, however much the bot's own token may do (here: it is the simulator's admin)."""
    scenario = load_scenario("workshop")
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "ro.kubeconfig")
    identities = tmp_path / "identities.yaml"
    identities.write_text(f"{ALLOWED}: {{user: reader}}\n")  # no binding: RBAC gives reader nothing
    env = {
        "KUBEWHY_SLACK_ALLOW": f"q4={ALLOWED}",
        "KUBEWHY_SLACK_IDENTITIES": str(identities),
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    try:
        async with running_bot(sim, env) as ro:
            await ro.command("why svc/web -n q4")
            message = (await ro.double.wait_for("chat.update"))[0]
            button = next(e for e in all_elements(message["blocks"]) if e.get("action_id") == blocks.ACTION_APPLY)
            await ro.click(message, blocks.ACTION_APPLY, user=ALLOWED, value=button["value"])
            said = (await ro.double.wait_for("chat.postEphemeral"))[0]
            assert "`reader`" in said["text"] and "may not patch services in namespace `q4`" in said["text"]
            assert not ro.double.to("views.open")  # no dry run, no modal
            assert ro.sim.stats().get("create selfsubjectaccessreviews") == 1
            assert not any(k.startswith("patch") for k in ro.sim.stats())
            entries = await ro.deps.app.history(limit=50)
            assert any(e.kind == "fix_event" and e.summary.startswith("declined") for e in entries)
    finally:
        sim.stop()
