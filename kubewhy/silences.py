"""Silences both ways (docs/alertmanager.md): the watchers page nothing an active Alertmanager silence matches, a
person's "Snooze 2h" creates an Alertmanager silence (or, without one configured, kubewhy's own mute), and both
kinds are listed together.

**The label set a watcher incident is matched on** (what a silence's matchers see): ``alertname`` (the rule's
kube-prometheus equivalent, :data:`ALERTNAMES`), ``kubewhy_rule`` (the rule's id), ``namespace``, ``pod`` (the
pod the rule saw), the workload (``deployment``, ``statefulset``, ``daemonset``, ``job_name``),
``persistentvolumeclaim`` and ``node``. A matcher on a label the incident does not have sees ``""``, as in
Alertmanager. A snooze silences the incident's subject by the same labels kube-prometheus alerts carry
(``node``; ``namespace`` + ``pod`` for a pod; ``namespace`` + a ``pod`` regex for a workload's pods;
``namespace`` + ``persistentvolumeclaim``), so it quiets the watchers and Alertmanager's own alerts alike.

The silences are read every :data:`REFRESH` seconds in the background; until the first answer a watcher holds its
pages (a silence is never missed at start), and when Alertmanager cannot be reached the last answer stands (none:
nothing is held, a page is never lost to an outage).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .adapters.alertmanager import Alertmanager
from .errors import KubewhyError

if TYPE_CHECKING:
    from .app import Kubewhy
    from .audit.ledger import Mute

log = logging.getLogger("kubewhy.silences")
REFRESH = 5.0  # seconds between reads of Alertmanager's silences
SNOOZE = timedelta(hours=2)  # the "Snooze 2h" button
ALERTNAMES = {
    "node-not-ready": "KubeNodeNotReady",
    "node-pressure": "KubeNodePressure",
    "pod-evicted": "KubePodEvicted",
    "oom-killed": "KubeContainerOOMKilled",
    "crash-loop": "KubePodCrashLooping",
    "cpu-throttling": "CPUThrottlingHigh",
    "memory-near-limit": "KubeContainerMemoryNearLimit",
    "pvc-filling": "KubePersistentVolumeFillingUp",
}
WORKLOADS = {"deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "job": "job_name"}
# a workload's pods, as its controller names them
POD_OF = {
    "deploy": r"{}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}",
    "sts": r"{}-[0-9]+",
    "ds": r"{}-[a-z0-9]{{5}}",
    "job": r"{}-[a-z0-9]{{5}}",
}


class RuleLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def detect(self) -> str: ...


class SampleLike(Protocol):
    @property
    def namespace(self) -> str | None: ...
    @property
    def target_kind(self) -> str: ...
    @property
    def target_name(self) -> str: ...
    @property
    def node(self) -> str | None: ...


def incident_labels(rule: RuleLike, subject: str, sample: SampleLike | None) -> dict[str, str]:
    """The label set of a watcher incident (see the module docstring)."""
    labels = {"alertname": ALERTNAMES.get(rule.detect, rule.id), "kubewhy_rule": rule.id}
    head = subject.split(":", 1)[0]
    parts = head.split("/")
    if len(parts) == 2 and parts[0] == "node":
        labels["node"] = parts[1]
    elif len(parts) == 3:
        kind, ns, name = parts
        labels["namespace"] = ns
        if kind in WORKLOADS:
            labels[WORKLOADS[kind]] = name
        elif kind == "pod":
            labels["pod"] = name
        elif kind == "pvc":
            labels["persistentvolumeclaim"] = name
    if sample is not None:
        if sample.target_kind == "Pod" and sample.target_name:
            labels["pod"] = sample.target_name
        if sample.namespace:
            labels.setdefault("namespace", sample.namespace)
        if sample.node:
            labels.setdefault("node", sample.node)
    return labels


def matches(silence: dict[str, Any], labels: dict[str, str]) -> bool:
    """Alertmanager's matching: every matcher holds (``=``, ``!=``, ``=~``, ``!~``; regexes anchored)."""
    matchers = silence.get("matchers") or []
    if not matchers:
        return False
    for m in matchers:
        value = labels.get(str(m.get("name", "")), "")
        wanted = str(m.get("value", ""))
        if m.get("isRegex"):
            try:
                hit = re.fullmatch(wanted, value) is not None
            except re.error:
                return False
        else:
            hit = value == wanted
        if hit != m.get("isEqual", True):
            return False
    return True


