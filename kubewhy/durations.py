"""``30d``, ``2h``, ``15m``, ``90s``, ``1w`` (and combinations like ``1h30m``) as timedeltas.

A leaf module (it imports nothing of kubewhy), so that the settings can read their durations with it: it was
``kubewhy.audit.durations``, which made the settings import the audit package that imports them. The watchers'
rules, mutes, ``kubewhy history --since`` and ``kubewhy db prune --older-than`` parse with it too."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    text = text.strip().lower()
    if not text or _PART.sub("", text):
        raise ValueError(f"invalid duration {text!r}: use e.g. 90s, 15m, 2h, 30d, 1w or 1h30m")
    total = timedelta()
    for number, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit]: float(number)})
    return total
