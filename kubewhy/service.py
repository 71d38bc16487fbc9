"""The one entry point every front-end calls: ``diagnose(target, deps)`` → :class:`Report`.

The Slack bot, the TUI, the watchers and the CLI all come here; none holds diagnosis logic of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import telemetry
from .adapters.cache import CachedKube
from .adapters.ports import KubeletReader, KubeReader, MetricsReader
from .checks.registry import CheckContext
from .engine import health
from .engine.related import (
    POD_RELATIONS,
    beyond_the_text,
    object_troubled,
    pod_relations,
    readable,
    ref_of,
    related_subjects,
)
from .engine.runner import ON_CHECK, PlaybookOutcome, Subject, matching_playbooks, run_playbook
from .errors import KubewhyError, TargetNotFound
from .expressions import CLOCK
from .models.findings import SEVERITY_RANK, STAGES, CheckResult, Finding, Report
from .models.target import SHORT, Target
from .playbooks.loader import Catalog

if TYPE_CHECKING:
    from .audit.writer import AuditLog
    from .reasons.vocabulary import Vocabulary
    from .settings import Settings


@dataclass
class Deps:
    """What a diagnosis needs; :func:`kubewhy.compose.build` makes one from the settings for every front-end."""

    kube: KubeReader
    catalog: Catalog
    prom: MetricsReader | None = None
    kubelet: KubeletReader | None = None  # metric evidence from the kubelets when there is no Prometheus
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    check_timeout: float = 5.0
    log_tail: int = 50
    audit: AuditLog | None = None  # records each diagnosis and action (non-blocking); see kubewhy/audit
    settings: Settings | None = None  # what compose.build was given
    warnings: list[str] = field(default_factory=list)  # what compose.build could not set up, for the front-end


async def resolve_target(kube: CachedKube, target: Target) -> dict[str, Any]:
    obj = await kube.get(target.kind, target.namespace, target.name)
    if obj is not None:
        obj.setdefault("kind", target.kind)
        return obj
    names = [o["metadata"]["name"] for o in await kube.list(target.kind, target.namespace)]
    import difflib  # only for a target that is not found

    close = difflib.get_close_matches(target.name, names, n=3, cutoff=0.5)
    if not close:
        close = [n for n in names if target.name in n or n.startswith(target.name)][:3]
    where = f" in namespace {target.namespace}" if target.namespace else ""
    message = f"{target.kind.lower()} {target.name!r} not found{where}"
    if close:
        message += f"; did you mean: {', '.join(close)}?"
    raise TargetNotFound(message, close)


def _rank(findings: list[Finding], caused: dict[str, set[str]]) -> list[Finding]:
    """Root causes first (seed 002: the chain matters), whatever their severity; then by how far down the
    chain a finding is; among equals, causes of something else first, then severity, then stage."""
    causes_of_others = {c for cs in caused.values() for c in cs}
    depth: dict[str, int] = {}

    def depth_of(fid: str, seen: frozenset[str] = frozenset()) -> int:
        if fid not in depth:
            parents = [c for c in caused.get(fid, ()) if c not in seen]
            depth[fid] = 1 + max(depth_of(c, seen | {fid}) for c in parents) if parents else 0
        return depth[fid]

    def key(f: Finding) -> tuple[int, int, int, int]:
        stage = STAGES.index(f.stage) if f.stage in STAGES else len(STAGES)
        return (depth_of(f.id), 0 if f.id in causes_of_others else 1, SEVERITY_RANK.get(f.severity, 3), stage)

    return sorted(findings, key=key)


async def diagnose(
    target: Target,
    deps: Deps,
    *,
    obj: dict[str, Any] | None = None,
    actor: str = "",
    source: str = "cli",
    channel: str | None = None,
    incident: str | None = None,
    on_check: Callable[[CheckResult], None] | None = None,
) -> Report:
    """``actor``/``source``/``channel``/``incident`` say who asked and from where, for the audit log;
    ``on_check`` is called with each check's result as it ends (a front-end's live progress)."""
    token = CLOCK.set(deps.clock)
    progress = ON_CHECK.set(on_check)
    try:
        report = await _diagnose(target, deps, obj)
    except BaseException:
        telemetry.count("kubewhy_diagnoses_total", source=source, outcome="error")
        raise
    finally:
        ON_CHECK.reset(progress)
        CLOCK.reset(token)
    telemetry.count("kubewhy_diagnoses_total", source=source, outcome="ok")
    for check in report.checks:
        telemetry.observe(
            "kubewhy_check_duration_seconds", check.duration_ms / 1000, playbook=check.id.split(".", 1)[0]
        )
    if deps.audit is not None:
        deps.audit.record_diagnosis(report, actor=actor, source=source, channel=channel, incident=incident)
    return report


async def _diagnose(target: Target, deps: Deps, obj: dict[str, Any] | None) -> Report:
    started = time.perf_counter()
    kube = CachedKube(deps.kube)
    requests_before = getattr(deps.kube, "requests", 0)
    if obj is None:
        obj = await resolve_target(kube, target)
    else:
        kube.seed(target.kind, target.namespace, target.name, obj)
    ctx = CheckContext(kube=kube, prom=deps.prom, clock=deps.clock, log_tail=deps.log_tail, kubelet=deps.kubelet)
    base = {"now": deps.clock().strftime("%Y-%m-%dT%H:%M:%SZ")}
    main = Subject(ref_of({**obj, "kind": target.kind}), obj, "target")

    examined: list[Subject] = []

    async def run_on(subjects: list[Subject]) -> list[PlaybookOutcome]:
        jobs = []
        examined.extend(subjects)
        for s in subjects:
            jobs += [
                run_playbook(pb, s, ctx, base, deps.check_timeout)
                for pb in matching_playbooks(deps.catalog.for_kind(s.obj.get("kind", "")), s.obj, base, ctx)
            ]
        return list(await asyncio.gather(*jobs))

    now_ts = deps.clock().timestamp()
    # Seed 004's order: an unhealthy pod makes its owner and node suspects; next to a healthy pod they are
    # examined only when they show trouble of their own. A workload's or Service's pods always are.
    suspects = target.kind != "Pod" or object_troubled({**obj, "kind": "Pod"}, now_ts)

    def wanted(s: Subject) -> bool:
        return s.relation not in ("node", "owner") or suspects or object_troubled(s.obj, now_ts)

    unread: list[CheckResult] = []  # relations that could not be read: the diagnosis is incomplete, not wrong

    async def run_related() -> list[PlaybookOutcome]:
        if target.kind != "Pod":
            return await run_on([s for s in await related_subjects(kube, obj, unread) if wanted(s)])

        # Each of a pod's relations is examined as soon as it arrives (the node need not wait for the owner).
        async def one(lookup: Any, relation: str) -> list[PlaybookOutcome]:
            found = await readable(lookup, relation, unread, None, f"pod's {relation}")
            items = found if isinstance(found, list) else [found] if found else []
            return await run_on([s for s in (Subject(ref_of(o), o, relation) for o in items) if wanted(s)])

        parts = await asyncio.gather(
            *(one(lookup, rel) for lookup, rel in zip(pod_relations(kube, obj), POD_RELATIONS, strict=True))
        )
        return [o for part in parts for o in part]

    # The target's own playbooks do not wait for the widening of the investigation.
    own, related = await asyncio.gather(run_on([main]), run_related())
    outcomes: list[PlaybookOutcome] = own + related
    findings = _dedupe([o.finding for o in outcomes if o.finding is not None])
    # What Kubernetes wrote in the status of a related object (a workload's pod rejected with OutOfcpu, a node's
    # pressure taint) names a cause there too, read from what is already fetched: no further request.
    absent: dict[str, set[str]] = {}  # subject ref → playbooks that examined it and found their cause absent
    for o in outcomes:
        if o.finding is None and any(c.reason == "cause-absent" for c in o.checks):
            absent.setdefault(o.subject.ref, set()).add(o.playbook.id)
    vocab = _vocabulary(deps)
    findings += _said_on_related(examined, findings, deps.catalog, now_ts, absent, vocab)
    found_ids = {f.id for f in findings}
    caused: dict[str, set[str]] = {}
    linked = []
    for f in findings:
        pb = deps.catalog.by_id(f.id)
        causes = tuple(c for c in (pb.caused_by if pb else ()) if c in found_ids and c != f.id)
        caused[f.id] = set(causes)
        linked.append(Finding(**{**f.__dict__, "caused_by": causes}) if causes else f)
    ranked = _rank(linked, caused)
    # The net under the playbooks: what Kubernetes itself wrote on an unhealthy target names its cause (the reason
    # vocabulary); an object unhealthy by its own account is never "no problems found".
    named, note = await _kubernetes_says(
        kube, ctx, main, target, now_ts, deps.catalog, frozenset(absent.get(main.ref, ())), vocab
    )
    ranked = [_with_words(f, named) for f in ranked]
    # Under the playbooks, per subject: where a playbook already explains the target, the vocabulary only adds
    # its words to that finding (a second, generic cause beside a proven one is noise).
    explained = any(f.severity != "info" and f.subject == main.ref for f in ranked)
    named = [] if explained else [f for f in named if f.id not in found_ids]
    if any(f.severity != "info" for f in ranked):
        ranked += named  # the playbooks' proven causes first
    else:
        ranked = named + ranked
    if note is not None and not any(f.severity != "info" for f in ranked):
        ranked.append(note)  # below every explained cause
    report = Report(target=target, findings=ranked, checks=[c for o in outcomes for c in o.checks] + unread)
    inventory = kube.capabilities.inventory
    if target.kind == "Service" and inventory is not None and not inventory.holds("Endpoints", target.namespace):
        report.notes.append(
            f"The Endpoints object of service {target.name} was not in the input, so whether it has ready "
            f"endpoints is unknown: kubectl -n {target.namespace} get endpoints {target.name}"
        )
    if deps.prom is None and any(c.reason == "no-prometheus" for c in report.checks):
        report.notes.append(
            "Prometheus not configured: PromQL checks were skipped and metric evidence, if any, "
            "comes from the kubelets through the API server's node proxy (KUBEWHY_PROMETHEUS_URL "
            "is not set)"
            if deps.kubelet is not None
            else "Prometheus not configured: metric checks were skipped (KUBEWHY_PROMETHEUS_URL is not set)"
        )
    if report.findings:  # something is wrong: what changed before it started (a healthy report stays healthy)
        window = timedelta(seconds=deps.settings.changes_window) if deps.settings is not None else None
        report.findings += await _what_changed(kube, main, target, examined, deps.audit, window)
    report.duration_ms = (time.perf_counter() - started) * 1000
    report.api_requests = getattr(deps.kube, "requests", 0) - requests_before
    return report


async def _what_changed(
    kube: CachedKube,
    main: Subject,
    target: Target,
    examined: list[Subject],
    audit: AuditLog | None = None,
    window: timedelta | None = None,
) -> list[Finding]:
    """The changes within ``window`` (KUBEWHY_CHANGES_WINDOW, 2 h) before the onset of the trouble, as evidence
    (kubewhy/changes): read from what this diagnosis already fetched, so they cost no request (but a ConfigMap
    missing a key the pod needs); nothing when nothing is wrong or nothing changed."""
    from .changes.evidence import before_onset
    from .changes.onset import WINDOW
    from .changes.stored import reader_of

    objects = [{**main.obj, "kind": target.kind}] + [s.obj for s in examined if s is not main]
    # and the watchers' change log
    found = await before_onset(kube, main.ref, objects, window or WINDOW, stored=reader_of(audit))
    return [found] if found is not None else []


def _with_words(finding: Finding, named: list[Finding]) -> Finding:
    """A playbook's finding that the vocabulary names too also quotes what Kubernetes wrote (the reason, the
    condition, the event) and, when the playbook offered no fix for this object, takes the vocabulary's next
    step."""
    same = next((n for n in named if n.id == finding.id), None)
    if same is None:
        return finding
    evidence = finding.evidence + tuple(q for q in same.evidence if q not in finding.evidence)
    fixes = finding.fixes or same.fixes
    return dataclasses.replace(finding, evidence=evidence, fixes=fixes)


def _vocabulary(deps: Deps) -> Vocabulary:
    """Kubernetes' reason vocabulary, read through the settings' cache directory (kubewhy/reasons)."""
    from .reasons import vocabulary

    return vocabulary.bundled(deps.settings.cache_dir if deps.settings is not None else None)


def _said_on_related(
    examined: list[Subject],
    found: list[Finding],
    catalog: Catalog,
    now_ts: float,
    absent: dict[str, set[str]],
    vocab: Vocabulary,
) -> list[Finding]:
    """Vocabulary findings from the status of the related objects that show trouble and that no playbook
    explains; each names its own subject."""
    from .reasons import match, name

    ids = {f.id for f in found}
    explained = {f.subject for f in found if f.severity != "info"}
    out: list[Finding] = []
    for s in examined:
        if s.relation == "target" or s.ref in explained or not object_troubled(s.obj, now_ts):
            continue
        meta = s.obj.get("metadata") or {}
        about = name.About(
            s.ref,
            str(s.obj.get("kind", "")),
            meta.get("namespace"),
            str(meta.get("name", "")),
            str((s.obj.get("spec") or {}).get("nodeName") or ""),
        )
        judged = frozenset(absent.get(s.ref, ()))
        for f in name.findings(vocab, match.find(vocab, s.obj, []), about, _known(catalog), judged):
            if f.id not in ids:
                ids.add(f.id)
                out.append(f)
    return out


def _known(catalog: Catalog) -> Callable[[str], Any]:
    from .reasons import name

    def known(fid: str) -> name.Known | None:
        pb = catalog.by_id(fid)
        return name.Known(pb.title, pb.severity, pb.stage) if pb is not None else None

    return known


async def _kubernetes_says(
    kube: CachedKube,
    ctx: CheckContext,
    main: Subject,
    target: Target,
    now_ts: float,
    catalog: Catalog,
    judged_absent: frozenset[str],
    vocab: Vocabulary,
) -> tuple[list[Finding], Finding | None]:
    """The causes Kubernetes named on the target (kubewhy/reasons), and the ``unexplained`` finding that quotes
    its raw signals; nothing for a healthy object, which costs no further request.

    The target is examined when it is unhealthy by its own account, when it has no status (a paste, a partial
    snapshot: its warning events speak for it), or when its status carries a word of the vocabulary (a node's
    pressure taint, a pod's ``OutOfcpu``). Events alone never make a healthy object's cause: a warning from an
    hour ago on an object now healthy is history, not a diagnosis.
    """
    from .checks.builtin import events_for
    from .reasons import match, name

    obj = {**main.obj, "kind": target.kind}
    signals = health.status_signals(obj, now_ts)
    if target.kind == "Service":
        endpoints = await kube.get("Endpoints", target.namespace, target.name)
        signals += health.endpoints_signals(obj, endpoints)
    has_status = isinstance(obj.get("status"), dict) and bool(obj["status"])
    said = [m for m in match.find(vocab, obj, []) if m.entry.finding]
    if not signals and has_status and not said:
        return [], None  # healthy by its own account: no further request
    try:
        events = await events_for(ctx, obj)
    except KubewhyError:
        events = []
    warnings = [e for e in events if e.get("type") == "Warning"]
    matches = match.find(vocab, obj, events)
    if not signals and not warnings and not any(m.entry.finding for m in matches):
        return [], None
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or target.namespace
    name_ = str(meta.get("name") or target.name)
    about = name.About(main.ref, target.kind, namespace, name_, str((obj.get("spec") or {}).get("nodeName") or ""))

    named = name.findings(vocab, matches, about, _known(catalog), judged_absent)
    note = (
        health.unexplained(main.ref, target.kind, namespace, name_, signals, warnings) if signals or warnings else None
    )
    return named, note


async def diagnose_described(
    text: str, deps: Deps, *, actor: str = "", source: str = "cli", channel: str | None = None
) -> Report:
    """Diagnose ``kubectl describe`` output pasted as text (into Slack, a ticket): the described object is the
    target and the text the whole cluster, seen at the time the text was captured. A fragment (an Events table,
    a State block, one message) is diagnosed as a placeholder object ``pasted`` (see describe_fragment)."""

    from .adapters import describe
    from .adapters.kube_snapshot import SnapshotKube
    from .errors import UsageError
    from .models.target import parse_target

    read_at = deps.clock()
    try:
        captured = describe.capture_time(text, read_at)
        objects = describe.parse(text, now=captured)
    except describe.DescribeError as exc:
        raise UsageError(f"pasted text, line {exc}") from None
    objects = _placeholder_as_said(objects, _vocabulary(deps))
    kube = SnapshotKube([], objects=objects, endpoint="pasted kubectl describe output")
    # The text's ages count back from the capture time (its latest absolute time, see describe.capture_time), so
    # its events can never date when it was taken: a node whose last event is 15 minutes old has heartbeats 15
    # minutes "ahead" of that event. Only kubectl's own ``<invalid>`` age says a stamp lies in the reader's future.
    kube.captured_at = captured
    pasted = dataclasses.replace(deps, kube=kube, clock=kube.clock, prom=None, kubelet=None)
    target = parse_target(describe.target_of(objects))
    report = await diagnose(target, pasted, actor=actor, source=source, channel=channel)
    mine = [o for o in objects if o.get("kind") == target.kind and (o.get("metadata") or {}).get("name") == target.name]
    if target.name != describe.PLACEHOLDER and (gap := beyond_the_text(target.kind, mine[0] if mine else {})):
        report.notes.append(gap)  # what a cause may need that the text cannot hold, and how to read it
    return report


def _placeholder_as_said(objects: list[dict[str, Any]], vocab: Vocabulary) -> list[dict[str, Any]]:
    """A fragment's placeholder object, corrected by what its events say: the kind they are written on (a node's
    ``NodeHasDiskPressure``, a Service's ``SyncLoadBalancerFailed``), and no status where the reader only filled
    in zeros (a fragment shows no status, and zeros would read as a healthy one)."""
    from . import kinds
    from .adapters import describe
    from .reasons import infer

    placeholder = next(
        (
            o
            for o in objects
            if o.get("kind") != "Event" and (o.get("metadata") or {}).get("name") == describe.PLACEHOLDER
        ),
        None,
    )
    if placeholder is None:
        return objects
    guess = str(placeholder.get("kind", ""))
    events = [o for o in objects if o.get("kind") == "Event"]
    kind = infer.kind_of(vocab, events, guess)
    status = placeholder.get("status")
    if isinstance(status, dict) and not any(v not in (0, None, "", [], {}) for v in status.values()):
        placeholder = {k: v for k, v in placeholder.items() if k != "status"}
    if kind != guess:
        info = kinds.info(kind)
        meta = dict(placeholder.get("metadata") or {})
        if not info.namespaced:
            meta.pop("namespace", None)
        placeholder = {"apiVersion": info.api_version, "kind": kind, "metadata": meta}
        events = [
            {**e, "involvedObject": {**(e.get("involvedObject") or {}), "kind": kind}}
            | ({} if info.namespaced else {"metadata": {**(e.get("metadata") or {})}})
            for e in events
        ]
    rest = [
        o for o in objects if o.get("kind") != "Event" and (o.get("metadata") or {}).get("name") != describe.PLACEHOLDER
    ]
    return [placeholder, *rest, *events]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per playbook and subject (a related pod may be reached twice)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        if (f.id, f.subject) not in seen:
            seen.add((f.id, f.subject))
            out.append(f)
    return out


__all__ = ["SHORT", "Deps", "diagnose", "diagnose_described", "resolve_target"]
