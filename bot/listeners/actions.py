"""Buttons under an answer (logs, events, describe, re-run, all evidence) and the "Apply fix…" flow."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.errors import KubewhyError, UsageError
from kubewhy.kinds import info
from kubewhy.lifecycle import Action, AlreadyApplied, Identity
from kubewhy.models.target import Target, parse_target

from .. import blocks
from ..binding import foreign, posted_message, refuse
from ..commands import INCIDENT_REF
from ..deps import BotDeps, Modal
from ..permissions import kube_identity, may_apply
from ..public import clip, public_error, scrub
from .diagnosis import diagnose, run_and_update
from .errors import guarded

log = logging.getLogger("kubewhy.bot")


@dataclass(frozen=True)
class Click:
    value: dict[str, Any]
    target: Target
    channel: str
    ts: str
    user: str
    incident: str | None = None  # the incident of the answer the button is under


def _clicked(body: dict[str, Any]) -> Click:
    """The button's value, parsed like anything typed: a hand-made value is not trusted (UsageError)."""
    action = body["actions"][0]
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        raise UsageError("this button's value is not valid") from None
    if not isinstance(value, dict) or not isinstance(value.get("t", ""), str):
        raise UsageError("this button's value is not valid")
    incident = value.get("i")
    if incident is not None and not (isinstance(incident, str) and INCIDENT_REF.fullmatch(incident)):
        raise UsageError("this button's incident is not valid")
    target = parse_target(value.get("t", ""))
    channel, ts = where(body)
    return Click(value, target, channel, ts, (body.get("user") or {}).get("id", ""), incident)


