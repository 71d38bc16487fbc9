"""Home is incident-first: the watchers' open incidents, then what is wrong beyond pods (the core's diagnosis of
every workload, Service, HPA, volume claim and Job: Services without endpoints, HPAs unable to scale, stalled
rollouts, pending or full volumes, failing Jobs …), then the cluster at a glance (nodes with conditions and
pressure, per namespace the crashing, pending and evicted pods), then the troubled pods themselves.

Counts come from the same watch caches as the lists (the core classifies a pod's trouble); the problems from the
core's playbooks (:meth:`tui.data.Session.sweep`: no judgement of its own here); the incidents from the watchers'
ledger in the audit database, when there is one.
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
SWEEP_EVERY = 60.0  # seconds between looks over the cluster's objects for problems
SWEEP_KINDS = ("Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler", "PersistentVolumeClaim", "Job")
SWEEP_MAX = 400  # objects diagnosed per look (those whose row already looks unwell first)
PROBLEM_COLUMNS = (Column("SEVERITY"), Column("OBJECT"), Column("PROBLEM"), Column("FINDINGS"))
SEVERITY_ORDER = {"critical": 0, "warning": 1}
INCIDENT_COLUMNS = (Column("REF"), Column("SEVERITY"), Column("SUBJECT"), Column("TITLE"), Column("SINCE", age=True))
NODE_COLUMNS = (Column("NODE"), Column("STATUS"), Column("PRESSURE"))
NS_COLUMNS = (Column("NAMESPACE"), Column("PODS"), Column("CRASHING"), Column("PENDING"), Column("EVICTED"))
TROUBLE_COLUMNS = (Column("NAMESPACE"), Column("POD"), Column("TROUBLE"), Column("DETAIL"), Column("NODE"))


class HomeScreen(TargetScreen):
    title_text = "home"

    def __init__(self) -> None:
        super().__init__()
        self._redraw: Timer | None = None
        self.problems: dict[str, dict[str, Any]] = {}  # target ref → its row

    def body(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static("[b]Open incidents[/b]", classes="section")
            yield VirtualTable(INCIDENT_COLUMNS, id="incidents")
            yield Static(
                "[b]Problems[/b]  (the core's diagnosis of workloads, Services, HPAs, volumes, Jobs)", classes="section"
            )
            yield VirtualTable(PROBLEM_COLUMNS, id="problems")
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
        self.focus_body(self.query_one("#trouble", VirtualTable))
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
        self.sweep()
        await self.load_incidents()
        self.set_interval(INCIDENTS_EVERY, self._reload_incidents)
        self.set_interval(SWEEP_EVERY, self.sweep)

    @work(group="sweep", exclusive=True)
    async def sweep(self) -> None:
        """Diagnose the objects of :data:`SWEEP_KINDS` (the core's playbooks) and list those with a warning or
        critical finding; each row appears as its diagnosis ends."""
        session = self.tui.session
        stores = [session.store(kind) for kind in SWEEP_KINDS]
        for store in stores:
            await store.synced.wait()
        namespace = self.tui.namespace
        rows = [
            (kind, r)
            for kind, store in zip(SWEEP_KINDS, stores, strict=True)
            for r in store.items.values()
            if namespace is None or r["ns"] == namespace
        ]
        rows.sort(key=lambda kr: (not kr[1]["style"], kr[1]["ns"], kr[1]["name"]))
        targets = [row_target(kind, r) for kind, r in rows[:SWEEP_MAX]]
        table = self.query_one("#problems", VirtualTable)
        table.empty_text = f"looking over {len(targets)} objects …"
        seen: set[str] = set()
        async for target, report in session.sweep(targets):
            seen.add(target.ref)
            bad = [f for f in (report.findings if report else ()) if f.severity in SEVERITY_ORDER]
            if bad:
                top = bad[0]
                self.problems[target.ref] = {
                    "ns": target.namespace or "",
                    "name": target.ref,
                    "style": "red" if top.severity == "critical" else "yellow",
                    "severity": SEVERITY_ORDER[top.severity],
                    "cells": (top.severity, target.ref, top.title, ", ".join(dict.fromkeys(f.id for f in bad))),
                }
            else:
                self.problems.pop(target.ref, None)
            self._show_problems(table)
        for ref in [r for r in self.problems if r not in seen]:  # gone since the last look
            del self.problems[ref]
        table.empty_text = f"no problems found in {len(targets)} objects"
        self._show_problems(table)

    def _show_problems(self, table: VirtualTable) -> None:
        table.set_rows(sorted(self.problems.values(), key=lambda r: (r["severity"], r["name"])))

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
        elif self.tui.session.watchers_error:
            table.empty_text = f"the watchers stopped: {self.tui.session.watchers_error}"
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
        if focused.id == "problems":
            try:
                return parse_target(str(row["name"]))
            except KubewhyError:
                return None
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
