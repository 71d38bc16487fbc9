"""``:overview`` (also ``:pulses``, k9s's name): the cluster's health by namespace — pods by health, workloads not
ready, the watchers' open incidents and warning events, one row per namespace, the most troubled first.

Every number is the core's (:mod:`kubewhy.overview`): each cached row carries its object's classification (the
projection calls :func:`kubewhy.overview.pod_health` and :func:`~kubewhy.overview.workload_problem`), and
:func:`kubewhy.overview.summarize` counts them; this screen lays the counts out. Live: a change in any of the caches
redraws it a fifth of a second later; the incidents are read from the ledger every 10 s.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import Static

from kubewhy import overview
from kubewhy.errors import KubewhyError
from kubewhy.watch.informer import Change

from ..data import Store
from ..markup import escape
from ..rows import Column
from ..widgets.table import VirtualTable
from .base import Base

WORKLOADS = ("Deployment", "StatefulSet", "Job")  # the workload kinds the TUI's caches hold
SHOWN_HEALTH = ("ok", "crashing", "pending", "evicted", "failed", "unready")
COLUMNS = (
    Column("NAMESPACE"),
    Column("PODS"),
    *(Column(state.upper()) for state in SHOWN_HEALTH),
    Column("WORKLOADS"),
    Column("NOT READY"),
    Column("INCIDENTS"),
    Column("WARNINGS"),
)
INCIDENTS_EVERY = 10.0  # seconds between reads of the ledger (the database, not the cluster)


def cells(ns: overview.NamespaceHealth) -> tuple[Any, ...]:
    return (
        ns.namespace,
        ns.pod_count,
        *(ns.pods[state] for state in SHOWN_HEALTH),
        ns.workloads,
        ns.workloads_not_ready,
        ns.incidents,
        ns.warnings,
    )


class OverviewScreen(Base):
    title_text = "overview: health by namespace"

    def __init__(self) -> None:
        super().__init__()
        self._redraw: Timer | None = None
        self.incident_subjects: list[str] = []
        self.incidents_note = ""
        self.summary: overview.Overview | None = None

    def body(self) -> ComposeResult:
        yield Static("", id="status")
        yield VirtualTable(COLUMNS, id="table")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#table", VirtualTable)

    def on_mount(self) -> None:
        session = self.tui.session
        self.stores: list[Store] = [session.store(k) for k in ("Pod", *WORKLOADS, "Event")]
        for store in self.stores:
            store.listeners.append(self._changed)
        self.table.empty_text = "loading …"
        self.focus_body(self.table)
        self._load()

    def on_unmount(self) -> None:
        for store in self.stores:
            if self._changed in store.listeners:
                store.listeners.remove(self._changed)

    @work(group="overview")
    async def _load(self) -> None:
        for store in self.stores:
            await store.synced.wait()
        self.redraw()
        await self.load_incidents()
        self.set_interval(INCIDENTS_EVERY, self._reload_incidents)

    @work(group="incidents", exclusive=True)
    async def _reload_incidents(self) -> None:
        await self.load_incidents()

    async def load_incidents(self) -> None:
        try:
            found = await self.tui.session.incidents()
        except KubewhyError as exc:
            self.incidents_note = f"the incident ledger could not be read: {exc}"
            found = []
        else:
            self.incidents_note = "" if found is not None else "no audit database: incidents are not counted"
        self.incident_subjects = [i.subject for i in found or []]
        self.redraw()

    def _changed(self, change: Change) -> None:
        if self._redraw is None:
            self._redraw = self.set_timer(0.2, self.redraw)

    def redraw(self) -> None:
        self._redraw = None
        if not all(store.synced.is_set() for store in self.stores):
            return
        pods, *workloads, events = self.stores
        self.summary = summary = overview.summarize(
            ((r["ns"], r["health"]) for r in pods.items.values()),
            ((r["ns"], r["problem"]) for store in workloads for r in store.items.values()),
            (r["ns"] for r in events.items.values() if r["warning"]),
            self.incident_subjects,
        )
        self.table.empty_text = "no namespaced objects"
        self.table.set_rows(
            [
                {
                    "ns": ns.namespace,
                    "name": ns.namespace,
                    "style": "red" if ns.troubled else "yellow" if ns.warnings else "",
                    "cells": cells(ns),
                }
                for ns in summary.namespaces
            ]
        )
        total = summary.total()
        bad = sum(1 for ns in summary.namespaces if ns.troubled)
        status = (
            f"{len(summary.namespaces)} namespaces, {bad} troubled · {total.pod_count} pods, "
            f"{total.pod_count - total.pods['ok'] - total.pods['completed']} not ok · "
            f"{total.workloads_not_ready} of {total.workloads} workloads not ready · "
            f"{total.incidents} open incidents ({summary.cluster_incidents} cluster-scoped) · "
            f"{total.warnings} warning events  (Enter: the namespace's pods)"
        )
        if self.incidents_note:
            status += f"  ·  {escape(self.incidents_note)}"
        self.query_one("#status", Static).update(status)

    def on_virtual_table_chosen(self, message: VirtualTable.Chosen) -> None:
        self.tui.run_command(f"ns {message.row['name']}")
        self.tui.run_command("pods")
