"""When each log line was written, as a kubelet knows it: for ``timestamps``, ``sinceSeconds`` and ``sinceTime``.

A scenario's log text carries no kubelet stamps, but most lines start with the application's own time (shifted
to now with the rest of the scenario). A line that starts with a recognisable time is stamped with it; a line
that does not (a stack trace, a bare message) gets the stamp of the line before it, and leading lines the
container's start time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_LEADING = re.compile(r"^\[?(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?")


def _parse(text: str) -> datetime | None:
    match = _LEADING.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, frac = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((frac or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time (``sinceTime``), or None."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def stamped(lines: list[str], started: str) -> list[tuple[datetime, str]]:
    """Each line with the time it was written."""
    current = parse_time(started) if started else None
    out = []
    for line in lines:
        current = _parse(line) or current or datetime.now(UTC)
        out.append((current, line))
    return out


def rfc3339_nano(ts: datetime) -> str:
    """The kubelet's stamp format: ``2024-06-14T09:58:42.611000000Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


__all__ = ["parse_time", "rfc3339_nano", "stamped"]
