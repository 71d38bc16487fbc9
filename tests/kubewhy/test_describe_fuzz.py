"""Every ``kubectl describe`` fixture (kubectl 1.27–1.33 against the simulator, and the 1.19–1.26 layouts derived
from source), dressed the way pastes arrive and cut short at random places (fixed seed): the reader gives the
same objects and events, or for a cut the events before the cut, and never fails with anything but its one-line
:class:`DescribeError`."""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubewhy.adapters import describe

ROOT = Path(__file__).resolve().parents[1] / "realworld" / "describe"
# The same output often repeats across kubectl versions: each distinct text once, in a stable order.
TEXTS: dict[str, Path] = {}
for _path in sorted({*ROOT.glob("kubectl/**/*.txt"), *ROOT.glob("source/*/*.txt")}):
    TEXTS.setdefault(_path.read_text(encoding="utf-8"), _path)
SEED = 23


def _wrap(width: int) -> Callable[[str], str]:
    def wrap(text: str) -> str:
        out = []
        for line in text.split("\n"):
            while len(line) > width:
                out.append(line[:width])
                line = line[width:]
            out.append(line)
        return "\n".join(out)

    return wrap


def _slack(text: str) -> str:
    """What Slack's API hands a bot: ``&``, ``<`` and ``>`` escaped, URLs made links."""
    return re.sub(r"https?://[^\s\"]+", lambda m: f"<{m.group(0)}>", html.escape(text, quote=False))


MUTATIONS: dict[str, Callable[[str], str]] = {
    "quote": lambda t: "\n".join("> " + ln for ln in t.split("\n")),
    "fence-and-prompt": lambda t: "$ kubectl describe it\n```\n" + t + "```\n",
    "fence-inline": lambda t: "```" + t.rstrip("\n") + "```",
    "nbsp-smart-quotes": lambda t: re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", t.replace("  ", "\u00a0 ")),
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "wrap60": _wrap(60),
    "wrap80-quoted": lambda t: "\n".join("> " + ln for ln in _wrap(80)(t).split("\n")),
    "slack": _slack,
    "kubecolor": lambda t: re.sub(r"^(\s*)([A-Z][\w ]*:)", "\\1\x1b[33m\\2\x1b[0m", t, flags=re.M),
    "flattened": lambda t: "\n".join(ln.lstrip() for ln in t.split("\n")),  # copied from rendered Markdown
}


