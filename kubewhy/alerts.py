"""Alertmanager's notifications joined to the watchers' incident ledger (docs/alertmanager.md).

A webhook (JSON version 4) carries one group of alerts. Each alert is mapped to its **subject** through its labels,
per alert family (:data:`FAMILIES`: in kube-prometheus ``job`` is the scrape job and ``pod``/``instance`` may name
the exporter, so only the labels a family names count), then:

- an open incident on that subject (the watchers paged it, or an earlier alert did) gets the alert attached:
  its message is updated in place, no second message goes out;
- otherwise one incident is opened and paged, with the diagnosis of the subject and the alert's runbook link;
- a resolved alert is marked so; an incident the alerts opened resolves when its last alert does (its message
  updated in place), one the watchers opened is theirs to resolve;
- an alert whose labels name nothing kubewhy knows is still paged, as itself (subject ``alert/NAME/FINGERPRINT``),
  with what its labels say; never dropped.

Deliveries are deduplicated on (fingerprint, startsAt, status): an HA Alertmanager may notify more than once.
The front-end (``bot/alerts.py``) only checks the credentials, hands the body here and formats the pages.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import KubewhyError, UsageError
from .models.target import Target
from .watch.detect import owner_of
from .watch.notify import Notifier, Page, announce_resolved, cause_of

if TYPE_CHECKING:
    from .app import Kubewhy
    from .audit.ledger import LedgerIncident
    from .models.findings import Report

log = logging.getLogger("kubewhy.alerts")
ACTOR = "alertmanager"
DEDUP_TTL = timedelta(days=2)
MAX_ALERTS = 1000  # per notification

# alert family → (the label that names the subject, its kind, the watchers' incident family it shares)
FAMILIES: dict[str, tuple[str, str, str]] = {
    "KubePodCrashLooping": ("pod", "Pod", "workload-failing"),
    "KubePodNotReady": ("pod", "Pod", "KubePodNotReady"),
    "KubeContainerWaiting": ("pod", "Pod", "KubeContainerWaiting"),
    "CPUThrottlingHigh": ("pod", "Pod", "cpu-throttling"),
    "KubeDeploymentReplicasMismatch": ("deployment", "Deployment", "KubeDeploymentReplicasMismatch"),
    "KubeDeploymentRolloutStuck": ("deployment", "Deployment", "KubeDeploymentRolloutStuck"),
    "KubeDeploymentGenerationMismatch": ("deployment", "Deployment", "KubeDeploymentGenerationMismatch"),
    "KubeStatefulSetReplicasMismatch": ("statefulset", "StatefulSet", "KubeStatefulSetReplicasMismatch"),
    "KubeStatefulSetUpdateNotRolledOut": ("statefulset", "StatefulSet", "KubeStatefulSetUpdateNotRolledOut"),
    "KubeDaemonSetRolloutStuck": ("daemonset", "DaemonSet", "KubeDaemonSetRolloutStuck"),
    "KubeDaemonSetNotScheduled": ("daemonset", "DaemonSet", "KubeDaemonSetNotScheduled"),
    "KubeDaemonSetMisScheduled": ("daemonset", "DaemonSet", "KubeDaemonSetMisScheduled"),
    "KubeJobFailed": ("job_name", "Job", "KubeJobFailed"),  # `job` is the scrape job
    "KubeJobNotCompleted": ("job_name", "Job", "KubeJobNotCompleted"),
    "KubeNodeNotReady": ("node", "Node", "node-not-ready"),
    "KubeNodeUnreachable": ("node", "Node", "node-not-ready"),
    "KubeNodeReadinessFlapping": ("node", "Node", "KubeNodeReadinessFlapping"),
    "KubeletTooManyPods": ("node", "Node", "KubeletTooManyPods"),
    "KubePersistentVolumeFillingUp": ("persistentvolumeclaim", "PersistentVolumeClaim", "pvc-filling"),
    "KubePersistentVolumeInodesFillingUp": ("persistentvolumeclaim", "PersistentVolumeClaim", "pvc-filling"),
    "KubeHpaReplicasMismatch": ("horizontalpodautoscaler", "HorizontalPodAutoscaler", "KubeHpaReplicasMismatch"),
    "KubeHpaMaxedOut": ("horizontalpodautoscaler", "HorizontalPodAutoscaler", "KubeHpaMaxedOut"),
}
# any other alert: the first of these labels it carries (``pod`` only next to ``container``: else it may be the
# exporter's own pod), else nothing
GENERIC = (
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("job_name", "Job"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
    ("pod", "Pod"),
    ("node", "Node"),
)
SEVERITIES = {"critical": "critical", "error": "critical", "warning": "warning", "info": "info", "none": "info"}


class AlertError(UsageError):
    """A notification kubewhy cannot read (the receiver answers 400 with this message)."""


@dataclass(frozen=True)
class Alert:
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str
    fingerprint: str
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or "unnamed alert"

    @property
    def runbook(self) -> str | None:
        url = self.annotations.get("runbook_url", "")
        return url if urlsplit(url).scheme in ("http", "https") else None

    @property
    def summary(self) -> str:
        return (
            self.annotations.get("summary")
            or self.annotations.get("description")
            or self.annotations.get("message", "")
        )


@dataclass(frozen=True)
class Subject:
    """What an alert is about: the watchers' subject (``deploy/NS/x``, ``node/x``), what to diagnose, the
    incident family; ``known`` False for a label set that names nothing (subject ``alert/NAME/FINGERPRINT``)."""

    subject: str
    target: Target | None
    family: str
    known: bool = True


@dataclass
class Outcome:
    """What one notification did: incidents paged, alerts attached, incidents resolved, duplicates skipped."""

    paged: list[str] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: int = 0


# ---- reading -------------------------------------------------------------------------------------------------
def parse(body: bytes) -> list[Alert]:
    """The alerts of a webhook body; :class:`AlertError` says what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AlertError(f"the body is not JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise AlertError("expected a JSON object (Alertmanager's webhook payload)")
    if str(data.get("version")) != "4":
        raise AlertError(f"expected Alertmanager's webhook version 4, got {str(data.get('version'))[:20]!r}")
    raw = data.get("alerts")
    if not isinstance(raw, list):
        raise AlertError("`alerts` must be a list")
    if len(raw) > MAX_ALERTS:
        raise AlertError(f"{len(raw)} alerts in one notification: at most {MAX_ALERTS}")
    return [_alert(a, i) for i, a in enumerate(raw)]


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise AlertError(f"{where} must map names to strings")
    return dict(value)


def _alert(raw: Any, i: int) -> Alert:
    if not isinstance(raw, dict):
        raise AlertError(f"alerts[{i}] must be an object")
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        raise AlertError(f"alerts[{i}].status must be firing or resolved, got {str(status)[:20]!r}")
    labels = _strings(raw.get("labels"), f"alerts[{i}].labels")
    annotations = _strings(raw.get("annotations"), f"alerts[{i}].annotations")
    starts = raw.get("startsAt")
    if not isinstance(starts, str) or _time(starts) is None:
        raise AlertError(f"alerts[{i}].startsAt must be an RFC 3339 time")
    fingerprint = raw.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        # Alertmanager always sends one; a hand-made alert gets the hash of its labels, as Alertmanager does
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    return Alert(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=str(raw.get("endsAt") or ""),
        fingerprint=fingerprint[:64],
        generator_url=str(raw.get("generatorURL") or ""),
    )


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# ---- mapping -------------------------------------------------------------------------------------------------
def label_target(alert: Alert) -> tuple[Target, str] | None:
    """(what the alert names, its incident family) from its labels alone, or None."""
    labels = alert.labels
    ns = labels.get("namespace") or None
    known = FAMILIES.get(alert.name)
    if known is not None:
        label, kind, family = known
        name = labels.get(label)
        if name and (kind == "Node" or ns):
            return Target(kind, name, None if kind == "Node" else ns), family
        return None
    for label, kind in GENERIC:
        name = labels.get(label)
        if not name or (kind != "Node" and not ns) or (label == "pod" and "container" not in labels):
            continue
        return Target(kind, name, None if kind == "Node" else ns), alert.name
    return None


async def subject_of(app: Kubewhy, alert: Alert) -> Subject:
    """The alert's subject; a pod's is its owner workload, read from the pod as the watchers name it."""
    found = label_target(alert)
    if found is None:
        return Subject(f"alert/{alert.name}/{alert.fingerprint}", None, alert.name, known=False)
    target, family = found
    if target.kind == "Pod":
        try:
            pod = await app.get(target)
        except KubewhyError as exc:
            log.info("reading %s for alert %s: %s", target, alert.name, exc)
            pod = None
        owner = owner_of((pod or {}).get("metadata") or {})
        if owner is not None:
            return Subject(f"{owner[0]}/{target.namespace}/{owner[1]}", target, family)
    return Subject(target.ref, target, family)


# ---- joining -------------------------------------------------------------------------------------------------
class Receiver:
    """Joins notifications to the ledger and pages through ``notifier`` (the bot's Slack one). ``cluster`` is the
    ledger's cluster key (the watchers'), ``channel`` where pages go, ``owner`` this replica (the post claim)."""

    def __init__(
        self,
        app: Kubewhy,
        notifier: Notifier,
        *,
        channel: str | None,
        owner: str,
        diagnose_timeout: float = 20.0,
    ):
        self.app, self.notifier, self.channel, self.owner = app, notifier, channel, owner
        self.diagnose_timeout = diagnose_timeout
        self._unfinished: set[str] = set()  # deliveries that failed half-way: their retry is not a duplicate

    @property
    def cluster(self) -> str:
        w = self.app.settings.watch
        return w.cluster or urlsplit(self.app.endpoint).netloc or self.app.endpoint

    async def receive(self, alerts: list[Alert]) -> Outcome:
        out = Outcome()
        trust = await self.app.trust()
        for alert in alerts:
            key = f"alertmanager|{alert.fingerprint}|{alert.starts_at}|{alert.status}"
            if not await trust.first_time(key, DEDUP_TTL) and key not in self._unfinished:
                out.duplicates += 1
                continue
            self._unfinished.add(key)  # until done: a failure answers 503 and Alertmanager's retry is taken
            if alert.status == "firing":
                await self._firing(alert, out)
            else:
                await self._resolved(alert, out)
            self._unfinished.discard(key)
        return out

    async def _open_on(self, subject: str) -> LedgerIncident | None:
        ledger = await self.app.ledger()
        for incident in await ledger.open_incidents(self.cluster):
            if incident.subject == subject or incident.subject.startswith(subject + ":"):
                return incident
        return None

    async def _firing(self, alert: Alert, out: Outcome) -> None:
        subject = await subject_of(self.app, alert)
        ledger = await self.app.ledger()
        found = await self._open_on(subject.subject)
        if found is not None and found.message_ts is not None:
            await self._attach(found, alert, out)
            return
        target = subject.target
        incident, created = await ledger.open_incident(
            cluster=self.cluster,
            rule=alert.name,
            subject=subject.subject,
            severity=SEVERITIES.get(alert.labels.get("severity", ""), "warning"),
            title=_title(alert, subject),
            channel=self.channel,
            details={
                "target": [target.kind, target.namespace, target.name] if target else None,
                "rules": [alert.name],
                "source": "alertmanager",
                "alerts": {alert.fingerprint: _kept(alert)},
                "labels": alert.labels,
            },
            key=subject.family,
        )
        if not created and alert.fingerprint not in (incident.details.get("alerts") or {}):
            incident = await self._remember(incident, alert)
        await self._post(incident, alert, out)

    async def _remember(self, incident: LedgerIncident, alert: Alert) -> LedgerIncident:
        ledger = await self.app.ledger()
        details = dict(incident.details)
        details["alerts"] = {**(details.get("alerts") or {}), alert.fingerprint: _kept(alert)}
        return await ledger.change(incident.id, details=details, last_seen=datetime.now(UTC)) or incident

    async def _attach(self, incident: LedgerIncident, alert: Alert, out: Outcome) -> None:
        """The incident is paged already: the alert joins it, its message shows it, nothing new is posted."""
        incident = await self._remember(incident, alert)
        if incident.message_ts is not None:
            await self.notifier.update(Page("update", incident, incident.title), incident.message_ts)
        self.app.record(
            "alert_attached",
            actor=ACTOR,
            source="alertmanager",
            channel=incident.channel,
            target=incident.target(),
            incident=incident.ref,
            details={"summary": f"{alert.name} ({alert.fingerprint}) attached", "labels": alert.labels},
        )
        out.attached.append(incident.ref)

    async def _post(self, incident: LedgerIncident, alert: Alert, out: Outcome) -> None:
        ledger = await self.app.ledger()
        claim = await ledger.claim_post(incident.id, self.owner)
        if claim is None:
            out.attached.append(incident.ref)  # another replica, or another alert of this group, posts it
            return
        posted = await self.notifier.find(incident) if claim == "retry" else None
        now = datetime.now(UTC)
        if posted is not None:
            await ledger.change(incident.id, message_ts=posted, notified_at=now)
            out.attached.append(incident.ref)
            return
        self.app.open_incident(incident.ref, incident.title, actor=ACTOR, source="alertmanager", summary=alert.name)
        report = await self._diagnose(incident)
        page = Page("page", incident, incident.title, report)
        ts = await self.notifier.post(page)
        self.app.page(
            rule=incident.rule,
            fingerprint=incident.fingerprint,
            target=incident.target(),
            channel=incident.channel,
            message_ts=ts,
            summary=incident.title,
            incident=incident.ref,
        )
        details = {**incident.details, "cause": cause_of(report)}
        await ledger.change(incident.id, message_ts=ts, notified_at=now, details=details)
        if report is not None:
            await self.notifier.reply(page, ts)
        out.paged.append(incident.ref)

    async def _diagnose(self, incident: LedgerIncident) -> Report | None:
        target = incident.target()
        if target is None:
            return None
        try:
            return await self.app.diagnose(
                target,
                actor=ACTOR,
                source="alertmanager",
                channel=incident.channel,
                incident=incident.ref,
                timeout=self.diagnose_timeout,
            )
        except (KubewhyError, TimeoutError) as exc:  # paged without it, with what the labels say
            log.info("diagnosis of %s for %s failed: %s", target, incident.ref, exc)
            return None

    async def _resolved(self, alert: Alert, out: Outcome) -> None:
        ledger = await self.app.ledger()
        for incident in await ledger.open_incidents(self.cluster):
            kept = incident.details.get("alerts") or {}
            if alert.fingerprint not in kept:
                continue
            details = dict(incident.details)
            details["alerts"] = {**kept, alert.fingerprint: _kept(alert)}
            changed = await ledger.change(incident.id, details=details) or incident
            firing = [a for a in details["alerts"].values() if a.get("status") == "firing"]
            if incident.details.get("source") == "alertmanager" and not firing:
                done = await ledger.resolve(incident.id, ACTOR)
                if done is None:
                    continue
                text = f"Resolved: Alertmanager says {alert.name} is resolved."
                await announce_resolved(
                    self.notifier, self.app, done, text, rule=done.rule, summary="alert resolved", actor=ACTOR
                )
                out.resolved.append(done.ref)
            else:  # the watchers' incident (or one still firing): the message shows the alert resolved
                if changed.message_ts is not None:
                    await self.notifier.update(Page("update", changed, changed.title), changed.message_ts)
                out.updated.append(changed.ref)


def _kept(alert: Alert) -> dict[str, Any]:
    """What the ledger keeps of an alert (the message shows it)."""
    return {
        "name": alert.name,
        "status": alert.status,
        "startsAt": alert.starts_at,
        "summary": alert.summary[:300],
        "runbook": alert.runbook,
    }


def _title(alert: Alert, subject: Subject) -> str:
    what = alert.summary or ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    return f"{alert.name}: {what}"[:300] if what else alert.name


__all__ = ["FAMILIES", "Alert", "AlertError", "Outcome", "Receiver", "Subject", "label_target", "parse", "subject_of"]
