"""The "What changed" button (issue 29), driven with signed requests against the real Bolt app, a simulator and the
Slack double: under an answer about a pod whose rollout broke it, the button posts the timeline in the answer's
thread (the revision with the new image, its change-cause), and the click is audited. A forged button (another
target than the message's) is refused, and nothing is read for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import blocks
from kubesim import load as load_scenario
from kubesim.runner import RunningSim, run_in_thread
from kubesim.server import SimOptions
from tests.bot.test_slack_bot import ALLOWED, CHANNEL, Bot, all_elements, running_bot, text_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

POD = "pod/shop/pricing-tx72lp2c4h-r8w3c"


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    sim = run_in_thread(
        load_scenario("catalogue/recent-change"),
        SimOptions(timeline_mode="manual"),
        kubeconfig_out=tmp_path_factory.mktemp("sim") / "kubeconfig",
    )
    yield sim
    sim.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(rollout: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    tmp: Path = tmp_path_factory.mktemp("bot")
    env = {
        "KUBEWHY_SLACK_NAMESPACES": "shop",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp / "audit-fallback.jsonl"),
    }
    async with running_bot(rollout, env) as running:
        yield running


async def _answer(bot: Bot) -> dict[str, object]:
    bot.double.reset()
    await bot.command(f"why {POD.removeprefix('pod/shop/')} -n shop")
    return (await bot.double.wait_for("chat.update"))[0]


async def test_what_changed_posts_the_timeline_in_the_thread_and_is_audited(bot: Bot) -> None:
    message = await _answer(bot)
    buttons = {e.get("action_id"): e for e in all_elements(message["blocks"])}  # type: ignore[arg-type]
    assert blocks.ACTION_CHANGES in buttons and buttons[blocks.ACTION_CHANGES]["text"]["text"] == "What changed"
    status, _, _ = await bot.click(message, blocks.ACTION_CHANGES)  # type: ignore[arg-type]
    assert status == 200
    posted = (await bot.double.wait_for("chat.postMessage", 2))[-1]
    assert posted["thread_ts"] == message["ts"] and posted["channel"] == CHANNEL
    text = text_of(posted["blocks"])
    assert f"{POD}: what changed in the last 2h" in text
    assert "revision 8" in text and "pricing: image ghcr.io/acme/pricing:2.9.4 → ghcr.io/acme/pricing:3.0.0" in text
    entries = await bot.deps.app.history(limit=50)
    assert (ALLOWED, "what changed", POD) in {(e.actor, e.summary, e.target) for e in entries if e.kind == "action"}


async def test_a_forged_what_changed_button_is_refused_and_reads_nothing(bot: Bot) -> None:
    message = await _answer(bot)
    before = bot.sim.stats()
    forged = json.dumps({"t": "deploy/shop/pricing"})  # the message is about the pod, not the Deployment
    await bot.click(message, blocks.ACTION_CHANGES, value=forged)  # type: ignore[arg-type]
    refusal = (await bot.double.wait_for("response_url"))[0]  # to the clicker only
    assert "not on a message I posted about that object" in json.dumps(refusal)
    assert not [p for p in bot.double.to("chat.postMessage") if p.get("thread_ts") == message["ts"]]
    after = bot.sim.stats()
    assert {k: n for k, n in after.items() if n != before.get(k)} == {}  # nothing read for it
