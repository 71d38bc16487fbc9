"""People in the loop: Acknowledge and Resolve on the page, ``/k8s incidents``, ``/k8s mute`` and ``/k8s unmute``,
through the real Bolt app with signed requests; every step lands in the audit log and in ``kubewhy postmortem``
in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.app import build_client
from bot.pager import ACTION_ACK, ACTION_RESOLVE, SlackNotifier
from kubewhy import actions
from kubewhy.settings import load
from kubewhy.watch.engine import Watcher
from kubewhy.watch.run import run_watchers
from tests.bot.slack_double import SlackDouble
from tests.bot.test_slack_bot import ALLOWED, CHANNEL, running_bot
from tests.waiting import until

from .conftest import DATA, Cluster, Pages, settled, text_of, watch_environ


def said(body: str) -> str:
    """What an ``ack(text=...)`` answered: Bolt sends plain text, or JSON when there is more than text."""
    return str(json.loads(body)["text"]) if body.startswith("{") else body


async def test_acknowledge_mute_and_resolve_from_slack_are_audited_in_order(cluster: Cluster, tmp_path: Path) -> None:
    slack = SlackDouble()
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    bot_env = {
        "KUBEWHY_DATABASE_URL": db,
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        "KUBEWHY_SLACK_ALLOW": f"*={ALLOWED}",  # who may acknowledge, mute and resolve (issue 27)
    }
    async with running_bot(cluster.sim, bot_env, slack) as bot:
        env = watch_environ(
            cluster,
            slack,
            tmp_path,
            database_url=db,
            KUBEWHY_ALERT_CHANNEL=CHANNEL,
            KUBEWHY_WATCH_RULES=str(DATA / "rules.yaml"),
        )
        settings = load(env)
        stop, ready = asyncio.Event(), asyncio.Event()
        box: list[Watcher] = []

        def on_ready(w: Watcher) -> None:
            box.append(w)
            ready.set()

        task = asyncio.create_task(
            run_watchers(
                settings,
                SlackNotifier(build_client(settings.slack), bot.deps),
                stop=stop,
                on_ready=on_ready,
                app=bot.deps.app,
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), 30)
            pages = Pages(slack)
            await cluster.node_ready("node-2", False)
            await pages.wait(lambda: len(pages.posts()) == 1, what="the page")
            page = {**pages.posts()[0], "ts": slack.answers("chat.postMessage")[0]["ts"]}
            ref = json.loads(
                next(
                    e["value"]
                    for b in page["blocks"]
                    for e in b.get("elements") or []
                    if e.get("action_id") == ACTION_ACK
                )
            )["r"]

            status, listed, _ = await bot.command("incidents")
            assert status == 200, listed
            assert ref in said(listed) and "open" in said(listed)
            # a button value naming another incident, or one not on this message, is refused
            await bot.click(page, ACTION_RESOLVE, value=json.dumps({"i": 999, "r": "W-x"}))
            await slack.wait_for("response_url")  # told through the click's response_url, not the claimed channel
            assert "not in my ledger" in slack.to("response_url")[-1]["text"]

            await bot.click(page, ACTION_ACK)
            await pages.wait(
                lambda: any("Acknowledged by" in r.get("text", "") for r in pages.replies()), what="the acknowledgement"
            )
            assert any(u["ts"] == page["ts"] and "acknowledged" in text_of(u) for u in pages.updates())
            _, muted, _ = await bot.command("mute node/node-2 2h")
            assert "muted `node/node-2`" in said(muted)
            _, listed, _ = await bot.command("incidents")
            assert ref in said(listed) and "acknowledged" in said(listed)
            _, bad, _ = await bot.command("mute node/node-2 forever")
            assert "invalid duration" in said(bad)
            await bot.command("unmute node/node-2")

            ack_message = {
                **page,
                "blocks": next(u["blocks"] for u in reversed(pages.updates()) if u["ts"] == page["ts"]),
            }
            await bot.click(ack_message, ACTION_RESOLVE)
            await pages.wait(
                lambda: any("Resolved by" in r.get("text", "") for r in pages.replies()), what="the resolve"
            )
            _, listed, _ = await bot.command("incidents")
            assert "No open incidents" in said(listed)
            watcher = box[0]
            held = watcher.candidates[("node-not-ready", "node/node-2")]
            await until(lambda: held.suppressed, what="the watcher to read the person's resolve from the ledger")
            await settled(watcher, cluster)
            assert len(pages.posts()) == 1  # still NotReady, but resolved by a person: not paged again

            assert bot.deps.app.audit is not None
            await bot.deps.app.audit.flush()
            timeline = [e for e in reversed(await actions.history(bot.deps.app.audit, incident=ref, limit=100))]
            what = [(e.kind, e.summary.split(":")[0]) for e in timeline]
            assert ("action", "acknowledge") in what and ("action", "mute") in what and ("action", "unmute") in what
            order = [w for w in what if w in {("action", "acknowledge"), ("action", "mute"), ("action", "unmute")}]
            assert order == [("action", "acknowledge"), ("action", "mute"), ("action", "unmute")]
            assert any(e.actor == ALLOWED and e.summary.startswith("acknowledge") for e in timeline)
            report = await actions.postmortem(bot.deps.app.audit, ref)
            assert report is not None and "acknowledge" in report and "Alerts" in report
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