def where(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, message ts) of a click; a payload whose copies of them disagree is refused (UsageError)."""
    container = body.get("container") or {}
    channels = {c for c in ((body.get("channel") or {}).get("id"), container.get("channel_id")) if c}
    stamps = {t for t in ((body.get("message") or {}).get("ts"), container.get("message_ts")) if t}
    if len(channels) != 1 or len(stamps) != 1:
        raise UsageError("this click does not name one message in one channel")
    return str(next(iter(channels))), str(next(iter(stamps)))


async def _checked(deps: BotDeps, body: dict[str, Any], client: AsyncWebClient, context: Any) -> Click | None:
    """The click, if it comes from the bot's own workspace, is on a message the bot posted about the button's
    target, and that target is one the bot may read; otherwise the clicker is told (only them) and None. The
    incident is the posted message's, not the button's."""
    user = (body.get("user") or {}).get("id", "")
    elsewhere = foreign(context, body, deps.installation)
    if elsewhere is not None:
        await refuse(deps, body, user, "click", elsewhere, "This request is not from the workspace I am installed in.")
        return None
    try:
        click = _clicked(body)
    except (UsageError, KeyError, IndexError, TypeError, AttributeError) as exc:
        said = f"I cannot use this button: {blocks.escape(clip(str(exc)))}."
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if isinstance(channel, str) and channel:  # to the clicker only: an ephemeral is theirs wherever it shows
            deps.app.record("refused", actor=user, details={"what": "click", "reason": str(exc)[:300]})
            await client.chat_postEphemeral(channel=channel, user=user, text=said)
        else:
            await refuse(deps, body, user, "click", str(exc), said)
        return None
    if not deps.readable(click.target.namespace):  # a hand-made value: checked before anything is looked up
        log.warning(
            "slack: %s clicked a button for namespace %s, which the bot may not read", user, click.target.namespace
        )
        await client.chat_postEphemeral(
            channel=click.channel,
            user=user,
            text=(f"I may not read namespace `{blocks.escape(click.target.namespace or '')}`."),
        )
        return None
    posted = await posted_message(deps, click.channel, click.ts)
    if posted is None or posted.target != click.target.ref:
        why = "no such message" if posted is None else f"the message is about {posted.target}"
        await refuse(
            deps,
            body,
            user,
            "click",
            f"button for {click.target.ref} on {click.channel}/{click.ts}: {why}",
            "This button is not on a message I posted about that object: press it on my answer, or ask again.",
        )
        return None
    return Click(click.value, click.target, click.channel, click.ts, click.user, posted.incident)


def _audit_click(deps: BotDeps, action: str, click: Click) -> None:
    """Every click is recorded with the Slack user (issue 7) and its incident, so the post-mortem shows it (issue
    15); fix clicks are recorded as fix events instead, by the lifecycle."""
    deps.app.record(action, actor=click.user, channel=click.channel, target=click.target, incident=click.incident)


async def _post_lines(client: AsyncWebClient, channel: str, ts: str, title: str, lines: list[str]) -> None:
    for message in blocks.lines_messages(title, lines):
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=title, blocks=blocks.to_dicts(message))


def _view_listener(deps: BotDeps, name: str, view: Any) -> Any:
    async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack()
        click = await _checked(deps, body, client, context)
        if click is None:
            return
        _audit_click(deps, name, click)
        try:
            title, lines = await view(click.target)
        except KubewhyError as exc:
            title, lines = f"{click.target.ref}: {name.replace('_', ' ')} unavailable", [public_error(exc, name)]
        await _post_lines(client, click.channel, click.ts, title, lines)

    listener.__name__ = name
    return listener


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def logs_view(target: Target) -> tuple[str, list[str]]:
        what, lines = await deps.app.recent_logs(target)
        return f"{target.ref}: {what}", lines

    async def events_view(target: Target) -> tuple[str, list[str]]:
        return f"{target.ref}: events", await deps.app.events(target)

    async def describe_view(target: Target) -> tuple[str, list[str]]:
        return f"describe {target.ref}", await deps.app.describe(target)

    # Read-only views posted in the answer's thread: (button, audit action, what to show).
    for action_id, name, view in (
        (blocks.ACTION_LOGS, "show_logs", logs_view),
        (blocks.ACTION_EVENTS, "show_events", events_view),
        (blocks.ACTION_DESCRIBE, "describe", describe_view),
    ):
        app.action(action_id)(guarded(_view_listener(deps, name, view)))

    @app.action(blocks.ACTION_RERUN)
    @guarded
    async def rerun(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack()
        click = await _checked(deps, body, client, context)
        if click is None:
            return
        _audit_click(deps, "rerun", click)
        await client.chat_update(
            channel=click.channel,
            ts=click.ts,
            text=f"Investigating {click.target.ref}…",
            blocks=blocks.to_dicts(blocks.investigating(click.target, click.user)),
        )
        await run_and_update(deps, client, click.target, click.channel, click.ts, click.user, incident=click.incident)

    @app.action(blocks.ACTION_MORE)
    @guarded
    async def more(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack()
        click = await _checked(deps, body, client, context)
        if click is None:
            return
        target, channel, ts = click.target, click.channel, click.ts
        _audit_click(deps, "show_all_evidence", click)
        report = deps.reports.get((channel, ts))
        if report is None or report.target != target:  # the bot restarted since: diagnose again
            report = await diagnose(deps, target, click.user, channel, incident=click.incident)
        await _post_lines(client, channel, ts, f"{target.ref}: all evidence", blocks.all_evidence_lines(report))

    @app.action(blocks.ACTION_APPLY)
    @guarded
    async def apply_clicked(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        """Who may click (the bot's allowlist), then the lifecycle: pre-check (RBAC), dry run, the confirm modal."""
        await ack()
        click = await _checked(deps, body, client, context)
        if click is None:
            return
        channel, ts, user = click.channel, click.ts, click.user
        action = deps.app.fix(str(click.value.get("f", "")))
        if action is None or action.target != click.target or action.channel not in (None, channel):
            await client.chat_postEphemeral(
                channel=channel, user=user, text="This fix proposal has expired. Press *Re-run* for a fresh one."
            )
            return
        allowed, reason = await may_apply(deps, client, user, action.patch.namespace)
        if not allowed:
            deps.app.decline(action, actor=user, reason="not on the allowlist", clicked_apply=True)
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        identity, why_not = await kube_identity(deps, client, user)
        if identity is None:  # never the bot's own rights instead: no access review, no dry run, nothing sent
            reason = "no identity map" if deps.identities is None else "no Kubernetes identity mapped"
            deps.app.decline(action, actor=user, reason=reason, clicked_apply=True)
            await client.chat_postEphemeral(channel=channel, user=user, text=why_not)
            return
        check = await deps.app.precheck(action, identity, actor=user)
        if not check.ok:  # RBAC says no (or a policy): say so now, not halfway through a dry run
            deps.app.decline(action, actor=user, reason=check.reason, clicked_apply=True)
            await client.chat_postEphemeral(
                channel=channel, user=user, text=_refusal(action, identity, check.rbac, check.reason)
            )
            return
        opened = await client.views_open(trigger_id=body["trigger_id"], view=blocks.loading_modal(action.fix.title))
        view_id = str(opened["view"]["id"])
        deps.modals[view_id] = Modal(action.id, user, channel, ts)  # its submission is bound to this
        action.ttl = timedelta(seconds=deps.slack.approval_ttl)  # KUBEWHY_APPROVAL_TTL
        result = await deps.app.dry_run(action, actor=user, identity=identity)
        await client.views_update(
            view_id=view_id,
            view=blocks.fix_modal(
                action.fix.title, action.fix.command, scrub(result.message), result.ok, json.dumps({"f": action.id})
            ),
        )

    @app.view(blocks.VIEW_CONFIRM)
    @guarded
    async def confirm(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: Any
    ) -> None:
        """Apply, for the person the modal was opened for, under the message it was opened from: the modal is
        looked up by its view id (the payload's metadata, channel and ts are not trusted); the lifecycle refuses
        an approval with no dry run shown to this person first."""
        await ack()
        user = (body.get("user") or {}).get("id", "")
        modal = deps.modals.get(str(view.get("id") or ""))
        elsewhere = foreign(context, body, deps.installation)
        if elsewhere is not None or modal is None or modal.user != user:
            reason = elsewhere or (
                "no confirm modal of mine has this view id"
                if modal is None
                else "the modal was opened for someone else"
            )
            named = deps.app.fix(_metadata_fix(view))
            await refuse(deps, body, user, "fix submission", reason, "", named.target if named else None)
            return
        channel, ts = modal.channel, modal.ts
        action = deps.app.fix(modal.action)
        if action is None:
            await client.chat_postEphemeral(channel=channel, user=user, text="This fix proposal has expired.")
            return
        if not deps.readable(action.patch.namespace):
            await client.chat_postEphemeral(channel=channel, user=user, text="I may not touch that namespace.")
            return
        allowed, reason = await may_apply(deps, client, user, action.patch.namespace)  # check again at submit
        if not allowed:
            deps.app.decline(action, actor=user, reason="not on the allowlist", submitted=True)
            await client.chat_postEphemeral(channel=channel, user=user, text=reason)
            return
        refused = await _identity_at_submit(deps, client, action, user)  # and who they are, as at the dry run
        if refused:
            await client.chat_postEphemeral(channel=channel, user=user, text=refused)
            return
        try:
            result = await deps.app.apply(action, actor=user)
        except AlreadyApplied as exc:  # a second submit (a double click, a replay): nothing is applied twice
            await client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=f"This fix was already submitted by {blocks.mention(exc.by)}; it is applied once.",
            )
            return
        if result.ok:  # did it work? the diagnosis runs again after the settle window (a job in the database)
            await deps.app.schedule_verify(
                action, after=timedelta(seconds=deps.slack.verify_after), channel=channel, ts=ts
            )
            if deps.verifier is not None:
                deps.verifier.ensure_started()
        icon = ":white_check_mark:" if result.ok else ":x:"
        title = blocks.escape(action.fix.title)
        said = blocks.escape(clip(scrub(result.message), 400))  # the API server's URL stays in the log
        if not result.ok:
            log.warning("slack: applying %s failed: %s", action.id, result.message)
        await client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=said,
            blocks=blocks.to_dicts(
                [
                    blocks.section(
                        f"{icon} {blocks.mention(user)} applied *{title}*"
                        f" to `{blocks.escape(action.target.ref)}`: {said}"
                        if result.ok
                        else f"{icon} Applying *{title}* failed: {said}"
                    )
                ]
            ),
        )


