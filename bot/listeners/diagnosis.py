"""Running a diagnosis for Slack: post "investigating…", ask the application, update the message in place.

This is the one module of the bot that asks for a diagnosis (``/k8s why``, a mention, Re-run, Show all evidence
after a restart); the application (:class:`kubewhy.app.Kubewhy`) records it and proposes its fixes."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.web.async_client import AsyncWebClient

from kubewhy.errors import KubewhyError, TargetNotFound
from kubewhy.models.findings import Report
from kubewhy.models.target import Target

from .. import blocks
from ..binding import remember
from ..deps import BotDeps
from ..public import public_error

log = logging.getLogger("kubewhy.bot")
BINDING_WAIT = 0.5  # seconds an answer waits, once diagnosed, for its binding's write before it goes anyway
_behind: set[asyncio.Task[None]] = set()  # bindings still being written after their answer went


def register_fixes(
    deps: BotDeps, report: Report, channel: str, incident: str | None = None, asker: str | None = None
) -> dict[tuple[int, int], str]:
    """Propose every fix with a structured patch (recorded); the "Apply fix…" button carries its action id.
    ``asker``: who asked for the diagnosis (where two people are needed, not its approver)."""
    proposed = deps.app.propose(
        report, channel=channel, incident=incident, requested_by=asker, two_person=deps.slack.two_person
    )
    return {where: action.id for where, action in proposed.items()}


async def diagnose(deps: BotDeps, target: Target, user: str, channel: str, *, incident: str | None = None) -> Report:
    """A diagnosis asked for by a Slack user in ``channel`` (recorded with them as the actor)."""
    return await deps.app.diagnose(target, actor=user, channel=channel, incident=incident)


async def run_and_update(
    deps: BotDeps,
    client: AsyncWebClient,
    target: Target,
    channel: str,
    ts: str,
    user: str,
    *,
    incident: str | None = None,
) -> None:
    # The message's binding (bot/binding.py) is written while the diagnosis runs: during a watchers' start-up storm
    # that database write can wait seconds behind the audit writer's batches. It is in memory before the answer's
    # buttons exist: clicks bind to it (see _bound).
    binding = asyncio.create_task(remember(deps, channel, ts, None, target.ref, incident))
    try:
        report = await diagnose(deps, target, user, channel, incident=incident)
    except TargetNotFound as exc:  # only the asker needs to know: the "investigating…" message goes away
        await _settled(binding)
        text = f":grey_question: {blocks.escape(public_error(exc, 'why'))}"
        await client.chat_delete(channel=channel, ts=ts)
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=blocks.to_dicts([blocks.section(text)])
        )
        return
    except KubewhyError as exc:
        await _settled(binding)
        text = f":warning: Could not diagnose `{blocks.escape(target.ref)}`: {blocks.escape(public_error(exc, 'why'))}"
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks.to_dicts([blocks.section(text)]))
        return
    except BaseException:
        binding.cancel()
        await _settled(binding)
        raise
    deps.reports[(channel, ts)] = report
    fix_ids = register_fixes(deps, report, channel, incident, asker=user)
    await _bound(binding, channel, ts)  # known to this process before its buttons exist
    await client.chat_update(
        channel=channel,
        ts=ts,
        text=blocks.fallback_text(report),
        blocks=blocks.to_dicts(blocks.report_blocks(report, fix_ids, user, incident, deps.runbooks(report))),
    )
    await _upload_charts(deps, client, report, channel, ts)


async def _bound(binding: asyncio.Task[None], channel: str, ts: str, wait: float = BINDING_WAIT) -> None:
    """Wait up to ``wait`` seconds for the message's binding to be written, then let the answer go.

    The binding is in this process's memory from the start (kubewhy/audit/trust.py), so the answer's buttons work
    at once here whatever the database does; the write makes them survive a restart. During a watchers' storm that
    write can wait seconds for SQLite's write lock: the answer does not wait with it, the write goes on behind
    (a click elsewhere or after a restart before it lands is refused: ask again). One the audit database did not
    take does not lose the answer either: logged, its buttons work until the bot restarts, as without an audit
    database."""
    done, _ = await asyncio.wait([binding], timeout=wait)
    if done:
        _written(binding, channel, ts)
        return
    log.info("slack: the binding of %s/%s is still being written: the answer goes first", channel, ts)
    _behind.add(binding)
    binding.add_done_callback(lambda task: _written(task, channel, ts))


def _written(binding: asyncio.Task[None], channel: str, ts: str) -> None:
    _behind.discard(binding)
    exc = None if binding.cancelled() else binding.exception()
    if binding.cancelled() or exc is not None:
        log.warning(
            "slack: the binding of %s/%s was not saved (its buttons work until the bot restarts): %s",
            channel,
            ts,
            exc or "cancelled",
        )


async def _settled(task: asyncio.Task[None]) -> None:
    """Wait for ``task`` whatever it does: an answer with no buttons does not need its binding."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: a failed binding of an answer without buttons is not an error


async def run_described_and_update(
    deps: BotDeps, client: AsyncWebClient, text: str, channel: str, ts: str, user: str
) -> None:
    """``/k8s why`` followed by pasted ``kubectl describe`` output: diagnosed from the text alone. No fix can be
    applied from it (the paste is not the cluster), so the answer carries no Apply buttons."""
    try:
        report = await deps.app.diagnose_described(text, actor=user, channel=channel)
    except KubewhyError as exc:
        message = f":warning: Could not read the pasted describe output: {blocks.escape(public_error(exc))}"
        await client.chat_update(
            channel=channel, ts=ts, text=message, blocks=blocks.to_dicts([blocks.section(message)])
        )
        return
    await _bound(asyncio.create_task(remember(deps, channel, ts, None, report.target.ref)), channel, ts)
    await client.chat_update(
        channel=channel,
        ts=ts,
        text=blocks.fallback_text(report),
        blocks=blocks.to_dicts(blocks.report_blocks(report, {}, user, runbooks=deps.runbooks(report))),
    )


async def _upload_charts(deps: BotDeps, client: AsyncWebClient, report: Report, channel: str, ts: str) -> None:
    """Attach a PNG of the metric evidence (memory vs limit, throttling, PVC usage) in the answer's thread. The
    application draws it in a thread: the bot keeps acknowledging other requests meanwhile."""
    if not deps.app.has_metrics or not any(f.chart for f in report.findings):
        return
    from kubewhy.charts import ChartError

    for finding in report.findings:
        if not finding.chart:
            continue
        try:
            name, png = await deps.app.chart_png(finding)
        except ChartError as exc:
            log.info("no chart for %s: %s", finding.id, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a chart is a bonus: never lose the answer over it
            log.warning("chart for %s failed: %s", finding.id, exc)
            continue
        await client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            filename=name,
            content=png,
            title=f"{finding.subject}: {finding.title}",
            initial_comment=f"{finding.title} — last hour, from Prometheus",
        )
