"""An answer whose message binding the audit database does not take is still posted (bot/listeners/diagnosis.py):
the binding stays in the bot's memory, so its buttons work until a restart, and the failure is logged. An answer
whose binding is slow to write does not wait for it: the write goes on behind, and its outcome is still logged."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot import blocks
from bot.listeners import diagnosis
from kubesim import load as load_scenario
from kubesim.runner import run_in_thread
from kubesim.server import SimOptions
from tests.bot.test_slack_bot import all_elements, running_bot, text_of


async def test_an_answer_whose_binding_was_not_saved_is_posted_and_its_buttons_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = run_in_thread(load_scenario("workshop"), SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "k")
    env = {
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    try:
        async with running_bot(sim, env) as bot:
            await bot.deps.app.trust()  # the schema is in place
            with sqlite3.connect(tmp_path / "audit.db") as db:
                db.execute("DROP TABLE posted_messages")  # every binding write fails from now on
            with caplog.at_level(logging.WARNING, logger="kubewhy.bot"):
                await bot.command("why db-0 -n q5")
                message = (await bot.double.wait_for("chat.update"))[0]
                await _logged(caplog, "was not saved")
            assert "pod/q5/db-0" in message["blocks"][0]["text"]["text"]  # the answer, not an error
            assert blocks.ACTION_LOGS in {e.get("action_id") for e in all_elements(message["blocks"])}
            await bot.click(message, blocks.ACTION_LOGS)  # bound through the bot's memory
            posts = await bot.double.wait_for("chat.postMessage", 2)
            threaded = [p for p in posts if p.get("thread_ts") == message["ts"]]
            assert threaded and "No space left on device" in text_of(threaded[0]["blocks"])
    finally:
        sim.stop()


async def _logged(caplog: pytest.LogCaptureFixture, words: str) -> None:
    for _ in range(400):
        if any(words in r.getMessage() for r in caplog.records):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never logged: {words}")


async def test_a_binding_slow_to_write_does_not_hold_the_answer_and_its_failure_is_still_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = asyncio.Event()

    async def slow_write() -> None:
        await database.wait()
        raise OSError("database is locked")

    binding = asyncio.create_task(slow_write())
    with caplog.at_level(logging.INFO, logger="kubewhy.bot"):
        await diagnosis._bound(binding, "C1", "1.1", wait=0)  # returns with the write still waiting
        assert not binding.done() and binding in diagnosis._behind
        assert any("still being written" in r.getMessage() for r in caplog.records)
        database.set()
        await asyncio.wait([binding])
        await asyncio.sleep(0)  # its done callback
        assert binding not in diagnosis._behind
        assert any("C1/1.1 was not saved" in r.getMessage() for r in caplog.records)
