"""What people do to the watchers' incidents, from any front-end (Slack buttons and ``/k8s`` commands, the TUI):
acknowledge, resolve, mute, unmute, list. Each changes the ledger and goes into the audit log with who did it,
so ``kubewhy postmortem`` shows it in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from . import actions
from .actions import Recorder
from .durations import parse_duration
from .errors import UsageError
from .kinds import short_name
from .models.target import parse_target, validate_namespace

if TYPE_CHECKING:
    from .audit.ledger import Ledger, LedgerIncident, Mute


async def acknowledge(
    deps: Recorder, ledger: Ledger, ident: int | str, *, actor: str, source: str, channel: str | None = None
) -> LedgerIncident | None:
    """None when there is no such open incident (already acknowledged or resolved)."""
    done = await ledger.acknowledge(await _id(ledger, ident), actor)
    if done is not None:
        actions.record_action(
            deps,
            "acknowledge",
            actor=actor,
            source=source,
            channel=channel,
            incident=done.ref,
            details={"summary": f"{done.rule} on {done.subject}"},
        )
    return done


async def resolve(
    deps: Recorder, ledger: Ledger, ident: int | str, *, actor: str, source: str, channel: str | None = None
) -> LedgerIncident | None:
    done = await ledger.resolve(await _id(ledger, ident), actor)
    if done is not None:
        actions.page(
            deps,
            rule=done.rule,
            fingerprint=done.fingerprint,
            state="resolved",
            channel=done.channel,
            message_ts=done.message_ts,
            summary=f"resolved by {actor}",
            incident=done.ref,
        )
        actions.resolve_incident(deps, done.ref, actor=actor)
    return done


async def _id(ledger: Ledger, ident: int | str) -> int:
    if isinstance(ident, int):
        return ident
    found = await ledger.get(ident)
    return found.id if found is not None else -1


def mute_target(text: str, default_namespace: str) -> str:
    """What a mute covers, as the watchers name subjects: ``node/x``, ``deploy/NS/x``, ``ns/NS`` (a whole
    namespace). Validated like a diagnosis target; :class:`UsageError` says what was wrong."""
    text = text.strip()
    if text.startswith(("ns/", "namespace/")):
        name = text.split("/", 1)[1]
        validate_namespace(name)
        return f"ns/{name}"
    target = parse_target(text, None, default_namespace)
    short = short_name(target.kind)
    return f"{short}/{target.name}" if target.namespace is None else f"{short}/{target.namespace}/{target.name}"


def parse_for(text: str) -> timedelta:
    try:
        span = parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OverflowError:  # more days than a timedelta holds (99999999999999999999d)
        raise UsageError(f"a mute lasts between 1s and 30d (got {text[:40]!r})") from None
    if span <= timedelta(0) or span > timedelta(days=30):
        raise UsageError(f"a mute lasts between 1s and 30d (got {text!r})")
    return span


async def mute(
    deps: Recorder, ledger: Ledger, target: str, span: timedelta, *, actor: str, source: str, channel: str | None = None
) -> Mute:
    until = datetime.now(UTC) + span
    m = await ledger.mute(target, until, actor)
    actions.record_action(
        deps,
        "mute",
        actor=actor,
        source=source,
        channel=channel,
        details={"target": target, "until": until.isoformat(), "summary": f"{target} until {until:%Y-%m-%d %H:%M} UTC"},
        incident=await _open_ref(ledger, target),
    )
    return m


async def unmute(
    deps: Recorder, ledger: Ledger, target: str, *, actor: str, source: str, channel: str | None = None
) -> int:
    removed = await ledger.unmute(target)
    actions.record_action(
        deps,
        "unmute",
        actor=actor,
        source=source,
        channel=channel,
        details={"target": target, "summary": target},
        incident=await _open_ref(ledger, target),
    )
    return removed


async def _open_ref(ledger: Ledger, target: str) -> str | None:
    """The ref of an open incident the target covers, so the mute shows in its post-mortem."""
    for incident in await ledger.open_incidents():
        if incident.subject == target or incident.subject.startswith(target + ":"):
            return incident.ref
    return None


async def open_incidents(ledger: Ledger) -> list[LedgerIncident]:
    return await ledger.open_incidents()


__all__ = ["acknowledge", "mute", "mute_target", "open_incidents", "parse_for", "resolve", "unmute"]
