"""Keys as a person types them: every printable character into ``/`` and ``:`` (never a crash), keys typed in a
burst right after ``:`` (none reaches the list behind the bar), and Esc (goes back, never quits)."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from textual import events

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import listed
from tui.app import K8sTui
from tui.screens.home import HomeScreen
from tui.screens.listing import ResourceScreen
from tui.screens.text import TextScreen
from tui.widgets.commandbar import CommandBar

PRINTABLE = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]  # the 95 printable ASCII characters
SEQUENCES = ["[a-", "(?", "[", "]", "[/]", "[b]x", "a\\", "\\", "(?P<", "x{2,", "*", "+?", "[[]]", "-l [", "![a-"]
PASTE = "".join(PRINTABLE) * 3  # a long paste


def burst(app: K8sTui, keys: str) -> None:
    """Send keys as a terminal delivers a fast typist's (or a paste's) burst: all queued before the app handles
    the first one (Pilot's ``press`` waits for the app to be idle after each key, which hides the race)."""
    driver = app._driver
    assert driver is not None
    for ch in keys:
        key = "enter" if ch == "\n" else "escape" if ch == "\x1b" else ch
        event = events.Key(key if key in ("enter", "escape") or ch.isalnum() else _key_name(ch), ch)
        event.set_sender(app)
        driver.send_message(event)


def _key_name(ch: str) -> str:
    from textual.keys import _character_to_key

    return _character_to_key(ch)


async def _type_and_check(pilot: Any, app: K8sTui, opener: str, text: str, end: str) -> None:
    """``opener`` (``:`` or ``/``), ``text`` and ``end`` (Enter or Esc) as one burst; then the bar has taken all
    of the text and is closed, and the app still runs."""
    bar = app.screen.query_one(CommandBar)
    bar.value = "\x00"  # not a value the keys can produce: the bar has been opened and typed into when it is gone
    burst(app, opener + text + end)
    await settled(pilot, lambda: bar.value == text and not bar.has_class("-open"), f"{opener}{text!r} typed")
    app.clear_notifications()  # the unknown commands' toasts
    assert app.is_running, (opener, text, end)


async def settled(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Let the app handle what is queued until ``condition`` holds (no network involved: a few idle turns)."""
    for _ in range(500):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


async def test_every_printable_character_and_sequence_into_filter_and_command(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        screen = await listed(pilot, app, "Pod")
        for text in [*PRINTABLE, *SEQUENCES, PASTE]:
            await _type_and_check(pilot, app, "/", text, "\n")
            kept = text.strip()
            await settled(pilot, lambda kept=kept: screen.filter_text == kept, "the filter is kept")  # type: ignore[misc]
            assert app.screen is screen
            status = str(screen.query_one("#status").render())
            if text.strip():
                assert f"/{text.strip()}" in status, (text, status)
                burst(app, "\x1b")  # clears the filter (Esc on no filter would go back to home)
                await settled(pilot, lambda: not screen.filter_text, "Esc clears the filter")
                assert app.screen is screen
        for text in [*PRINTABLE, *SEQUENCES, PASTE]:
            if text.strip().lower() in ("q", "q!"):  # :q quits, as it should
                continue
            await _type_and_check(pilot, app, ":", text, "\n")
            await _type_and_check(pilot, app, ":", text, "\x1b")
        assert isinstance(app.screen, ResourceScreen) and app.is_running


async def test_keys_typed_in_a_burst_after_colon_reach_the_command_bar(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, HomeScreen) and bool(app.screen.query_one("#trouble").rows),  # type: ignore[attr-defined]
            "home",
        )
        burst(app, ":pods\n")  # `p` on the list behind would open previous logs
        pods = await listed(pilot, app, "Pod")
        burst(app, ":nodes\n")  # `d` would open describe, `e` events, `s` sort
        nodes = await listed(pilot, app, "Node")
        assert not isinstance(app.screen, TextScreen) and pods.sort_column is None and nodes.sort_column is None
        burst(app, "/node-3\njk")  # keys right after Enter are not typed into the closed bar
        await until(pilot, lambda: nodes.filter_text.startswith("node-3"), "the filter takes the burst")
        for _ in range(5):
            await pilot.pause()
        assert nodes.filter_text == "node-3" and [r["name"] for r in nodes.table.rows] == ["node-3"]


async def test_escape_goes_back_and_never_quits(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("colon", *"pods", "enter")
        await listed(pilot, app, "Pod")
        await pilot.press("escape")  # :pods was pushed over home: Esc leads back to it
        assert isinstance(app.screen, HomeScreen)
        for _ in range(3):
            await pilot.press("escape")  # on home, Esc does nothing
            assert app.is_running and isinstance(app.screen, HomeScreen)
        await pilot.press("q")  # nor does q (k9s: q is not quit either); quitting is :q or ctrl+c
        assert app.is_running
        await pilot.press("colon", *"deploy", "enter")
        await listed(pilot, app, "Deployment")
        await pilot.press("colon", *"svc", "enter")  # another list replaces the list, not home
        await listed(pilot, app, "Service")
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("colon", "q", "enter")
    assert app.return_value == 0
