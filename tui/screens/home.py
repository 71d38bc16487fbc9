"""Home is incident-first: the watchers' open incidents, then what is wrong beyond pods (the core's diagnosis of
every workload, Service, HPA, volume claim and Job: Services without endpoints, HPAs unable to scale, stalled
rollouts, pending or full volumes, failing Jobs …), then the cluster at a glance (nodes with conditions and
pressure, per namespace the crashing, pending and evicted pods), then the troubled pods themselves.

Counts come from the same watch caches as the lists (the core classifies a pod's trouble); the problems from the
core's playbooks (:meth:`tui.data.Session.sweep`: no judgement of its own here); the incidents from the watchers'
ledger in the audit database, when there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Static

from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target, parse_target
from kubewhy.watch.informer import Change

from ..data import Store
from ..rows import Column
from ..widgets.table import VirtualTable
from .base import TargetScreen, row_target

LOADING = {
    "incidents": "incidents",
    "problems": "the objects to look over",
    "nodes": "nodes",
    "namespaces": "pods",
    "trouble": "pods",
}
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
PROBLEMS_TITLE = "[b]Problems[/b]  (the core's diagnosis of workloads, Services, HPAs, volumes, Jobs)"
TROUBLE_TITLE = "[b]Troubled pods[/b]  (w: why · d: describe · l: logs · e: events)"
PODS_AFTER = 3.0  # seconds the pods' LIST waits at most for the nodes, the looked-over kinds and a first problem
PROGRESS_EVERY = 0.25  # seconds between updates of the pods' loading progress


class HomeScreen(TargetScreen):
    title_text = "home"

    def __init__(self) -> None:
        super().__init__()
        self._redraw: Timer | None = None
        self.problems: dict[str, dict[str, Any]] = {}  # target ref → its row
        self.shown = asyncio.Event()  # set while home is the screen on top: its look over the cluster runs then
        self.first_look = asyncio.Event()  # the first problem found (or the look ended): the pods may come now

    def body(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static("[b]Open incidents[/b]", classes="section")
            yield VirtualTable(INCIDENT_COLUMNS, id="incidents")
            yield Static(PROBLEMS_TITLE, classes="section", id="problems-title")
            yield VirtualTable(PROBLEM_COLUMNS, id="problems")
            with Horizontal(id="overview"):
                with Vertical():
                    yield Static("[b]Nodes[/b]", classes="section")
                    yield VirtualTable(NODE_COLUMNS, id="nodes")
                with Vertical():
                    yield Static("[b]Namespaces[/b]", classes="section")
                    yield VirtualTable(NS_COLUMNS, id="namespaces")
            yield Static(TROUBLE_TITLE, classes="section", id="trouble-title")
            yield VirtualTable(TROUBLE_COLUMNS, id="trouble")

    def on_mount(self) -> None:
        session = self.tui.session
        self.nodes = session.store("Node")
        self.nodes.listeners.append(self._changed)
        # the pods' LIST is the biggest (20 pages at 10,000 pods): it starts once the nodes and the objects home
        # looks over have arrived, so those parts draw first (one already started by another screen is used now)
        self.pods: Store | None = session.stores.get("Pod")
        if self.pods is not None:
            self.pods.listeners.append(self._changed)
        for table in self.query(VirtualTable):
            table.empty_text = f"loading {LOADING[str(table.id)]} …"
        self.focus_body(self.query_one("#trouble", VirtualTable))
        self._progress: Timer | None = None
        if self.pods is None or not self.pods.synced.is_set():
            self._pods_progress()
            self._progress = self.set_interval(PROGRESS_EVERY, self._pods_progress)
        self._load()
        self._load_nodes()
        self._load_pods()

    def on_screen_resume(self) -> None:
        self.shown.set()

    def on_screen_suspend(self) -> None:
        self.shown.clear()

    def on_unmount(self) -> None:
        for store in (self.pods, self.nodes):
            if store is not None and self._changed in store.listeners:
                store.listeners.remove(self._changed)

    @work(group="home")
    async def _load(self) -> None:
        """Each part of home draws as soon as what it needs has arrived, not when the slowest has: the nodes (one
        LIST of a few pages), the incidents (the database), the problems (each diagnosis as it ends, marked
        "n of N looked at"); the pods (the biggest LIST) say how far their LIST has come until it ends."""
        self.sweep()
        await self.load_incidents()
        self.set_interval(INCIDENTS_EVERY, self._reload_incidents)
        self.set_interval(SWEEP_EVERY, self.sweep)

    @work(group="home-nodes")
    async def _load_nodes(self) -> None:
        await self.nodes.synced.wait()
        self.draw_nodes()
        self.set_heading(self.summary())

    @work(group="home-pods")
    async def _load_pods(self) -> None:
        if self.pods is None:
            session = self.tui.session
            first = [self.nodes, *(session.store(kind) for kind in SWEEP_KINDS)]
            waits = [*(s.synced.wait() for s in first), self.first_look.wait()]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), PODS_AFTER)
            self.pods = session.store("Pod")
            self.pods.listeners.append(self._changed)
        await self.pods.synced.wait()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.redraw()

    def _pods_progress(self) -> None:
        """While the pods' first LIST is under way: how many pages have arrived (the counts and the troubled pods
        need every pod: a namespace's count from the first pages would be wrong, not partial)."""
        if self.pods is not None and self.pods.synced.is_set():
            return
        stats = getattr(self.pods, "stats", None)
        pages = stats.lists if stats is not None else 0
        size = getattr(self.pods, "page_size", self.tui.session.page_size)
        text = f"loading pods: {pages} page(s) of {size} so far …"
        for name in ("namespaces", "trouble"):
            table = self.query_one(f"#{name}", VirtualTable)
            table.empty_text = text
            table.refresh()

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
        self._problems_progress(0, len(targets))
        async for target, report in session.sweep(targets, running=self.shown):
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
            if self.problems:
                self.first_look.set()
            self._show_problems(table)
            self._problems_progress(len(seen), len(targets))  # the mark counts the rows just shown
        for ref in [r for r in self.problems if r not in seen]:  # gone since the last look
            del self.problems[ref]
        table.empty_text = f"no problems found in {len(targets)} objects"
        self.first_look.set()
        self._show_problems(table)
        self._problems_progress(len(targets), len(targets))  # without those gone since the last look

    def _problems_progress(self, done: int, total: int) -> None:
        """The problems' mark: how many were found in how many of the objects looked over so far."""
        found = len(self.problems)
        if done < total:
            mark = f"{found} found in {done} of {total} looked at …"
        else:
            mark = f"{found} found in all {total} looked at"
        with contextlib.suppress(NoMatches):  # the screen being taken down as the app quits
            self.query_one("#problems-title", Static).update(f"{PROBLEMS_TITLE}  ·  {mark}", layout=False)

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
        if self.nodes.synced.is_set():
            self.draw_nodes()
        if self.pods is not None and self.pods.synced.is_set():
            self.draw_pods()
        self.set_heading(self.summary())

    def summary(self) -> str:
        """The heading's counts: of what has arrived (the pods' while their LIST is under way: "loading")."""
        nodes = self.nodes.items.values() if self.nodes.synced.is_set() else ()
        bad_nodes = sum(1 for r in nodes if r["problem"])
        node_part = f"{len(nodes)} nodes, {bad_nodes} not ready" if self.nodes.synced.is_set() else "nodes loading"
        if self.pods is None or not self.pods.synced.is_set():
            return f"pods loading · {node_part}"
        troubled = self.query_one("#trouble", VirtualTable).rows
        return f"{len(self.pods.items)} pods, {len(troubled)} troubled · {node_part}"

    def draw_nodes(self) -> None:
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

    def draw_pods(self) -> None:
        assert self.pods is not None
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