def _metadata_fix(view: dict[str, Any]) -> str:
    """The fix id a submission's metadata names (for the refusal's record only; never acted on)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return ""
    return str(meta.get("f", ""))[:64] if isinstance(meta, dict) else ""


async def _identity_at_submit(deps: BotDeps, client: AsyncWebClient, action: Action, user: str) -> str:
    """Why ``user`` may not submit (recorded as ``declined``), or "": they must still be mapped, to the identity
    their dry run was made as (a map edited or a Slack group left since then is not used half-way)."""
    identity, why_not = await kube_identity(deps, client, user)
    review = action.reviews.get(user)
    if identity is None:
        reason = "no identity map" if deps.identities is None else "no Kubernetes identity mapped"
    elif review is not None and review.identity != identity:
        reason = "the approver's Kubernetes identity changed since the dry run"
        why_not = "Your Kubernetes identity changed since the dry run: press *Apply fix…* again to look as you are now."
    else:
        return ""
    deps.app.decline(action, actor=user, reason=reason, submitted=True)
    return why_not


def _refusal(action: Action, identity: Identity, rbac: bool | None, reason: str) -> str:
    """Why the pre-check refused, for the person who clicked."""
    patch = action.patch
    if rbac is False:
        where = f"in namespace `{patch.namespace}`" if patch.namespace else "at the cluster scope"
        return (
            f"Kubernetes RBAC says `{blocks.escape(str(identity.name))}` (you, as the identity map names you) may "
            f"not patch {info(patch.kind).plural} {where}: the API server decided, as you. Nothing was tried."
        )
    why = blocks.escape(clip(scrub(reason), 400))
    return f"I cannot apply this fix: {why}. You can still run the command shown yourself."
