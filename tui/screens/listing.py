"""The lists (pods, nodes, deployments, statefulsets, services, PVCs, HPAs, events): live from the watch cache.

A change in the cache (the informer's listener) schedules one redraw a fifth of a second later, however many
changes arrive meanwhile; the table then draws only the rows on screen. Until the first LIST has answered the
screen says it is loading, never "no resources".
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import LoadingIndicator, Static

from kubewhy.adapters.ports import ApiResource
from kubewhy.kinds import BY_KIND
from kubewhy.models.target import Target
from kubewhy.watch.informer import Change

from .. import filtering, rows
from ..data import Store, first_page, loading_mark
from ..markup import escape
from ..rows import FUTURE_SLACK
from ..widgets.table import VirtualTable
from .base import TargetScreen, row_target

REDRAW_DELAY = 0.2  # seconds: changes arriving within it are drawn together
POOLS_KEPT = 64  # filter texts whose rows are kept (for erasing back to them) before the cache is dropped


class ResourceScreen(TargetScreen):
    MARKABLE = True  # space marks rows; the keys that change the cluster act on every marked row

    def __init__(self, kind: str, view: rows.KindView | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.view = view or rows.VIEWS[kind]
        self.title_text = kind
        self.plural = kind.lower() + ("" if kind.endswith("s") else "s")  # for "12 of 30 pods"
        self.filter = filtering.parse("")
        self.filter_text = ""
        self.sort_column: int | None = None
        self.sort_reverse = False
        self._redraw: Timer | None = None
        self._progress: Timer | None = None  # the loading status, while the first LIST is under way
        self.shown: list[Any] = []
        self.version = 0  # bumped by every change in the cache
        self._ordered: list[Any] = []
        self._ordered_key: tuple[Any, ...] = ()
        self._pool: tuple[tuple[Any, ...], dict[str, list[Any]]] = ((), {})  # required text → the rows holding it
        self._status_one_line = False  # the status line last drawn fitted on one line

    def body(self) -> ComposeResult:
        yield Static("", id="status")
        yield LoadingIndicator(id="loading")
        yield VirtualTable(self.view.columns, markable=self.MARKABLE, id="table")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#table", VirtualTable)

    def open_store(self) -> Store:
        """The live cache this list shows."""
        return self.tui.session.store(self.kind)

    def on_mount(self) -> None:
        self.store = self.open_store()
        self.store.listeners.append(self._changed)
        self.focus_body(self.table)
        if first_page(self.store).is_set():
            self.redraw()
        else:
            self._loading_progress()
            self._progress = self.set_interval(0.25, self._loading_progress)
        if not self.store.synced.is_set():
            self._wait_synced()

    def _loading_progress(self) -> None:
        """While the first LIST loads: how many pages have arrived (never "no resources" before it answered)."""
        if first_page(self.store).is_set():  # a tick already queued when the first page arrived
            return
        stats = getattr(self.store, "stats", None)
        size = getattr(self.store, "page_size", self.tui.session.page_size)  # events come in bigger pages
        pages = f": {stats.lists} page(s) of {size} so far" if stats and stats.lists else ""
        self.query_one("#status", Static).update(
            f"Loading {self.kind} from {escape(self.tui.session.endpoint)} (paged LIST{pages}) …"
        )

    def on_unmount(self) -> None:
        if self._changed in self.store.listeners:
            self.store.listeners.remove(self._changed)

    @work(group="synced")
    async def _wait_synced(self) -> None:
        """Draw the first page as soon as it is in, then the whole list when its LIST ends (the changes in
        between redraw it as they come, at most every :data:`REDRAW_DELAY`)."""
        await first_page(self.store).wait()
        self.redraw()
        await self.store.synced.wait()
        self.redraw()
        self.tui.settle()

    def _changed(self, change: Change) -> None:
        self.version += 1
        if self._redraw is None and first_page(self.store).is_set():
            self._redraw = self.set_timer(REDRAW_DELAY, self.redraw)

    def namespace(self) -> str | None:
        return self.tui.namespace

    def ordered(self) -> list[Any]:
        """The cache's rows of the namespace, sorted: kept until the cache or the order changes, so a filter
        keystroke only filters."""
        key = (self.version, len(self.store.items), self.sort_column, self.sort_reverse, self.namespace())
        if key != self._ordered_key:
            self._ordered = filtering.ordered(
                self.store.items.values(),
                sort_column=self.sort_column,
                reverse=self.sort_reverse,
                namespace=self.namespace(),
            )
            self._ordered_key = key
        return self._ordered

    def select(self) -> list[Any]:
        """Incremental: the rows holding each required text typed (the text every match must contain) are kept
        per text, so typing on searches the rows of the longest text it extends (fewer at each key) and erasing a
        character goes back to the rows kept for the shorter text, with no pass over the whole cache."""
        base = self.ordered()
        need = self.filter.required
        if not need:
            return filtering.narrow(base, self.filter)
        key, pools = self._pool
        if key != self._ordered_key or len(pools) > POOLS_KEPT:
            pools = {}
            self._pool = (self._ordered_key, pools)
        pool = pools.get(need)
        if pool is None:
            within = [p for text, p in pools.items() if text in need]
            pool = filtering.containing(min(within, key=len) if within else base, need)
            pools[need] = pool
        return pool if self.filter.literal else filtering.narrow(pool, self.filter)

    def redraw(self) -> None:
        """Filter and sort the cached rows and hand the result to the table (which draws the visible ones)."""
        self._redraw = None
        if not first_page(self.store).is_set():
            return
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.query_one("#loading").display = False
        self.shown = self.select()
        table = self.table
        table.sort_column, table.sort_reverse = self.sort_column, self.sort_reverse
        plural = self.plural
        table.empty_text = (
            f"No {plural}"
            + (f" matching /{self.filter.text}" if self.filter.text else "")
            + (f" in namespace {self.namespace()}" if self.namespace() else "")
        )
        table.set_rows(self.shown)
        status = f"{len(self.shown)} of {len(self.ordered())} {plural}"  # of the namespace shown
        if mark := loading_mark(self.store):  # the first LIST still under way: what is shown is its first pages
            status += f"  ·  {mark}"
        if self.filter.text:
            status += f"  ·  /{escape(self.filter.text)}"
        if self.filter.error:
            status += f"  ·  [yellow]{escape(self.filter.error)}[/]"
        if marked := len(table.marked_rows()):
            status += f"  ·  [b cyan]{marked} marked[/]"
        if self.store.error:
            status += f"  ·  [red]watch: {escape(self.store.error)}[/] (showing the last known state)"
        # a status that stays on one line needs no layout of the screen (a layout on every keystroke repaints
        # every widget, not just the two lines that changed)
        one_line = len(Text.from_markup(status).plain) < self.size.width - 2
        self.query_one("#status", Static).update(status, layout=not (one_line and self._status_one_line))
        self._status_one_line = one_line
        self.set_heading()

    def filter_changed(self, text: str, final: bool) -> None:
        self.filter_text = text
        self.filter = filtering.parse(text)
        self.redraw()

    def action_back(self) -> None:
        if self.filter_text:
            self.filter_changed("", True)
            return
        super().action_back()

    def action_sort(self, direction: int) -> None:
        if direction < 0:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % len(self.view.columns)
        self.redraw()

    def on_virtual_table_header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        if self.sort_column == message.column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = message.column, False
        self.redraw()

    def on_virtual_table_chosen(self, message: VirtualTable.Chosen) -> None:
        self.action_describe()

    def on_virtual_table_marks_changed(self, message: VirtualTable.MarksChanged) -> None:
        self.redraw()

    def marked(self) -> list[Target]:
        found = [self.target_of(row) for row in self.table.marked_rows()]
        return [t for t in found if t is not None]

    def clear_marks(self) -> None:
        self.table.action_clear_marks()

    def selected(self) -> Target | None:
        row = self.table.current
        return None if row is None else self.target_of(row)

    def target_of(self, row: Any) -> Target | None:
        """The object a row shows (an event's: the object it is about)."""
        if self.kind == "Event":
            kind, ns, name = row["involved"]
            return Target(kind=kind, name=name, namespace=ns or None) if kind and name else None
        return row_target(self.kind, row)


class EventsScreen(ResourceScreen):
    """Events, newest first by their real last-seen time; ``W`` shows warnings only. Opened with ``e`` on an
    object, it shows that object's events."""

    BINDINGS = [Binding("W", "warnings", "Warnings only")]
    MARKABLE = False  # an event row acts on the object it is about: no marking those for a batch

    def __init__(self, involved: Target | None = None) -> None:
        super().__init__("Event")
        self.involved = involved
        self.warnings_only = False
        self.sort_column, self.sort_reverse = 1, True  # LAST SEEN, newest first
        self._future_of: tuple[list[Any] | None, list[Any]] = (None, [])  # the order, and it with the future last
        if involved is not None:
            self.title_text = f"events of {involved.ref}"

    def on_mount(self) -> None:
        super().on_mount()
        if self.involved is not None:
            self.tui.session.record("show_events", self.involved)

    def namespace(self) -> str | None:
        return self.involved.namespace if self.involved is not None else self.tui.namespace

    def ordered(self) -> list[Any]:
        """Newest first, except events stamped in the future (a node's skewed clock): those go last, their age
        ``<invalid>`` as kubectl shows it, rather than first as "0s"."""
        rows = super().ordered()
        if self.sort_column != 1:
            return rows
        if self._future_of[0] is rows:  # kept while the cache is (a keystroke only filters: no pass over 50,000)
            return self._future_of[1]
        limit = self.tui.clock() + FUTURE_SLACK
        future = [r for r in rows if r["cells"][1] > limit]
        moved = [r for r in rows if r["cells"][1] <= limit] + future if future else rows
        self._future_of = (rows, moved)
        return moved

    def select(self) -> list[Any]:
        chosen = super().select()
        if self.involved is not None:
            want = (self.involved.kind, self.involved.namespace or "", self.involved.name)
            chosen = [r for r in chosen if r["involved"] == want]
        if self.warnings_only:
            chosen = [r for r in chosen if r["warning"]]
        return chosen

    def action_warnings(self) -> None:
        self.warnings_only = not self.warnings_only
        self.title_text = ("warning events" if self.warnings_only else "events") + (
            f" of {self.involved.ref}" if self.involved is not None else ""
        )
        self.redraw()


class TableScreen(ResourceScreen):
    """Any other resource the API server serves (``:ds``, ``:cm``, ``:ing``, ``:smon``, any CRD), with the columns
    the server prints for it (its Table format), live (:class:`tui.tables.TableStore`). Keys that need the core to
    model the kind (why, edit, delete …) say so on a custom resource; ``y`` and ``d`` read it by its path."""

    def __init__(self, resource: ApiResource) -> None:
        super().__init__(resource.kind, rows.KindView(resource.kind, resource.plural, (), lambda obj: obj))
        self.resource = resource
        self.title_text = resource.plural + (f".{resource.group}" if resource.group else "")
        self.plural = resource.plural

    def open_store(self) -> Store:
        return self.tui.session.table_store(self.resource)

    def redraw(self) -> None:
        columns = getattr(self.store, "columns", ())
        if columns and columns != self.view.columns:
            self.view = rows.KindView(self.kind, self.resource.plural, columns, self.view.project)
            self.table.set_columns(columns)
        super().redraw()

    def current_resource(self) -> ApiResource:
        """The resource of the row under the cursor."""
        return self.resource

    @property
    def modelled(self) -> bool:
        """Whether the core knows the kind (diagnoses, describes, edits it); a custom resource it does not."""
        return self.current_resource().kind in BY_KIND

    def _custom(self, what: str) -> bool:
        if self.modelled:
            return False
        kind = self.current_resource().kind
        self.notify(f"{what}: kubewhy does not model {kind} (a custom resource); y shows it", severity="warning")
        return True

    def action_yaml(self) -> None:
        if self.modelled:
            super().action_yaml()
        elif (target := self._target()) is not None:
            from .text import TextScreen

            self.tui.push_screen(TextScreen(target, "yaml", resource=self.current_resource()))

    def action_describe(self) -> None:
        if self.modelled:
            super().action_describe()
        else:
            self.action_yaml()

    def action_why(self) -> None:
        if not self._custom("why"):
            super().action_why()

    def action_edit(self) -> None:
        if not self._custom("edit"):
            super().action_edit()

    def action_delete(self) -> None:
        if not self._custom("delete"):
            super().action_delete()


class CategoryScreen(TableScreen):
    """A category (``:all``, a CRD's own): the objects of all its resources in one live list (``KIND``,
    ``NAMESPACE``, ``NAME``, ``AGE``), as ``kubectl get all``; every key acts on the row's own kind."""

    def __init__(self, name: str, resources: list[ApiResource]) -> None:
        from ..tables import CATEGORY_COLUMNS

        ResourceScreen.__init__(self, "*", rows.KindView("*", name, CATEGORY_COLUMNS, lambda obj: obj))
        self.category, self.resources = name, resources
        self.resource = resources[0]
        self.by_plural = {r.plural + (f".{r.group}" if r.group else ""): r for r in resources}
        self.title_text = f"{name} ({', '.join(sorted(r.plural for r in resources))})"
        self.plural = "objects"

    def open_store(self) -> Store:
        return self.tui.session.category_store(self.category, self.resources)

    def current_resource(self) -> ApiResource:
        row = self.table.current
        return self.by_plural.get(row["resource"], self.resource) if row is not None else self.resource

    def target_of(self, row: Any) -> Target | None:
        kind = self.by_plural.get(row["resource"], self.resource).kind
        return Target(kind=kind, name=row["object"], namespace=row["ns"] or None)
