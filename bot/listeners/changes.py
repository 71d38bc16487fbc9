"""The "What changed" button under an answer: the timeline of the last two hours (``KUBEWHY_CHANGES_WINDOW``)
around its target (what the API still holds, joined by the watchers' change log when the audit database keeps
one), posted in the answer's thread. Checked like every button (the bot's workspace, a message it posted about
that target, a namespace it may read) and recorded in the audit log as ``what_changed``."""

from __future__ import annotations

from datetime import timedelta

from slack_bolt.async_app import AsyncApp

from kubewhy.changes.evidence import span
from kubewhy.changes.stored import reader_of, with_log
from kubewhy.changes.timeline import as_lines
from kubewhy.models.target import Target

from .. import blocks
from ..deps import BotDeps
from .actions import _view_listener
from .errors import guarded


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def changes_view(target: Target) -> tuple[str, list[str]]:
        window = timedelta(seconds=deps.app.settings.changes_window)  # KUBEWHY_CHANGES_WINDOW, 2 h
        tl = await deps.app.changes(target, window)
        tl = await with_log(tl, reader_of(deps.app.audit))
        return f"{target.ref}: what changed in the last {span(window)}", as_lines(tl)

    app.action(blocks.ACTION_CHANGES)(guarded(_view_listener(deps, "what_changed", changes_view)))
