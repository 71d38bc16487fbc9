"""Secrets stay secret: Secret values, secret-looking env values and tokens in log lines are never shown.

Log text is redacted line by line, with one piece of state: a PEM private key spans lines, so everything from its
``-----BEGIN … PRIVATE KEY-----`` to its ``-----END`` line is replaced, and a bare base64 line (a key's body when
the tail starts in the middle of one) is replaced too. Cookies (``Cookie:``/``Set-Cookie:`` headers) and session
ids (``sessionid=``, ``PHPSESSID=``, ``"session_id": …``) lose their values.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
MAX_LINE = 300
_SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth|cookie|sess(ion)?[_-]?(id|key))"
)
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PEM_INLINE = re.compile(r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----)(.*?)(-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)")
_BASE64_LINE = re.compile(r"^\s*[A-Za-z0-9+/]{40,}={0,2}\s*$")  # a PEM body line (64 characters of base64)
_PATTERNS = [
    _PEM_INLINE,  # a key on one line (a JSON log with \n escapes)
    re.compile(r"(?i)(\b(?:set-)?cookie[\"']?\s*[:=]\s*)(.+)"),  # the whole header value: every cookie in it
    re.compile(  # session ids: sessionid=, session_id:, PHPSESSID=, JSESSIONID=, connect.sid=, sid=
        r"(?i)((?<![\w.-])[\"']?(?:[\w.-]*sess(?:ion)?(?:[_.-]?(?:id|key|token))?|[\w.]*\.sid|sid)[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',;&]{3,})"
    ),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}"),  # JWT
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key id
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(
        r"(?i)((?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',;&]{3,})"
    ),
    re.compile(r"(?i)(://[^:/\s]+:)([^@/\s]{3,})(@)"),  # user:password@host
]


def _keep_around(match: re.Match[str]) -> str:
    """``password=`` + [redacted] (+ the ``@`` of user:password@host): keep what frames the secret."""
    return match.group(1) + REDACTED + (match.group(3) if (match.re.groups or 0) >= 3 else "")


def redact_text(line: str) -> str:
    for pat in _PATTERNS:
        line = pat.sub(_keep_around if pat.groups >= 2 else REDACTED, line)
    return line


def _redact_lines(lines: list[str]) -> list[str]:
    """:func:`redact_text` on each line, and every line of a PEM private key (begin to end) replaced."""
    out = []
    in_key = False
    for line in lines:
        if in_key:
            end = _PEM_END.search(line)
            if end is None:
                out.append(REDACTED + ("\n" if line.endswith("\n") else ""))
                continue
            in_key = False
            line = REDACTED + line[end.start() :]
        elif _BASE64_LINE.match(line):
            out.append(REDACTED + ("\n" if line.endswith("\n") else ""))
            continue
        line = redact_text(line)
        begin = _PEM_BEGIN.search(line)
        if begin is not None and not _PEM_END.search(line, begin.end()):
            in_key = True
            line = line[: begin.end()] + REDACTED + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return out


def clean_log_lines(text: str, *, max_line: int = MAX_LINE) -> list[str]:
    out = []
    for line in _redact_lines([raw.rstrip() for raw in text.splitlines()]):
        if len(line) > max_line:
            line = line[:max_line] + "…"
        out.append(line)
    return out


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def redact_log(text: str) -> str:
    """Log text with secret-looking tokens replaced, line by line (line breaks kept, nothing truncated)."""
    return "".join(_redact_lines(text.splitlines(keepends=True)))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """Where an object keeps its containers: a Pod's spec, a workload's template, a CronJob's job template."""
    spec = _dict(obj.get("spec"))
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = _dict(_dict(spec.get("jobTemplate")).get("spec"))
    return _dict(_dict(spec.get("template")).get("spec"))


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Make an object safe to show, in place: Secret data and stringData blanked, secret-looking literal env
    values replaced, kubectl's last-applied annotation (a full copy of what was applied) dropped.

    The adapters call this on every object they return, so no path above them sees a secret value.
    """
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    if obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                obj[key] = {k: REDACTED for k in obj[key]}
        return obj
    pod_spec = _pod_spec(obj)
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in _list(pod_spec.get(group)):
            for env in _list(container.get("env")) if isinstance(container, dict) else []:
                if isinstance(env, dict) and "value" in env and _SECRET_NAME.search(str(env.get("name", ""))):
                    env["value"] = REDACTED
    return obj