def snooze_matchers(subject: str) -> list[dict[str, Any]]:
    """What a snooze of ``subject`` silences in Alertmanager (see the module docstring)."""
    head = subject.split(":", 1)[0]
    parts = head.split("/")

    def eq(name: str, value: str, regex: bool = False) -> dict[str, Any]:
        return {"name": name, "value": value, "isRegex": regex, "isEqual": True}

    if len(parts) == 2 and parts[0] == "node":
        return [eq("node", parts[1])]
    if len(parts) == 3:
        kind, ns, name = parts
        if kind == "pod":
            return [eq("namespace", ns), eq("pod", name)]
        if kind == "pvc":
            return [eq("namespace", ns), eq("persistentvolumeclaim", name)]
        if kind in POD_OF:
            return [eq("namespace", ns), eq("pod", POD_OF[kind].format(re.escape(name)), regex=True)]
    if len(parts) == 3 and parts[0] == "alert":  # an alert with no subject: its name
        return [eq("alertname", parts[1])]
    raise KubewhyError(f"cannot snooze {subject!r} in Alertmanager")


@dataclass
class _View:
    """The silences last read, for one application (its Alertmanager)."""

    client: Alertmanager
    silences: list[dict[str, Any]] | None = None  # None: not read yet
    failed: bool = False
    read_at: float = 0.0
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        try:
            self.silences = await self.client.silences()
            self.failed = False
        except KubewhyError as exc:
            if not self.failed:
                log.warning("cannot read Alertmanager's silences (%s): the last answer stands", exc)
            self.failed = True
        finally:
            self.read_at = time.monotonic()

    def due(self) -> None:
        if (self.task is None or self.task.done()) and time.monotonic() - self.read_at >= REFRESH:
            self.task = asyncio.get_running_loop().create_task(self.read(), name="alertmanager-silences")


_VIEWS: weakref.WeakKeyDictionary[Kubewhy, _View] = weakref.WeakKeyDictionary()


def _view(app: Kubewhy) -> _View | None:
    if not app.settings.alertmanager.url:
        return None
    if app not in _VIEWS:
        _VIEWS[app] = _View(Alertmanager(app.settings.alertmanager))
    return _VIEWS[app]


def silenced(app: Kubewhy, rule: RuleLike, subject: str, sample: SampleLike | None) -> bool:
    """The watchers' hook: does an active Alertmanager silence match this incident? (Without an Alertmanager
    configured, never.) Until the first read answers, True: the page waits for it."""
    view = _view(app)
    if view is None:
        return False
    view.due()
    if view.silences is None:
        return not view.failed
    labels = incident_labels(rule, subject, sample)
    return any(matches(s, labels) for s in view.silences)


@dataclass(frozen=True)
class Snoozed:
    until: datetime
    silence_id: str | None  # the Alertmanager silence; None: kubewhy's own mute
    target: str


async def snooze(
    app: Kubewhy, subject: str, span: timedelta, *, actor: str, channel: str | None = None, incident: str | None = None
) -> Snoozed:
    """An Alertmanager silence created by ``actor`` when one is configured, else kubewhy's own mute of the
    subject. Recorded in the audit log either way (the caller checked the person may mute)."""
    view = _view(app)
    if view is None:
        mute = await app.mute(subject.split(":", 1)[0], span, actor=actor, channel=channel)
        return Snoozed(mute.until, None, mute.target)
    now = datetime.now(UTC)
    matchers = snooze_matchers(subject)
    silence_id = await view.client.create_silence(
        matchers, starts_at=now, ends_at=now + span, created_by=actor, comment=f"kubewhy snooze of {subject}"
    )
    view.read_at = 0.0  # read again at the next look: the watchers see it at once
    app.record(
        "snooze",
        actor=actor,
        channel=channel,
        incident=incident,
        details={
            "target": subject,
            "silence": silence_id,
            "until": (now + span).isoformat(),
            "summary": f"{subject} silenced in Alertmanager until {now + span:%Y-%m-%d %H:%M} UTC",
        },
    )
    return Snoozed(now + span, silence_id, subject)


async def both_kinds(app: Kubewhy) -> tuple[list[Mute], list[dict[str, Any]] | None]:
    """kubewhy's mutes in force and Alertmanager's active silences (None: no Alertmanager configured)."""
    mutes = await (await app.ledger()).mutes()
    view = _view(app)
    if view is None:
        return mutes, None
    return mutes, await view.client.silences()


__all__ = [
    "ALERTNAMES",
    "SNOOZE",
    "Snoozed",
    "both_kinds",
    "incident_labels",
    "matches",
    "silenced",
    "snooze",
    "snooze_matchers",
]
