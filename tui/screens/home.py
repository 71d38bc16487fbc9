"""Home is incident-first: the watchers' open incidents, then the cluster at a glance (nodes with conditions and
pressure, per namespace the crashing, pending and evicted pods), then the troubled pods themselves.

Counts come from the same watch caches as the lists (the core classifies a pod's trouble); the incidents from
the watchers' ledger in the audit database, when there is one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Static

from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target, parse_target
from kubewhy.watch.informer import Change

from ..rows import Column
from ..widgets.table import VirtualTable
from .base import TargetScreen, row_target

INCIDENTS_EVERY = 10.0  # seconds between reads of the ledger (the database, not the cluster)
INCIDENT_COLUMNS = (Column("REF"), Column("SEVERITY"), Column("SUBJECT"), Column("TITLE"), Column("SINCE", age=True))
NODE_COLUMNS = (Column("NODE"), Column("STATUS"), Column("PRESSURE"))
NS_COLUMNS = (Column("NAMESPACE"), Column("PODS"), Column("CRASHING"), Column("PENDING"), Column("EVICTED"))
TROUBLE_COLUMNS = (Column("NAMESPACE"), Column("POD"), Column("TROUBLE"), Column("DETAIL"), Column("NODE"))


class HomeScreen(TargetScreen):
    title_text = "home"

    def __init__(self) -> None:
        super().__init__()
        self._redraw: Timer | None = None

    def body(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static("[b]Open incidents[/b]", classes="section")
            yield VirtualTable(INCIDENT_COLUMNS, id="incidents")
            with Horizontal(id="overview"):
                with Vertical():
                    yield Static("[b]Nodes[/b]", classes="section")
                    yield VirtualTable(NODE_COLUMNS, id="nodes")
                with Vertical():
                    yield Static("[b]Namespaces[/b]", classes="section")
                    yield VirtualTable(NS_COLUMNS, id="namespaces")
            yield Static("[b]Troubled pods[/b]  (w: why · d: describe · l: logs · e: events)", classes="section")
            yield VirtualTable(TROUBLE_COLUMNS, id="trouble")

    def on_mount(self) -> None:
        session = self.tui.session
        self.pods, self.nodes = session.store("Pod"), session.store("Node")
        for store in (self.pods, self.nodes):
            store.listeners.append(self._changed)
        for table in self.query(VirtualTable):
            table.empty_text = "loading …"
        self.query_one("#trouble", VirtualTable).focus()
        self._load()

    def on_unmount(self) -> None:
        for store in (self.pods, self.nodes):
            if self._changed in store.listeners:
                store.listeners.remove(self._changed)

    @work(group="home")
    async def _load(self) -> None:
        await self.pods.synced.wait()
        await self.nodes.synced.wait()
        self.redraw()
        await self.load_incidents()
        self.set_interval(INCIDENTS_EVERY, self._reload_incidents)

    @work(group="incidents", exclusive=True)
    async def _reload_incidents(self) -> None:
        """Incidents the watchers open while the screen is up appear without a key press."""
        await self.load_incidents()

    async def load_incidents(self) -> None:
        table = self.query_one("#incidents", VirtualTable)
        try:
            found = await self.tui.session.incidents()
        except KubewhyError as exc:
            table.empty_text = f"the incident ledger could not be read: {exc}"
            table.set_rows([])
            return
        if found is None:
            table.empty_text = "no audit database: incidents are not recorded"
            found = []
        else:
            table.empty_text = "no open incidents (the watchers, `kubewhy watch`, open them)"
        table.set_rows(
            [
                {
                    "ns": "",
                    "name": i.subject,
                    "style": "red" if i.severity == "critical" else "yellow",
                    "cells": (i.ref, i.severity, i.subject, i.title, i.first_seen.timestamp()),
                }
                for i in found
            ]
        )
        table.display = True

    def _changed(self, change: Change) -> None:
        if self._redraw is None:
            self._redraw = self.set_timer(0.2, self.redraw)

    def redraw(self) -> None:
        self._redraw = None
        if not (self.pods.synced.is_set() and self.nodes.synced.is_set()):
            return
        nodes = sorted(self.nodes.items.values(), key=lambda r: (not r["problem"] and not r["pressure"], r["name"]))
        self.query_one("#nodes", VirtualTable).set_rows(
            [
                {
                    "ns": "",
                    "name": r["name"],
                    "style": r["style"],
                    "cells": (r["name"], r["problem"] or "Ready", ",".join(r["pressure"]) or "-"),
                }
                for r in nodes
            ]
        )
        totals: Counter[str] = Counter()
        counts: dict[str, Counter[str]] = {}
        troubled: list[dict[str, Any]] = []
        namespace = self.tui.namespace
        for r in self.pods.items.values():
            totals[r["ns"]] += 1
            if r["trouble"]:
                counts.setdefault(r["ns"], Counter())[r["trouble"]] += 1
                if namespace is None or r["ns"] == namespace:
                    troubled.append(r)
        ns_rows = [
            {
                "ns": ns,
                "name": ns,
                "style": "red" if counts.get(ns) else "",
                "cells": (ns, totals[ns], *(counts.get(ns, Counter())[k] for k in ("crashing", "pending", "evicted"))),
            }
            for ns in sorted(totals, key=lambda n: (-sum(counts.get(n, Counter()).values()), n))
        ]
        self.query_one("#namespaces", VirtualTable).set_rows(ns_rows)
        order = {"crashing": 0, "evicted": 1, "pending": 2}
        troubled.sort(key=lambda r: (order.get(r["trouble"], 3), r["ns"], r["name"]))
        table = self.query_one("#trouble", VirtualTable)
        table.empty_text = "no crashing, pending or evicted pods"
        table.set_rows(
            [
                {
                    "ns": r["ns"],
                    "name": r["name"],
                    "style": r["style"],
                    "trouble": r["trouble"],
                    "cells": (r["ns"], r["name"], r["trouble"], r["detail"], r["node"]),
                }
                for r in troubled
            ]
        )
        bad_nodes = sum(1 for r in nodes if r["problem"])
        self.set_heading(
            f"{len(self.pods.items)} pods, {len(troubled)} troubled · {len(nodes)} nodes, {bad_nodes} not ready"
        )

    def selected(self) -> Target | None:
        focused = self.focused
        if not isinstance(focused, VirtualTable) or focused.current is None:
            return None
        row = focused.current
        if focused.id == "trouble":
            return row_target("Pod", row)
        if focused.id == "nodes":
            return row_target("Node", row)
        if focused.id == "incidents":
            try:
                return parse_target(str(row["name"]).split(":", 1)[0])
            except KubewhyError:
                return None
        return None

    def on_virtual_table_chosen(self, message: VirtualTable.Chosen) -> None:
        if message.table.id == "namespaces":
            self.tui.run_command(f"ns {message.row['name']}")
            self.tui.run_command("pods")
        elif message.table.id != "incidents":
            self.action_why()