def _shape(objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a paste must keep: each object's kind, name, phase, conditions and container states, and each event's
    reason, count and message."""
    out = []
    for o in objects:
        status = o.get("status") or {}
        out.append(
            (o["kind"], o["metadata"].get("name"), o["metadata"].get("namespace"), o.get("reason"), o.get("count"))
            + ((" ".join(o["message"].split()),) if "message" in o else ())
            + (status.get("phase"), [(c.get("type"), c.get("status")) for c in status.get("conditions") or []])
            + (
                [
                    (c["name"], c.get("state"), c.get("lastState"), c.get("restartCount"))
                    for c in status.get("containerStatuses") or []
                ],
            )
        )
    return out


def _parse(text: str, what: str) -> list[dict[str, Any]] | None:
    """The objects, None for a DescribeError (a one-line message starting with a line number); anything else
    fails the test with the case that raised it."""
    try:
        return describe.parse(text)
    except describe.DescribeError as err:
        assert re.match(r"^\d+: \S", str(err)) and "\n" not in str(err), (what, str(err))
        return None
    except Exception as err:  # noqa: BLE001 - the point: no other exception may escape the reader
        raise AssertionError(f"{what}: {type(err).__name__}: {err}") from err


def test_there_are_fixtures_of_every_version() -> None:
    versions = {
        p.relative_to(ROOT).parts[1 if p.relative_to(ROOT).parts[0] == "kubectl" else 1] for p in TEXTS.values()
    }
    assert {f"1.{m}" for m in range(19, 34)} <= versions
    assert len(TEXTS) > 100


def test_every_dress_of_a_paste_reads_the_same() -> None:
    """Quoted, fenced (after a prompt line, or on the text's own lines), NBSP-padded with smart quotes, CRLF,
    hard-wrapped at 60 and (quoted) 80 columns, Slack-escaped, every line's indentation lost: the same objects,
    states and events as the plain text."""
    wrong = []
    for text, path in TEXTS.items():
        want = _shape(describe.parse(text))
        for name, mutate in MUTATIONS.items():
            got = _parse(mutate(text), f"{path} {name}")
            if got is None or _shape(got) != want:
                wrong.append(f"{path.relative_to(ROOT)} {name}")
    assert wrong == []


def test_several_describes_in_one_paste() -> None:
    """Describes of different kinds one after the other, separated by a blank line or a ``---`` line."""
    rng = random.Random(SEED)
    texts = list(TEXTS)
    for _ in range(40):
        a, b = rng.sample(texts, 2)
        want = _shape(describe.parse(a)) + _shape(describe.parse(b))
        for sep in ("\n", "\n---\n", "\n\n***\n\n"):
            got = _parse(a.rstrip("\n") + "\n" + sep + b, f"{TEXTS[a]} + {TEXTS[b]}")
            assert got is not None and _shape(got) == want, (TEXTS[a], TEXTS[b], sep)


def _event_rows(lines: list[str]) -> list[int]:
    """The line numbers of the first object's event rows."""
    header = next((i for i, ln in enumerate(lines) if ln.startswith("Events:")), None)
    if header is None:
        return []
    return [i for i in range(header + 1, len(lines)) if re.match(r"^\s+(Normal|Warning)\s", lines[i])]


def test_a_cut_paste_keeps_what_comes_before_the_cut() -> None:
    """Cut at a random line and column (three cuts per text, one of them inside the Events table when there is
    one): only a DescribeError may stop the reader, and every event row complete before the cut is read."""
    rng = random.Random(SEED)
    lost = []
    for text, path in TEXTS.items():
        lines = text.split("\n")
        rows = _event_rows(lines)
        whole = [o for o in describe.parse(text) if o["kind"] == "Event"]
        cuts = [rng.randrange(len(lines)) for _ in range(2)] + ([rng.choice(rows)] if rows else [])
        for at in cuts:
            col = rng.randrange(len(lines[at]) + 1)
            cut = "\n".join([*lines[:at], lines[at][:col]])
            got = _parse(cut, f"{path}:{at + 1}:{col}")
            complete = sum(1 for r in rows if r < at)
            if not complete:
                continue
            events = [o for o in got or [] if o["kind"] == "Event"]
            if _shape(events[:complete]) != _shape(whole[:complete]):
                lost.append(f"{path.relative_to(ROOT)}:{at + 1}:{col}")
    assert lost == []


def _said(objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (o["type"], o["reason"], o["count"], " ".join(o["message"].split())) for o in objects if o["kind"] == "Event"
    ]


def test_a_paste_without_its_head_keeps_its_events() -> None:
    """The first lines cut off (a paste that starts mid-describe, two cuts per text): only a DescribeError may stop
    the reader (for a text left empty), and the whole Events table is read when it is still there (about the
    placeholder object when the Name line went)."""
    rng = random.Random(SEED)
    lost = []
    for text, path in TEXTS.items():
        lines = text.split("\n")
        header = next((i for i, ln in enumerate(lines) if ln.startswith("Events:")), len(lines))
        whole = _said(describe.parse(text))
        for _ in range(2):
            at = rng.randrange(1, len(lines))
            got = _parse("\n".join(lines[at:]), f"{path} from line {at + 1}")
            if got is None:
                assert not "".join(lines[at:]).strip(), f"{path} from line {at + 1}"
            elif at <= header and _said(got) != whole:
                lost.append(f"{path.relative_to(ROOT)} from line {at + 1}")
    assert lost == []
