"""Running a diagnosis for Slack: post "investigating…", call the core, update the message in place."""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from kubewhy import actions
from kubewhy.errors import KubewhyError, TargetNotFound
from kubewhy.models.target import Target
from kubewhy.service import diagnose, diagnose_described

from .. import blocks
from ..deps import BotDeps, ProposedFix
from ..public import public_error

log = logging.getLogger("kubewhy.bot")


def register_fixes(
    deps: BotDeps, report: Any, user: str, channel: str, incident: str | None = None
) -> dict[tuple[int, int], str]:
    """Give every fix with a structured patch an id the "Apply fix…" button carries; record the proposals."""
    ids: dict[tuple[int, int], str] = {}
    for i, finding in enumerate(report.findings):
        for j, fix in enumerate(finding.fixes):
            if fix.patch is None:
                continue
            fix_id = uuid.uuid4().hex[:16]
            key = actions.propose_fix(
                deps.core, fix, playbook_id=finding.id, source="slack", channel=channel, incident=incident
            )
            deps.fixes[fix_id] = ProposedFix(fix_id, report.target, finding.id, fix, fix.patch, key)
            ids[(i, j)] = fix_id
    return ids


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
    try:
        report = await diagnose(target, deps.core, actor=user, source="slack", channel=channel, incident=incident)
    except TargetNotFound as exc:  # only the asker needs to know: the "investigating…" message goes away
        text = f":grey_question: {blocks.escape(public_error(exc, 'why'))}"
        await client.chat_delete(channel=channel, ts=ts)
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=blocks.to_dicts([blocks.section(text)])
        )
        return
    except KubewhyError as exc:
        text = f":warning: Could not diagnose `{blocks.escape(target.ref)}`: {blocks.escape(public_error(exc, 'why'))}"
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks.to_dicts([blocks.section(text)]))
        return
    deps.reports[(channel, ts)] = report
    fix_ids = register_fixes(deps, report, user, channel, incident)
    await client.chat_update(
        channel=channel,
        ts=ts,
        text=blocks.fallback_text(report),
        blocks=blocks.to_dicts(blocks.report_blocks(report, fix_ids, user, incident)),
    )
    await _upload_charts(deps, client, report, channel, ts)


async def run_described_and_update(
    deps: BotDeps, client: AsyncWebClient, text: str, channel: str, ts: str, user: str
) -> None:
    """``/k8s why`` followed by pasted ``kubectl describe`` output: diagnosed from the text alone. No fix can be
    applied from it (the paste is not the cluster), so the answer carries no Apply buttons."""
    try:
        report = await diagnose_described(text, deps.core, actor=user, source="slack", channel=channel)
    except KubewhyError as exc:
        message = f":warning: Could not read the pasted describe output: {blocks.escape(public_error(exc))}"
        await client.chat_update(
            channel=channel, ts=ts, text=message, blocks=blocks.to_dicts([blocks.section(message)])
        )
        return
    await client.chat_update(
        channel=channel,
        ts=ts,
        text=blocks.fallback_text(report),
        blocks=blocks.to_dicts(blocks.report_blocks(report, {}, user)),
    )


async def _upload_charts(deps: BotDeps, client: AsyncWebClient, report: Any, channel: str, ts: str) -> None:
    """Attach a PNG of the metric evidence (memory vs limit, throttling, PVC usage) in the answer's thread."""
    if deps.prom is None or not any(f.chart for f in report.findings):
        return
    from kubewhy.charts import ChartError, chart_data, chart_filename, render_png

    for finding in report.findings:
        if not finding.chart:
            continue
        try:
            data = await chart_data(finding, catalog=deps.catalog, kube=deps.kube, prom=deps.prom)
            with tempfile.TemporaryDirectory() as tmp:
                png = render_png(data, Path(tmp) / chart_filename(finding)).read_bytes()
        except ChartError as exc:
            log.info("no chart for %s: %s", finding.id, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a chart is a bonus: never lose the answer over it
            log.warning("chart for %s failed: %s", finding.id, exc)
            continue
        await client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            filename=chart_filename(finding),
            content=png,
            title=f"{finding.subject}: {finding.title}",
            initial_comment=f"{finding.title} — last hour, from Prometheus",
        )
