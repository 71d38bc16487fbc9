"""Finding the vocabulary's words in one object and its events, each quoted as it was written.

Each ``where`` reads one place Kubernetes writes a cause (see vocabulary.yaml's header). A container's
terminated state counts while the pod is not done (a Job's ``Completed`` container is health, not a cause), and
its last state while it waits to restart or is not ready (a running, ready container's last exit is history).
The quote names the field or event it came from, so the evidence shows the reader where Kubernetes said it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .vocabulary import Entry, Vocabulary

Obj = dict[str, Any]


@dataclass(frozen=True)
class Match:
    """An entry found, with the text that carries it."""

    entry: Entry
    quote: str  # the field or event that carries the reason, as written


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _cond_text(c: Obj) -> str:
    text = f"condition {c.get('type')}={c.get('status')}"
    if c.get("reason"):
        text += f" reason={c['reason']}"
    if c.get("message"):
        text += f": {c['message']}"
    return text


def _event_text(e: Obj) -> str:
    return f"event {e.get('reason', '')} (x{e.get('count') or 1}): {e.get('message', '')}".rstrip(": ")


def _conditions(entry: Entry, obj: Obj) -> Iterator[str]:
    for c in _list(_dict(obj.get("status")).get("conditions")):
        if all(entry.fits(k, c.get(k)) for k in ("type", "status", "reason", "message")):
            yield _cond_text(c)


def _containers(pod: Obj) -> Iterator[Obj]:
    status = _dict(pod.get("status"))
    for section in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        yield from _list(status.get(section))


def _waiting(entry: Entry, obj: Obj) -> Iterator[str]:
    for cs in _containers(obj):
        w = _dict(_dict(cs.get("state")).get("waiting"))
        if w and entry.fits("reason", w.get("reason")) and entry.fits("message", w.get("message")):
            message = f": {w['message']}" if w.get("message") else ""
            yield f"container {cs.get('name', '?')} waiting: reason={w.get('reason')}{message}"


def _terminated(entry: Entry, obj: Obj) -> Iterator[str]:
    done = _dict(obj.get("status")).get("phase") == "Succeeded"
    for cs in _containers(obj):
        states = []
        if not done:
            states.append(("terminated", _dict(_dict(cs.get("state")).get("terminated"))))
        if _dict(_dict(cs.get("state")).get("waiting")) or cs.get("ready") is False:
            # A restart loop (or a container not ready again) is explained by how it last ended; a running,
            # ready container's last state is history, however it ended.
            states.append(("last terminated", _dict(_dict(cs.get("lastState")).get("terminated"))))
        for label, t in states:
            if not t:
                continue
            if all(entry.fits(k, t.get(k)) for k in ("reason", "exitCode", "message")):
                message = f": {t['message']}" if t.get("message") else ""
                yield (
                    f"container {cs.get('name', '?')} {label}: reason={t.get('reason')} "
                    f"exitCode={t.get('exitCode')}{message}"
                )


def _events(entry: Entry, events: list[Obj]) -> Iterator[str]:
    for e in events:
        wanted_type = "type" in entry.match
        if not wanted_type and e.get("type") not in ("Warning", None, ""):
            continue  # a Normal event names a cause only where the entry says so
        if all(entry.fits(k, e.get(k)) for k in ("reason", "message", "type")):
            yield _event_text(e)


def _messages(entry: Entry, obj: Obj, events: list[Obj]) -> Iterator[str]:
    status = _dict(obj.get("status"))
    if entry.fits("message", status.get("message")) and status.get("message"):
        yield f"status.message: {status['message']}"
    for c in _list(status.get("conditions")):
        if c.get("message") and entry.fits("message", c.get("message")):
            yield _cond_text(c)
    for cs in _containers(obj):
        for state in ("state", "lastState"):
            for phase, body in _dict(cs.get(state)).items():
                msg = _dict(body).get("message")
                if msg and entry.fits("message", msg):
                    yield f"container {cs.get('name', '?')} {phase}: {msg}"
    for e in events:
        if e.get("message") and entry.fits("message", e.get("message")):
            yield _event_text(e)


# The taints the node lifecycle controller keeps in step with a condition, and the condition that sets each:
# a taint whose condition the node already reports healthy is lingering (the controller removes it within
# seconds), not a cause.
_TAINT_CONDITION = {
    "node.kubernetes.io/not-ready": "Ready",
    "node.kubernetes.io/unreachable": "Ready",
    "node.kubernetes.io/memory-pressure": "MemoryPressure",
    "node.kubernetes.io/disk-pressure": "DiskPressure",
    "node.kubernetes.io/pid-pressure": "PIDPressure",
    "node.kubernetes.io/network-unavailable": "NetworkUnavailable",
}


def _lingering(taint_key: Any, node: Obj) -> bool:
    ctype = _TAINT_CONDITION.get(str(taint_key))
    if ctype is None:
        return False
    cond = next((c for c in _list(_dict(node.get("status")).get("conditions")) if c.get("type") == ctype), None)
    if cond is None:
        return False  # no condition in the input: the taint is all there is
    healthy = "True" if ctype == "Ready" else "False"
    return cond.get("status") == healthy


def _taints(entry: Entry, obj: Obj) -> Iterator[str]:
    for t in _list(_dict(obj.get("spec")).get("taints")):
        if _lingering(t.get("key"), obj):
            continue
        if entry.fits("key", t.get("key")) and entry.fits("effect", t.get("effect")):
            value = f"={t['value']}" if t.get("value") else ""
            yield f"taint {t.get('key')}{value}:{t.get('effect', '')}"


def quotes(entry: Entry, obj: Obj, events: list[Obj]) -> list[str]:
    """Where ``entry`` is found in ``obj`` (of kind ``obj["kind"]``) and its events; empty when it is not."""
    kind = str(obj.get("kind", ""))
    if entry.kinds and kind not in entry.kinds:
        return []
    status = _dict(obj.get("status"))
    found: Iterator[str]
    if entry.where == "pod.reason":
        if kind != "Pod" or not entry.fits("reason", status.get("reason")):
            return []
        if not entry.fits("message", status.get("message")):
            return []
        found = iter([f"status.reason={status.get('reason')}: {status.get('message', '')}".rstrip(": ")])
    elif entry.where == "pod.condition":
        found = _conditions(entry, obj) if kind == "Pod" else iter(())
    elif entry.where == "condition":
        found = _conditions(entry, obj)
    elif entry.where == "container.waiting":
        found = _waiting(entry, obj)
    elif entry.where == "container.terminated":
        found = _terminated(entry, obj)
    elif entry.where == "event":
        found = _events(entry, events)
    elif entry.where == "message":
        found = _messages(entry, obj, events)
    elif entry.where == "taint":
        found = _taints(entry, obj)
    elif entry.where == "phase":
        found = iter([f"status.phase={status['phase']}"] if entry.fits("phase", status.get("phase")) else [])
    else:  # the loader admits only the wheres above
        return []
    return list(dict.fromkeys(found))  # in order, once each


_EVENT_FIELDS = ("reason", "message", "type", "count")  # all that the matching and the quotes read of an event
_ABSENT = object()


def _distinct(events: list[Obj]) -> list[Obj]:
    """The events that differ in what is read of them, the first of each kind, in order: a crash loop's object
    has its BackOff event a hundred times when repeats are not aggregated, and every entry read each of them;
    the quotes come out the same, once each (:func:`quotes` keeps each quote once)."""
    seen: set[tuple[Any, ...]] = set()
    out: list[Obj] = []
    for e in events:
        key = tuple((type(v), v) for v in (e.get(k, _ABSENT) for k in _EVENT_FIELDS))
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:  # a field that is a list or a map: kept as it is
            pass
        out.append(e)
    return out


def find(vocabulary: Vocabulary, obj: Obj, events: list[Obj]) -> list[Match]:
    """Every entry found, in the vocabulary's order (specific entries come before generic ones there)."""
    out: list[Match] = []
    events = _distinct(events)
    for entry in vocabulary.entries:
        for quote in quotes(entry, obj, events):
            out.append(Match(entry, quote))
    return out
