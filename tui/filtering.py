"""The ``/`` filter and the column sort of every list: which cached rows are shown, in which order.

``/api`` is a case-insensitive regex over the row's text, ``/!api`` its inverse, ``/-l app=web,tier!=db`` a label
selector (the core's parser, :mod:`kubewhy.selectors`). A regex that does not compile is matched literally and a
bad selector is reported, never raised. Pure functions over plain rows: timed by the benchmark, tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubewhy import selectors

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Filter:
    text: str
    test: Callable[[Row], bool] | None  # None: every row
    error: str = ""  # what was wrong with the text (the filter then selects by the literal text)


def parse(text: str) -> Filter:
    raw = text.strip()
    if not raw:
        return Filter("", None)
    if raw.startswith("-l"):
        selector = raw[2:].strip()
        try:
            reqs = selectors.parse(selector)
        except selectors.SelectorError as exc:
            return Filter(raw, lambda row: False, f"label selector: {exc}")
        return Filter(raw, lambda row: all(r.matches(row["labels"]) for r in reqs))
    inverse = raw.startswith("!")
    pattern = raw[1:] if inverse else raw
    error = ""
    try:
        rx = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        rx, error = re.compile(re.escape(pattern), re.IGNORECASE), f"not a regex ({exc}): matched literally"
    search = rx.search
    if inverse:
        return Filter(raw, lambda row: search(row["text"]) is None, error)
    return Filter(raw, lambda row: search(row["text"]) is not None, error)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order (mixed columns never compare str with int)."""
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def select(rows: Iterable[Row], flt: Filter, *, sort_column: int | None = None, reverse: bool = False,
           namespace: str | None = None) -> list[Row]:
    """The rows to show: in ``namespace`` (None: all), passing the filter, sorted by a column (None: namespace
    then name)."""
    chosen = [r for r in rows if namespace is None or r["ns"] == namespace]
    if flt.test is not None:
        test = flt.test
        chosen = [r for r in chosen if test(r)]
    if sort_column is None:
        chosen.sort(key=lambda r: (r["ns"], r["name"]), reverse=reverse)
    else:
        chosen.sort(key=lambda r: _sort_key(r["cells"][sort_column]), reverse=reverse)
    return chosen
