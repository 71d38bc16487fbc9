"""Moved to :mod:`kubewhy.durations`: the settings parse durations too, and they sit below the audit package.
Re-exported here so that existing importers keep working; new code imports :mod:`kubewhy.durations`."""

from __future__ import annotations

from ..durations import parse_duration

__all__ = ["parse_duration"]
