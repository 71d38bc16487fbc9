"""Secrets stay secret: Secret values, secret-looking env values and tokens in log lines are never shown."""

from __future__ import annotations

import copy
import re
from typing import Any

REDACTED = "[redacted]"
MAX_LINE = 300
_SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth)")
_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}"),  # JWT
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key id
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"(?i)((?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
               r"([^\s\"',;&]{3,})"),
    re.compile(r"(?i)(://[^:/\s]+:)([^@/\s]{3,})(@)"),  # user:password@host
]


def redact_text(line: str) -> str:
    for pat in _PATTERNS:
        if pat.groups >= 2:
            line = pat.sub(lambda m: m.group(1) + REDACTED + (m.group(3) if pat.groups >= 3 else ""), line)
        else:
            line = pat.sub(REDACTED, line)
    return line


def clean_log_lines(text: str, *, max_line: int = MAX_LINE) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = redact_text(raw.rstrip())
        if len(line) > max_line:
            line = line[:max_line] + "…"
        out.append(line)
    return out


def sanitize_object(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy safe to show: Secret data blanked, secret-looking literal env values replaced."""
    if obj is None:
        return None
    kind = obj.get("kind")
    if kind == "Secret":
        obj = copy.deepcopy(obj)
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                obj[key] = {k: REDACTED for k in obj[key]}
        ann = (obj.get("metadata") or {}).get("annotations") or {}
        ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        return obj
    spec = obj.get("spec") or {}
    pod_spec = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    containers = (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or [])
    needs = any(_SECRET_NAME.search(e.get("name", "")) and "value" in e
                for c in containers for e in c.get("env") or [])
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    if not needs and "kubectl.kubernetes.io/last-applied-configuration" not in ann:
        return obj
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).get("annotations", {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
    spec = obj.get("spec") or {}
    pod_spec = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
        for e in c.get("env") or []:
            if _SECRET_NAME.search(e.get("name", "")) and "value" in e:
                e["value"] = REDACTED
    return obj
