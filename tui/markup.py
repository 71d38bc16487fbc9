"""Text from the cluster or the keyboard inside Textual markup.

``rich.markup.escape`` (and Textual's) only escape a ``[`` that looks like the start of a tag, so a lone ``[``
typed into ``/`` swallows the markup that follows it (``/[  ·  [yellow]…[/]`` is a MarkupError, issue 26). Here
every ``[`` is escaped. Textual's markup has no escape for a backslash itself, and one right before a tag would
escape the tag: a trailing backslash is followed by a zero-width space, which the terminal does not show.
"""

from __future__ import annotations

ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """``text`` as markup that renders as ``text``, whatever markup comes before or after it."""
    out = text.replace("[", "\\[")
    return out + ZERO_WIDTH_SPACE if out.endswith("\\") else out


__all__ = ["escape"]
