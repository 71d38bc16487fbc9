"""The onset of an incident (its first failure signal), the failure's words, and which changes before the onset
plausibly explain it: ranked by what they touched, then by how close they came before the onset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .model import Change, Ranked
from .read import first_time, ts

Obj = dict[str, Any]
WINDOW = timedelta(hours=2)  # how far before the onset a change is looked for

# The failure's words each kind of change can explain, the most telling first.
PULL = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
CRASH = ("CrashLoopBackOff", "StartError", "RunContainerError", "CreateContainerError", "Error", "BackOff")
CONFIG = ("CreateContainerConfigError", "FailedMount")
PENDING = ("FailedScheduling", "Unschedulable", "Pending")
PROBE = ("Unhealthy",)
SATURATED = ("ScalingLimited", "TooManyReplicas")
NODE_DOWN = ("NodeNotReady", "TaintManagerEviction", "Evicted", "NodeLost")


@dataclass(frozen=True)
class Onset:
    at: datetime
    what: str  # "warning event BackOff on pod/shop/pricing-x", "container app terminated (OOMKilled)"


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _ref(obj: Obj) -> str:
    meta = _d(obj.get("metadata"))
    return f"{str(obj.get('kind', '')).lower()}/{meta.get('name', '')}"


def _signals_of(obj: Obj) -> list[tuple[datetime | None, str, str]]:
    """(when, failure word, description) of what the object's status says went wrong."""
    kind = obj.get("kind")
    status = _d(obj.get("status"))
    out: list[tuple[datetime | None, str, str]] = []
    for c in status.get("conditions") or []:
        c = _d(c)
        typ, st = str(c.get("type", "")), str(c.get("status", ""))
        bad = (
            st == "False"
            if typ in ("Ready", "ContainersReady", "PodScheduled", "Available", "Progressing", "AbleToScale")
            else st == "True"
            if typ in ("ReplicaFailure", "MemoryPressure", "DiskPressure", "PIDPressure", "ScalingLimited")
            else False
        )
        if kind == "Node" and typ == "Ready":
            bad = st != "True"
        if bad:
            word = str(c.get("reason") or typ)
            if typ == "ScalingLimited":
                word = "ScalingLimited"
            out.append((ts(c.get("lastTransitionTime")), word, f"condition {typ}={st} on {_ref(obj)}"))
    statuses = [status.get("initContainerStatuses"), status.get("containerStatuses")]
    for cs in [c for group in statuses if isinstance(group, list) for c in group]:
        cs = _d(cs)
        name = cs.get("name", "")
        waiting = _d(_d(cs.get("state")).get("waiting"))
        if waiting.get("reason"):
            out.append((None, str(waiting["reason"]), f"container {name} waiting ({waiting['reason']})"))
        for where in (_d(cs.get("lastState")).get("terminated"), _d(cs.get("state")).get("terminated")):
            term = _d(where)
            if term and (term.get("exitCode") or term.get("reason") == "OOMKilled"):
                reason = str(term.get("reason") or "Error")
                when = ts(term.get("finishedAt"))
                out.append((when, reason, f"container {name} terminated ({reason}) on {_ref(obj)}"))
    if kind == "Pod" and status.get("reason"):
        out.append((None, str(status["reason"]), f"pod {status['reason']}"))
    return out


def failure_words(objects: list[Obj], events: list[Obj]) -> set[str]:
    """The failure's words: waiting and termination reasons, bad conditions' reasons, warning events' reasons."""
    words = {w for o in objects for _, w, _ in _signals_of(o)}
    words |= {str(e.get("reason", "")) for e in events if e.get("type") == "Warning"}
    for o in objects:
        if o.get("kind") == "Pod" and _d(o.get("status")).get("phase") == "Pending":
            words.add("Pending")
    return words - {""}


def onset(objects: list[Obj], events: list[Obj]) -> Onset | None:
    """The first failure signal: the earliest warning event, bad condition transition or termination."""
    found: list[tuple[datetime, str]] = []
    for o in objects:
        found += [(at, what) for at, _, what in _signals_of(o) if at is not None]
    for e in events:
        if e.get("type") == "Warning" and (at := first_time(e)) is not None:
            inv = _d(e.get("involvedObject"))
            found.append(
                (at, f"warning event {e.get('reason', '')} on {str(inv.get('kind', '')).lower()}/{inv.get('name', '')}")
            )
    if not found:
        return None
    at, what = min(found, key=lambda f: f[0])
    return Onset(at, what)


def blame(change: Change, words: set[str]) -> str:
    """Why ``change`` plausibly explains a failure with these words, or "" (a label edit explains nothing)."""
    return _blame(change, words)[0]


def _blame(change: Change, words: set[str]) -> tuple[str, int]:
    """(why, strength): 0 where the change is the failure's own kind of cause (an image then a pull error, a
    lowered limit then OOM kills), 1 where it only may be (a changed env, then a crash)."""
    areas = set(change.areas)
    kind = change.subject.split("/", 1)[0]

    def hit(group: tuple[str, ...]) -> str:
        return next((w for w in group if w in words), "")

    if areas <= {"metadata"}:
        return "", 2
    if "image" in areas and (w := hit(PULL)):
        return f"the image changed, then {w}", 0
    if any(x.startswith("memory limit") for x in change.lowered) and "OOMKilled" in words:
        return "the memory limit was lowered, then OOMKilled", 0
    if "resources" in areas and "OOMKilled" in words:
        return "the resources changed, then OOMKilled", 1
    if kind in ("configmap", "secret") and "config" in areas and (w := hit(CONFIG)):
        return f"the {kind} changed, then {w}", 0
    if kind in ("configmap", "secret") and "config" in areas and (w := hit(CRASH)):
        return f"the {kind} changed, then {w}", 1
    if "config" in areas and (w := hit(CONFIG)):
        return f"the configuration references changed, then {w}", 0
    if areas & {"image", "command", "env", "config"} and (w := hit(CRASH)):
        return f"the {'/'.join(sorted(areas & {'image', 'command', 'env', 'config'}))} changed, then {w}", 1
    if "probes" in areas and (w := hit(PROBE) or hit(CRASH)):
        return f"the probes changed, then {w}", 1
    if kind == "node" and "node" in areas and (w := hit(PENDING)):
        return f"the node changed ({change.summary}), then {w}", 0
    if kind == "node" and change.operation in ("condition", "event") and (w := hit(NODE_DOWN)):
        return f"the node changed ({change.summary}), then {w}", 0
    if kind == "hpa" and "scale" in areas and change.source == "managedFields" and (w := hit(SATURATED)):
        return f"the autoscaler changed, then {w}", 0
    return "", 2


def rank(changes: list[Change], start: Onset, words: set[str], window: timedelta = WINDOW) -> list[Ranked]:
    """The changes within ``window`` before the onset (a change in the onset's second counts): the changes of the
    failure's own kind of cause first, then those that may explain it, then the others; in each group the closest
    to the onset first."""
    out = []
    seen = set()
    for c in changes:
        before = (start.at - c.at).total_seconds()
        key = (c.at, c.subject, c.summary)
        if before < 0 or before > window.total_seconds() or key in seen:
            continue
        seen.add(key)
        why, strength = _blame(c, words)
        out.append((strength, Ranked(c, before, why)))
    return [r for _, r in sorted(out, key=lambda x: (x[0], x[1].before_s))]
