"""A pasted ``kubectl describe`` text as kubectl printed it: what chat, Markdown and terminals do to a paste,
undone before it is read.

- Slack's message encoding: links it made of URLs (``<http://x:8080/healthz>``, ``<http://x|x>``; kubectl prints
  none), and ``&lt;``, ``&gt;``, ``&amp;`` when the text carries them (plain kubectl text has a bare ``<none>``).
- Code fences (```` ``` ````, ``~~~``, also on the same line as text or with a language tag), a line quoted as
  inline code, Markdown bold (``**…**``) and ``>`` quoting.
- Smart quotes, dashes, non-breaking and zero-width spaces, byte-order marks, tabs, Windows and old Mac line ends,
  terminal colours (``kubecolor``).
- Separators between several describes: a line of ``---`` (YAML documents) or ``***``/``___`` (Markdown rules).
- Lines a terminal or mail client hard-wrapped at a fixed width: when several lines are exactly as long as the
  longest, the paste was wrapped there, and a line of that length is joined with the next unless the next starts
  a row of its own (an event or condition row, a table header or rule; unless three lines or more end at the
  width and one goes on in a line that starts nothing, also a ``Key:`` or a sibling row at the same
  indentation). A long line is also joined with a next line at the left margin that is not a ``Key:``, since
  kubectl starts nothing else there (one wrapped event message).
"""

from __future__ import annotations

import re

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",
        "\ufeff": "",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]*)(?:\|([^>]*))?>")
_QUOTE = re.compile(r"^\s*>(?!=)\s?")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")  # Markdown bold (kubectl prints no "**")
_RULE = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
# A row that starts a line of its own in describe output, so a wrapped line is not joined with it.
_OWN_ROW = re.compile(
    r"^(?:\s*(?:Normal|Warning)\s{2,}\S"  # an event row
    r"|\s*Type\s+(?:Reason|Status)\b"  # a table header
    r"|\s*-{2,}(?:\s+-{2,})+\s*$"  # a table rule
    r"|\s*(?:Ready|ContainersReady|PodScheduled|Initialized|PodReadyToStartContainers|MemoryPressure|DiskPressure"
    r"|PIDPressure|NetworkUnavailable|Available|Progressing|ReplicaFailure|AbleToScale|ScalingActive"
    r"|ScalingLimited)\s+(?:True|False|Unknown)\b)"
)
_MIN_WRAP = 40
_KEY = re.compile(r"^[A-Z][A-Za-z0-9 ./()-]*:(?:\s|$)")


def normalise(text: str) -> str:
    """The paste without its chat and Markdown dress, hard wraps joined; a table cut mid-row keeps its cells."""
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)  # kubectl prints no <http://…>
    if re.search(r"&(?:lt|gt);", text):
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _ANSI.sub("", text)  # colours of kubecolor or a terminal log
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATE).replace("\t", "    ")
    lines = []
    for ln in text.split("\n"):
        while _QUOTE.match(ln):
            ln = _QUOTE.sub("", ln, count=1)
        stripped = ln.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            rest = stripped.strip("`~").strip()
            # A fence may open on the same line as the text (```Name: x) or be a language tag (```yaml).
            if ":" in rest or " " in rest:
                lines.append(rest)
            continue
        if stripped.endswith("```") or stripped.endswith("~~~"):
            ln = ln.rstrip()[:-3]  # a fence closing on the last line of the text
        elif len(stripped) > 2 and stripped[0] == stripped[-1] == "`":
            ln = ln.replace("`", "", 1)[::-1].replace("`", "", 1)[::-1]  # one line quoted as inline code
        ln = _BOLD.sub(r"\1", ln)
        if _RULE.match(ln):
            continue
        lines.append(ln)
    return "\n".join(ln.rstrip() for ln in unwrap(lines))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def unwrap(lines: list[str]) -> list[str]:
    """The lines with hard wraps joined back (see the module's notes); lines are taken as they came, trailing
    spaces included, since a wrap may fall inside kubectl's column padding."""
    width = max((len(ln) for ln in lines), default=0)
    at_width = sum(len(ln) == width for ln in lines)
    if width < _MIN_WRAP or at_width < 2:
        width = 0
    # Sure of the width: three lines or more end at it, and one of them goes on in a line that starts nothing
    # (rows of equal length, like a node's conditions, end at the longest length without being wrapped).
    sure = at_width >= 3 and any(
        len(a) == width and b.strip() and not _OWN_ROW.match(b) and not _KEY.match(b.lstrip())
        for a, b in zip(lines, lines[1:], strict=False)
    )
    out: list[str] = []
    for ln in lines:
        if out and len(out[-1]) >= _MIN_WRAP and _continues(out[-1], ln, width, strong=sure):
            out[-1] += ln
        else:
            out.append(ln)
    return out


def _continues(previous: str, line: str, width: int, strong: bool) -> bool:
    """Whether ``line`` is the rest of ``previous``: the paste was wrapped at ``width`` (0: no width seen) and
    ``previous`` filled it, or ``line`` sits at the left margin, where kubectl starts nothing but a ``Key:``."""
    if not line.strip() or _OWN_ROW.match(line):
        return False
    keyed = bool(_KEY.match(line.lstrip()))
    if width and len(previous) >= width and len(previous) % width == 0:
        if strong:  # the paste is surely wrapped: a line that fills the width goes on (even into "API: …")
            return not line.lstrip().startswith("Name:")
        # With two lines only at the width, a key or a row beside the wrapped one (same indentation) is not.
        head = previous[:width]
        if not keyed and not (_indent(line) == _indent(head) and _indent(head) > 0):
            return True
    long_line = len(previous) >= _MIN_WRAP and bool(previous[:1] == " " or _KEY.match(previous))
    return long_line and _indent(line) <= 1 and not keyed
