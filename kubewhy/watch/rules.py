"""Watch rules: what pages, how soon, how loud and to which channel. Data in YAML (bundled defaults in
``rules.yaml``, a user's file with ``--rules``), validated with file and line like playbooks.

A rule names a built-in detector (``detect``) and tunes it: ``grace`` (how long a condition must last before
it pages), ``resolve_after`` (how long it must stay clear before the incident resolves: hysteresis against
flapping), ``reminder``, ``severity``, ``routes`` (namespace and labels to a channel) and ``quiet_hours``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..errors import KubewhyError

API_VERSION = "kubewhy.io/v1"
DETECTORS = (
    "node-not-ready",
    "node-pressure",
    "pod-evicted",
    "oom-killed",
    "crash-loop",
    "cpu-throttling",
    "memory-near-limit",
    "pvc-filling",
)
METRIC_DETECTORS = ("cpu-throttling", "memory-near-limit", "pvc-filling")  # evaluated from Prometheus, on a schedule
NODE_DETECTORS = ("node-not-ready", "node-pressure")  # from the node informer alone (paged before the pods are listed)
Severity = Literal["critical", "warning", "info"]


class RulesError(KubewhyError):
    """A rules file kubewhy cannot use; the message starts with file:line."""

    exit_code = 2


def parse_duration(text: Any) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1h30m`` (the audit log's duration syntax)."""
    from ..durations import parse_duration as parse

    return parse(str(text))


@dataclass(frozen=True)
class Route:
    channel: str
    namespaces: tuple[str, ...] = ()  # empty: any
    labels: Mapping[str, str] = field(default_factory=dict)

    def matches(self, namespace: str | None, labels: Mapping[str, str]) -> bool:
        if self.namespaces and (namespace or "") not in self.namespaces:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True)
class QuietHours:
    """Pages below ``page_severity`` wait until the quiet hours end (the incident is recorded at once)."""

    start: time
    end: time
    tz: tzinfo
    page_severity: Severity = "critical"

    def active(self, at: datetime) -> bool:
        now = at.astimezone(self.tz).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


FAMILIES = {"oom-killed": "workload-failing", "crash-loop": "workload-failing"}  # detectors sharing an incident


@dataclass(frozen=True)
class Rule:
    id: str
    detect: str
    severity: Severity = "warning"
    grace: timedelta = timedelta(0)
    resolve_after: timedelta = timedelta(seconds=60)
    reminder: timedelta = timedelta(hours=4)
    window: timedelta = timedelta(minutes=15)
    restarts: int = 3
    threshold: float = 0.9
    for_: timedelta = timedelta(minutes=5)
    every: timedelta = timedelta(minutes=1)
    channel: str | None = None
    routes: tuple[Route, ...] = ()
    quiet_hours: QuietHours | None = None

    @property
    def family(self) -> str:
        """What the incident is about, whichever rule saw it first: an incident is a cause on a subject, so one
        workload's OOM kills and its crash loop (the kubelet restarting what the kernel killed) are one incident,
        updated, not two pages. The incident's key is (subject, family)."""
        return FAMILIES.get(self.detect, self.id)

    def channel_for(self, namespace: str | None, labels: Mapping[str, str], default: str | None) -> str | None:
        for route in self.routes:
            if route.matches(namespace, labels):
                return route.channel
        return self.channel or default

    def holds(self, severity_at: datetime) -> bool:
        """In quiet hours, and not loud enough to page through them."""
        q = self.quiet_hours
        if q is None or not q.active(severity_at):
            return False
        order = {"info": 0, "warning": 1, "critical": 2}
        return order[self.severity] < order[q.page_severity]


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str

    def by_detector(self, detect: str) -> list[Rule]:
        return [r for r in self.rules if r.detect == detect]

    def with_grace(self, grace: timedelta) -> RuleSet:
        """``--grace``: every grace period (and the metric rules' ``for``) replaced, for demos and tests."""
        return RuleSet(tuple(replace(r, grace=grace, for_=min(r.for_, grace)) for r in self.rules), self.source)


def default_rules_text() -> str:
    return resources.files("kubewhy.watch").joinpath("rules.yaml").read_text(encoding="utf-8")


def load_rules(path: Path | None = None) -> RuleSet:
    """The bundled defaults, or the user's file; :class:`RulesError` with file:line for anything wrong."""
    if path is None:
        return parse_rules(default_rules_text(), "kubewhy/watch/rules.yaml (bundled)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc}") from None
    return parse_rules(text, str(path))


_RULE_KEYS = {
    "id",
    "detect",
    "severity",
    "grace",
    "resolve_after",
    "reminder",
    "window",
    "restarts",
    "threshold",
    "for",
    "every",
    "channel",
    "routes",
    "quiet_hours",
}


