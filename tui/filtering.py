"""The ``/`` filter and the column sort of every list: which cached rows are shown, in which order.

``/api`` is a case-insensitive regex over the row's text, ``/!api`` its inverse, ``/-l app=web,tier!=db`` a label
selector (the core's parser, :mod:`kubewhy.selectors`). A regex that does not compile is matched literally and a
bad selector is reported, never raised. Pure functions over plain rows: timed by the benchmark, tested alone.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubewhy import selectors

Row = Mapping[str, Any]


REGEX_CHARS = frozenset(".^$*+?{}[]\\|()")
QUANTIFIERS = frozenset("*+?{")


@dataclass(frozen=True)
class Filter:
    text: str
    test: Callable[[Row], bool] | None  # None: every row
    error: str = ""  # what was wrong with the text (the filter then selects by the literal text)
    rx: re.Pattern[str] | None = None  # a text search (rows' text is lower case): run inline by narrow()
    inverse: bool = False

    @property
    def literal(self) -> bool:
        """A plain substring search (no regex syntax, not inverse, not a selector)."""
        return bool(self.text) and not self.text.startswith(("!", "-l")) and not REGEX_CHARS & set(self.text)

    @property
    def required(self) -> str:
        """Text every matching row contains (lower case), "" when there is none to rely on: the whole word of a
        plain search, the literal start of a regex (``team-03.*crash`` → ``team-03``; a quantifier takes the
        character before it back: ``ab*`` → ``a``). None for an inverse, a selector or an alternation (``|``)."""
        if self.rx is None or self.inverse:
            return ""
        if self.error or self.literal:  # matched literally
            return self.text.lower()
        if "|" in self.text:
            return ""
        prefix: list[str] = []
        for ch in self.text:
            if ch in REGEX_CHARS:
                if ch in QUANTIFIERS and prefix:
                    prefix.pop()
                break
            prefix.append(ch)
        return "".join(prefix).lower()


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
        with warnings.catch_warnings():  # "possible nested set" and the like: not for a terminal UI's stderr
            warnings.simplefilter("ignore")
            rx = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        rx, error = re.compile(re.escape(pattern), re.IGNORECASE), f"not a regex ({exc}): matched literally"
    search = rx.search
    if inverse:
        return Filter(raw, lambda row: search(row["text"]) is None, error, rx, True)
    return Filter(raw, lambda row: search(row["text"]) is not None, error, rx)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order (mixed columns never compare str with int)."""
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def narrow(rows: list[Row], flt: Filter) -> list[Row]:
    """The rows passing the filter, in their order."""
    if flt.test is None:
        return rows
    if flt.literal:  # the common case, typed a word: a substring test, several times faster than a regex
        needle = flt.text.lower()
        return [r for r in rows if needle in r["text"]]
    if flt.rx is not None:
        search = flt.rx.search
        if flt.inverse:
            return [r for r in rows if not search(r["text"])]
        return [r for r in rows if search(r["text"])]
    test = flt.test
    return [r for r in rows if test(r)]


def containing(rows: list[Row], text: str) -> list[Row]:
    """The rows whose text contains ``text`` (lower case), in their order."""
    return [r for r in rows if text in r["text"]] if text else rows


def ordered(
    rows: Iterable[Row], *, sort_column: int | None = None, reverse: bool = False, namespace: str | None = None
) -> list[Row]:
    """The rows of ``namespace`` (None: all), sorted by a column (None: namespace then name)."""
    chosen = [r for r in rows if namespace is None or r["ns"] == namespace]
    if sort_column is None:
        chosen.sort(key=lambda r: (r["ns"], r["name"]), reverse=reverse)
    else:
        chosen.sort(key=lambda r: _sort_key(r["cells"][sort_column]), reverse=reverse)
    return chosen


def select(
    rows: Iterable[Row],
    flt: Filter,
    *,
    sort_column: int | None = None,
    reverse: bool = False,
    namespace: str | None = None,
) -> list[Row]:
    """The rows to show: in ``namespace``, passing the filter, sorted (:func:`ordered`, then :func:`narrow`)."""
    return narrow(ordered(rows, sort_column=sort_column, reverse=reverse, namespace=namespace), flt)
