"""A table that draws only the rows on screen, so 10,000 pods cost what 40 do.

Textual's ``DataTable`` measures every cell of every row it is given (about a second for 10,000 pods before the
first paint). This one uses Textual's line API (``ScrollView.render_line``): the virtual height is the number of
rows, and each paint formats only the visible ones. Column widths come from the header and a sample of rows.
Keys move a cursor; a click selects a row, a double click opens it, a click on the header sorts. A table made
``markable`` keeps marks as k9s does: space marks or unmarks the row, ctrl+space marks the rows between the nearest
mark and the cursor, ctrl+\\ clears the marks; marked rows are drawn bold in cyan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..rows import Column, age

Row = Mapping[str, Any]
SAMPLE = 100  # rows measured for the column widths (from the top and around the cursor)
MAX_WIDTH = 48  # a column wider than this is cut (the last one is not)
MARKED = Style(color="cyan", bold=True)  # a marked row (k9s draws its marks in a colour of their own)


def cell_text(column: Column, value: Any, now: float | None = None) -> str:
    if column.age:
        return age(value, now)
    return str(value)


class VirtualTable(ScrollView, can_focus=True):
    """Rows are mappings with ``cells`` (raw values, one per column), ``style`` and ``ns``/``name`` (the key)."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("ctrl+b", "page(-1)", "Page up", show=False),
        Binding("space", "space", "Mark", show=False),
        Binding("ctrl+space,ctrl+@", "mark_range", "Mark range", show=False),
        Binding("ctrl+backslash", "clear_marks", "Clear marks", show=False),
        Binding("home,g", "edge(0)", "Top", show=False),
        Binding("end,G", "edge(1)", "Bottom", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]
    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    """

    class Chosen(Message):
        """Enter or a double click on a row."""

        def __init__(self, table: VirtualTable, row: Row) -> None:
            super().__init__()
            self.table, self.row = table, row

    class MarksChanged(Message):
        """A row was marked or unmarked, or the marks were cleared."""

        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

    class HeaderClicked(Message):
        def __init__(self, table: VirtualTable, column: int) -> None:
            super().__init__()
            self.table, self.column = table, column

    def __init__(
        self,
        columns: Sequence[Column] = (),
        *,
        markable: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(id=id, classes=classes)
        self.markable = markable  # space marks rows (else it pages down)
        self.marks: set[tuple[str, str, str]] = set()
        self.columns: tuple[Column, ...] = tuple(columns)
        self.rows: Sequence[Row] = []
        self.cursor = 0
        self.widths: list[int] = [len(c.title) for c in self.columns]
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.empty_text = ""
        self.now: Callable[[], float] = time.time  # ages are counted from this clock (a snapshot's own time)

    def on_mount(self) -> None:
        clock = getattr(self.app, "clock", None)
        if callable(clock):
            self.now = clock

    # ---- data ---------------------------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.widths = [len(c.title) for c in self.columns]

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows`` (already filtered and sorted), keeping the cursor on the same object when it is there."""
        current = self.current
        self.rows = rows
        if current is not None:
            self.cursor = self._index_of(current, self.cursor)
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self._measure()
        self.virtual_size = Size(sum(self.widths) + 2 * len(self.widths), len(rows) + 1)
        self._keep_cursor_visible()
        self.refresh()

    def _index_of(self, row: Row, default: int) -> int:
        """Where ``row`` (or, after a change replaced it, the row with its key) is now."""
        # one pass: the same object (by identity: ``list.index`` compares every other row's contents, a dict
        # equality each, 50,000 of them on a filter keystroke that hid the row), else the row with its key
        ns, name = row["ns"], row["name"]
        keyed = -1
        for i, r in enumerate(self.rows):
            if r is row:
                return i
            if keyed < 0 and r["name"] == name and r["ns"] == ns:
                keyed = i
        return keyed if keyed >= 0 else default

    def _measure(self) -> None:
        widths = [len(c.title) + 2 * (i == self.sort_column) for i, c in enumerate(self.columns)]  # room for ▲
        start = max(0, self.cursor - SAMPLE // 2)
        measured = [i for i, c in enumerate(self.columns) if not c.age]  # an age is at most 4 characters
        for i, c in enumerate(self.columns):
            if c.age:
                widths[i] = max(widths[i], 4)
        for row in [*self.rows[:SAMPLE], *self.rows[start : start + SAMPLE]]:
            cells = row["cells"]
            for i in measured:
                widths[i] = max(widths[i], len(str(cells[i])))
        self.widths = [min(w, MAX_WIDTH) if i < len(widths) - 1 else w for i, w in enumerate(widths)]

    # ---- marks ------------------------------------------------------------------------------------------------
    @staticmethod
    def mark_key(row: Row) -> tuple[str, str, str]:
        """What a mark is kept by: the row's resource (a category lists several), namespace and name, so a mark
        stays on its object as the rows are re-sorted, filtered or changed by the watch."""
        return (str(row.get("resource") or ""), str(row["ns"]), str(row["name"]))

    def is_marked(self, row: Row) -> bool:
        return bool(self.marks) and self.mark_key(row) in self.marks

    def marked_rows(self) -> list[Row]:
        """The marked rows among those shown (a mark hidden by the filter is kept, and not acted on)."""
        return [r for r in self.rows if self.mark_key(r) in self.marks] if self.marks else []

    def action_space(self) -> None:
        if self.markable:
            self.action_toggle_mark()
        else:
            self.action_page(1)

    def action_toggle_mark(self) -> None:
        row = self.current
        if row is None:
            return
        key = self.mark_key(row)
        if key in self.marks:
            self.marks.discard(key)
        else:
            self.marks.add(key)
        self._marks_changed()

    def action_mark_range(self) -> None:
        """Mark the rows from the nearest marked row above the cursor (else below it) to the cursor, as k9s."""
        if not self.markable or self.current is None:
            return
        above = [i for i in range(self.cursor - 1, -1, -1) if self.is_marked(self.rows[i])]
        below = [i for i in range(self.cursor + 1, len(self.rows)) if self.is_marked(self.rows[i])]
        if above:
            span = range(above[0], self.cursor + 1)
        elif below:
            span = range(self.cursor, below[0] + 1)
        else:
            span = range(self.cursor, self.cursor + 1)
        self.marks.update(self.mark_key(self.rows[i]) for i in span)
        self._marks_changed()

    def action_clear_marks(self) -> None:
        if self.marks:
            self.marks.clear()
            self._marks_changed()

    def _marks_changed(self) -> None:
        self.refresh()
        self.post_message(self.MarksChanged(self))

    @property
    def current(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_key(self) -> tuple[str, str] | None:
        row = self.current
        return (row["ns"], row["name"]) if row is not None else None

    # ---- drawing --------------------------------------------------------------------------------------------
    def _line(self, cells: Sequence[str]) -> str:
        parts = []
        for i, (text, width) in enumerate(zip(cells, self.widths, strict=False)):
            if i < len(self.widths) - 1:
                parts.append(text[:width].ljust(width))
            else:
                parts.append(text)
        return "  ".join(parts)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            titles = [
                c.title + (" ▼" if self.sort_reverse else " ▲") * (i == self.sort_column)
                for i, c in enumerate(self.columns)
            ]
            strip = Strip([Segment(self._line(titles), base + Style(bold=True, underline=True))])
            return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            if index == 0 and self.empty_text:
                return Strip([Segment(self.empty_text, base + Style(italic=True))]).crop(0, width)
            return Strip.blank(width, base)
        row = self.rows[index]
        now = self.now()
        text = self._line([cell_text(c, v, now) for c, v in zip(self.columns, row["cells"], strict=False)])
        style = base + Style.parse(row.get("style") or "none")
        if self.is_marked(row):
            style += MARKED
        if index == self.cursor:
            style += Style(reverse=True, bold=self.has_focus)
        return Strip([Segment(text, style)]).crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    # ---- moving -----------------------------------------------------------------------------------------------
    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _keep_cursor_visible(self) -> None:
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self._page:
            self.scroll_to(y=self.cursor - self._page + 1, animate=False, immediate=True)

    def move_to(self, index: int) -> None:
        self.cursor = max(0, min(index, len(self.rows) - 1))
        self._keep_cursor_visible()
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self._page)

    def action_edge(self, end: int) -> None:
        self.move_to(len(self.rows) - 1 if end else 0)

    def action_choose(self) -> None:
        if self.current is not None:
            self.post_message(self.Chosen(self, self.current))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x, edge = offset.x + int(self.scroll_offset.x), 0
            for i, width in enumerate(self.widths):
                edge += width + 2
                if x < edge:
                    self.post_message(self.HeaderClicked(self, i))
                    return
            return
        self.move_to(int(self.scroll_offset.y) + offset.y - 1)
        if event.chain >= 2:
            self.action_choose()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
