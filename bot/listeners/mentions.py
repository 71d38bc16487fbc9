"""``@kubewhy why pod-x -n prod`` in a channel: the same answer as ``/k8s why``, in the mention's thread.

The manifest subscribes to ``app_mention``. The text after the mention is parsed exactly like ``/k8s``'s, with the
same namespace restriction; anything but ``why`` gets a pointer to ``/k8s``.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.errors import UsageError
from kubewhy.models.target import parse_target, validate_namespace

from .. import blocks
from ..binding import foreign, refuse
from ..commands import parse
from ..deps import BotDeps
from ..public import clip
from .diagnosis import run_and_update
from .errors import guarded

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.event("app_mention")
    @guarded
    async def mentioned(event: dict[str, Any], client: AsyncWebClient, body: dict[str, Any], context: Any) -> None:
        channel, user = event.get("channel", ""), event.get("user", "")
        elsewhere = foreign(context, body, deps.installation)
        if elsewhere is not None:
            await refuse(deps, body, user, "mention", elsewhere, "")
            return
        thread = event.get("thread_ts") or event.get("ts", "")

        async def reply(text: str) -> None:
            await client.chat_postMessage(
                channel=channel, thread_ts=thread, text=text, blocks=blocks.to_dicts([blocks.section(text)])
            )

        cmd = parse(MENTION.sub(" ", event.get("text", "")))
        if cmd.error:
            await reply(cmd.error)
            return
        if cmd.name != "why":
            await reply(
                "Mention me with `why <target> [-n namespace]`; for status, history and playbooks use "
                "`/k8s status`, `/k8s history`, `/k8s playbooks`."
            )
            return
        try:
            if cmd.namespace is not None:
                validate_namespace(cmd.namespace)
            target = parse_target(cmd.args[0], cmd.namespace, deps.default_namespace)
        except UsageError as exc:
            await reply(f"{blocks.escape(clip(str(exc)))}. Try `@kubewhy why pod-name -n prod`.")
            return
        if not deps.readable(target.namespace):
            await reply(f"I may not read namespace `{blocks.escape(target.namespace or '')}`.")
            return
        posted = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread,
            text=f"Investigating {target.ref}…",
            blocks=blocks.to_dicts(blocks.investigating(target, user)),
        )
        await run_and_update(deps, client, target, channel, posted["ts"], user)