def parse_rules(text: str, source: str) -> RuleSet:
    from ..yamlsrc import YamlSourceError, documents

    try:
        docs = [d for d in documents(text) if d.data is not None]
    except YamlSourceError as exc:
        raise RulesError(f"{source}:{exc.line or 1}: {exc}") from None
    if len(docs) != 1:
        raise RulesError(f"{source}:1: expected one YAML document of kind WatchRules, found {len(docs)}")
    doc = docs[0]
    data = doc.data

    def fail(loc: tuple[Any, ...], message: str) -> RulesError:
        return RulesError(f"{source}:{doc.line_of(loc)}: {message}")

    if not isinstance(data, dict):
        raise fail((), "the rules file must be a mapping with apiVersion, kind and rules")
    if data.get("apiVersion") != API_VERSION:
        raise fail(("apiVersion",), f"apiVersion must be {API_VERSION!r} (found {data.get('apiVersion')!r})")
    if data.get("kind") != "WatchRules":
        raise fail(("kind",), f"kind must be 'WatchRules' (found {data.get('kind')!r})")
    unknown = set(data) - {"apiVersion", "kind", "defaults", "rules"}
    if unknown:
        key = sorted(unknown)[0]
        raise fail((key,), f"unknown field {key!r}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fail(("defaults",), "defaults must be a mapping")
    for key in defaults:
        if key not in _RULE_KEYS - {"id", "detect"}:
            raise fail(("defaults", key), f"unknown field 'defaults.{key}'")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise fail(("rules",) if "rules" in data else (), "rules must be a non-empty list")
    out: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(rules):
        if not isinstance(raw, dict):
            raise fail(("rules", i), f"rules[{i}] must be a mapping")
        merged = {**defaults, **raw}
        for key in raw:
            if key not in _RULE_KEYS:
                raise fail(("rules", i, key), f"unknown field 'rules[{i}].{key}'")
        for key in ("id", "detect"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                raise fail(("rules", i), f"rules[{i}] needs a {key!r}")
        if raw["detect"] not in DETECTORS:
            raise fail(("rules", i, "detect"), f"unknown detector {raw['detect']!r}; known: {', '.join(DETECTORS)}")
        if raw["id"] in seen:
            raise fail(("rules", i, "id"), f"duplicate rule id {raw['id']!r}")
        seen.add(raw["id"])

        def where(key: str, i: int = i) -> tuple[Any, ...]:
            return ("rules", i, key) if key in rules[i] else ("defaults", key)

        try:
            out.append(_rule(merged, where))
        except _FieldError as exc:
            raise fail(where(exc.key), f"{exc.key}: {exc}") from None
    return RuleSet(tuple(out), source)


class _FieldError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _rule(raw: Mapping[str, Any], where: Any) -> Rule:
    kw: dict[str, Any] = {"id": raw["id"], "detect": raw["detect"]}
    for key in ("grace", "resolve_after", "reminder", "window", "for", "every"):
        if key in raw:
            try:
                kw["for_" if key == "for" else key] = parse_duration(raw[key])
            except ValueError as exc:
                raise _FieldError(key, str(exc)) from None
    if "severity" in raw:
        if raw["severity"] not in ("critical", "warning", "info"):
            raise _FieldError("severity", f"must be critical, warning or info (found {raw['severity']!r})")
        kw["severity"] = raw["severity"]
    if "restarts" in raw:
        if not isinstance(raw["restarts"], int) or isinstance(raw["restarts"], bool) or raw["restarts"] < 1:
            raise _FieldError("restarts", f"must be a whole number of at least 1 (found {raw['restarts']!r})")
        kw["restarts"] = raw["restarts"]
    if "threshold" in raw:
        value = raw["threshold"]
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                value = float(value.strip()[:-1]) / 100
            except ValueError:
                raise _FieldError("threshold", f"not a number: {raw['threshold']!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise _FieldError("threshold", f"must be a ratio in (0, 1] or a percentage (found {raw['threshold']!r})")
        kw["threshold"] = float(value)
    if "every" in kw and kw["every"] < timedelta(seconds=1):
        raise _FieldError("every", "must be at least 1s")
    if "channel" in raw:
        if not isinstance(raw["channel"], str) or not raw["channel"]:
            raise _FieldError("channel", "must be a channel name or id")
        kw["channel"] = raw["channel"]
    if "routes" in raw:
        kw["routes"] = _routes(raw["routes"])
    if "quiet_hours" in raw and raw["quiet_hours"] is not None:
        kw["quiet_hours"] = _quiet(raw["quiet_hours"])
    return Rule(**kw)


def _routes(raw: Any) -> tuple[Route, ...]:
    if not isinstance(raw, list):
        raise _FieldError("routes", "must be a list of {channel, namespaces, labels}")
    out = []
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or not isinstance(r.get("channel"), str):
            raise _FieldError("routes", f"routes[{i}] needs a channel")
        extra = set(r) - {"channel", "namespaces", "labels"}
        if extra:
            raise _FieldError("routes", f"routes[{i}]: unknown field {sorted(extra)[0]!r}")
        namespaces = r.get("namespaces") or []
        labels = r.get("labels") or {}
        if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
            raise _FieldError("routes", f"routes[{i}].namespaces must be a list of names")
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise _FieldError("routes", f"routes[{i}].labels must map label names to strings")
        out.append(Route(r["channel"], tuple(namespaces), dict(labels)))
    return tuple(out)


def _quiet(raw: Any) -> QuietHours:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(raw, dict) or "start" not in raw or "end" not in raw:
        raise _FieldError("quiet_hours", "needs start and end, e.g. {start: '22:00', end: '07:00', timezone: UTC}")
    extra = set(raw) - {"start", "end", "timezone", "page_severity"}
    if extra:
        raise _FieldError("quiet_hours", f"unknown field {sorted(extra)[0]!r}")
    try:
        start, end = (time.fromisoformat(str(raw[k])) for k in ("start", "end"))
    except ValueError:
        raise _FieldError(
            "quiet_hours", f"start and end must be HH:MM (found {raw['start']!r}, {raw['end']!r})"
        ) from None
    try:
        tz = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise _FieldError("quiet_hours", f"unknown timezone {raw.get('timezone')!r}") from None
    severity = raw.get("page_severity", "critical")
    if severity not in ("critical", "warning", "info"):
        raise _FieldError("quiet_hours", f"page_severity must be critical, warning or info (found {severity!r})")
    return QuietHours(start, end, tz, severity)


__all__ = [
    "DETECTORS",
    "METRIC_DETECTORS",
    "NODE_DETECTORS",
    "QuietHours",
    "Route",
    "Rule",
    "RuleSet",
    "RulesError",
    "default_rules_text",
    "load_rules",
    "parse_duration",
    "parse_rules",
]
