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

from ..data import Store, first_page
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
PROBLEMS_TITLE = "[b]Problems[/b]  (pods' status at once, then the core's diagnosis)"
CHECKING = "checking …"  # a suspect's FINDINGS until its diagnosis ends
TROUBLE_TITLE = "[b]Troubled pods[/b]  (w: why · d: describe · l: logs · e: events)"
HOLD_PODS = 2.0  # seconds the pods' pages after the first wait at most for the incidents and the nodes
PROGRESS_EVERY = 0.25  # seconds between updates of the pods' loading progress


class HomeScreen(TargetScreen):
    title_text = "home"

    def __init__(self) -> None:
        super().__init__()
        self._redraw: Timer | None = None
        self.problems: dict[str, dict[str, Any]] = {}  # target ref → its row (a diagnosis found a problem)
        self.checked: dict[str, bool] = {}  # target ref → diagnosed (True) or could not be (False), this look
        self.suspects: dict[str, dict[str, Any]] = {}  # target ref → its row, from its pods' own status
        self.looked = (0, 0)  # objects diagnosed, of how many, in this look
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
        # the pods' LIST is the biggest (20 pages at 10,000 pods): its pages fill the problems in as they come
        # (each unwell pod's workload at once, marked "checking" until its diagnosis ends)
        self.pods: Store = session.store("Pod")
        self.pods.listeners.append(self._changed)
        # the rest of the pods' pages wait for the other parts home needs (the incidents' first read imports the
        # database's driver, the nodes are one LIST), at most HOLD_PODS: their parsing would share the loop
        self.others_in = asyncio.Event()
        if not first_page(self.pods).is_set() and hasattr(self.pods, "hold"):
            self.pods.hold = self.others_in
            self.set_timer(HOLD_PODS, self.others_in.set)
        for table in self.query(VirtualTable):
            table.empty_text = f"loading {LOADING[str(table.id)]} …"
        self.focus_body(self.query_one("#trouble", VirtualTable))
        self._progress: Timer | None = None
        if not self.pods.synced.is_set():
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
        self.others_in.set()  # the pods' LIST is shared: it must not wait for a home that is gone
        for store in (self.pods, self.nodes):
            if self._changed in store.listeners:
                store.listeners.remove(self._changed)

    @work(group="home")
    async def _load(self) -> None:
        """Each part of home draws as soon as what it needs has arrived, not when the slowest has: the nodes (one
        LIST of a few pages), the incidents (the database), the problems (each diagnosis as it ends, marked
        "n of N looked at"); the pods (the biggest LIST) say how far their LIST has come until it ends."""
        self.sweep()
        await self.load_incidents()
        await self.nodes.synced.wait()
        self.others_in.set()
        self.set_interval(INCIDENTS_EVERY, self._reload_incidents)
        self.set_interval(SWEEP_EVERY, self.sweep)

    @work(group="home-nodes")
    async def _load_nodes(self) -> None:
        await self.nodes.synced.wait()
        self.draw_nodes()
        self.set_heading(self.summary())

    @work(group="home-pods")
    async def _load_pods(self) -> None:
        await first_page(self.pods).wait()
        self.draw_suspects()
        await self.pods.synced.wait()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.redraw()

    def _pods_progress(self) -> None:
        """While the pods' first LIST is under way: how many pages have arrived (the counts and the troubled pods
        need every pod: a namespace's count from the first pages would be wrong, not partial)."""
        if self.pods.synced.is_set():
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
        """Diagnose the suspects (the workloads of unwell pods, from their status) first, then the objects of
        :data:`SWEEP_KINDS` (the core's playbooks); a row with a warning or critical finding shows it as its
        diagnosis ends. Suspects found in pages of pods that arrive meanwhile are diagnosed in a pass after."""
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
        targets = self._suspect_targets()
        refs = {t.ref for t in targets}
        targets += [t for t in (row_target(kind, r) for kind, r in rows) if t.ref not in refs]
        targets = targets[:SWEEP_MAX]
        table = self.query_one("#problems", VirtualTable)
        table.empty_text = f"looking over {len(targets)} objects …"
        self.checked = {}
        while targets:
            total = len(self.checked) + len(targets)
            self.looked = (len(self.checked), total)
            self._show_problems()
            async for target, report in session.sweep(targets, running=self.shown):
                bad = [f for f in (report.findings if report else ()) if f.severity in SEVERITY_ORDER]
                self.checked[target.ref] = report is not None
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
                self.looked = (len(self.checked), total)
                self._show_problems()
            # the suspects the pages of pods brought while this pass ran
            targets = [t for t in self._suspect_targets() if t.ref not in self.checked][:SWEEP_MAX]
        for ref in [r for r in self.problems if r not in self.checked]:  # gone since the last look
            del self.problems[ref]
        table.empty_text = f"no problems found in {len(self.checked)} objects"
        self.first_look.set()
        self._show_problems()

    def _suspect_targets(self) -> list[Target]:
        """The suspects' workloads, the worst first (critical before warning, then by name)."""
        found = sorted(self.suspects.values(), key=lambda r: (r["severity"], r["name"]))
        return [r["target"] for r in found]

    def draw_suspects(self) -> None:
        """The workloads of the pods whose own status says they are unwell (of the pods loaded so far), each
        its own row until a diagnosis of it ends."""
        namespace = self.tui.namespace
        found: dict[str, dict[str, Any]] = {}
        for r in list(self.pods.items.values()):
            why = r.get("suspect")
            if not why or (namespace is not None and r["ns"] != namespace):
                continue
            kind, name = r.get("owner") or ("Pod", r["name"])
            target = Target(kind, name, r["ns"] or None)
            row = found.get(target.ref)
            if row is None:
                crit = r["trouble"] in ("crashing", "evicted") or why in ("OOMKilled", "Error", "Failed")
                found[target.ref] = {
                    "ns": r["ns"],
                    "name": target.ref,
                    "style": "red" if crit else "yellow",
                    "severity": 0 if crit else 1,
                    "target": target,
                    "pods": 1,
                    "why": why,
                }
            else:
                row["pods"] += 1
        self.suspects = found
        self._show_problems()

    def _show_problems(self) -> None:
        """The problems found by diagnoses, and the suspects not diagnosed yet (marked "checking"), with the
        mark: how many rows, in how many of the pods (while their LIST is under way: "n of N loaded"), and how
        far the diagnoses have come."""
        with contextlib.suppress(NoMatches):  # the screen being taken down as the app quits
            table = self.query_one("#problems", VirtualTable)
            shown = dict(self.problems)
            for ref, r in self.suspects.items():
                if ref in shown:
                    continue
                checked = self.checked.get(ref)
                if checked:  # diagnosed: nothing the core calls a problem
                    continue
                pods = f"{r['pods']} pods: " if r["pods"] > 1 else ""
                findings = CHECKING if checked is None else "could not be diagnosed"
                severity = "critical" if r["severity"] == 0 else "warning"
                cells = (severity, ref, f"{pods}{r['why']}", findings)
                shown[ref] = {**r, "cells": cells}
            table.set_rows(sorted(shown.values(), key=lambda r: (r["severity"], r["name"])))
            self.query_one("#problems-title", Static).update(
                f"{PROBLEMS_TITLE}  ·  {self._problems_mark(len(shown))}", layout=False
            )

    def _problems_mark(self, found: int) -> str:
        """``3 problems in 500 of 10000 pods loaded · 0 of 12 looked at`` while the pods' LIST runs; then ``in
        all 10000 pods``; the diagnoses' part says how many objects were looked at."""
        pods = self.pods
        loaded = getattr(pods, "loaded", len(pods.items))
        total = getattr(pods, "total", None)
        if pods.synced.is_set():
            where = f"in all {len(pods.items)} pods"
        elif total is not None:
            where = f"in {loaded} of {total} pods loaded"
        else:
            where = f"in {loaded} pods loaded so far"
        done, of = self.looked
        looked = f"all {of} looked at" if of and done >= of else f"{done} of {of} looked at …"
        return f"{found} problems {where} · {looked}"

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
        if first_page(self.pods).is_set():
            self.draw_suspects()
        if self.pods.synced.is_set():
            self.draw_pods()
        self.set_heading(self.summary())

    def summary(self) -> str:
        """The heading's counts: of what has arrived (the pods' while their LIST is under way: "loading")."""
        nodes = self.nodes.items.values() if self.nodes.synced.is_set() else ()
        bad_nodes = sum(1 for r in nodes if r["problem"])
        node_part = f"{len(nodes)} nodes, {bad_nodes} not ready" if self.nodes.synced.is_set() else "nodes loading"
        if not self.pods.synced.is_set():
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
