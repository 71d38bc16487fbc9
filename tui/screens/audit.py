"""``:history`` (the audit log: who asked what, what kubewhy said, fixes) and ``:incidents`` (the watchers'
open incidents), read through the application (``Kubewhy.history``, ``Kubewhy.incidents``)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from kubewhy.errors import KubewhyError, UsageError
from kubewhy.models.target import Target, parse_target

from ..rows import Column
from ..widgets.table import VirtualTable
from .base import TargetScreen

HISTORY_COLUMNS = (
    Column("WHEN", age=True),
    Column("WHAT"),
    Column("ACTOR"),
    Column("SOURCE"),
    Column("TARGET"),
    Column("SUMMARY"),
)
INCIDENT_COLUMNS = (
    Column("REF"),
    Column("STATE"),
    Column("SEVERITY"),
    Column("SUBJECT"),
    Column("TITLE"),
    Column("COUNT"),
    Column("SINCE", age=True),
)


class HistoryScreen(TargetScreen):
    title_text = "history (last 24 h)"

    def body(self) -> ComposeResult:
        yield Static("", id="status")
        yield VirtualTable(HISTORY_COLUMNS, id="table")

    def on_mount(self) -> None:
        table = self.query_one("#table", VirtualTable)
        table.empty_text = "loading …"
        self.focus_body(table)
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        table = self.query_one("#table", VirtualTable)
        try:
            entries = await self.tui.session.history()
        except KubewhyError as exc:
            table.empty_text = f"the audit log could not be read: {exc}"
            table.set_rows([])
            return
        table.empty_text = "nothing recorded in the last 24 hours"
        table.set_rows(
            [
                {
                    "ns": str(i),
                    "name": e.target,
                    "style": "",
                    "cells": (e.at.timestamp(), e.kind, e.actor, e.source, e.target, e.summary),
                }
                for i, e in enumerate(entries)
            ]
        )
        self.query_one("#status", Static).update(f"{len(entries)} records")

    def selected(self) -> Target | None:
        row = self.query_one("#table", VirtualTable).current
        if row is None or not row["name"]:
            return None
        try:
            return parse_target(str(row["name"]))
        except UsageError:
            return None


class IncidentsScreen(HistoryScreen):
    title_text = "open incidents"

    def body(self) -> ComposeResult:
        yield Static("", id="status")
        yield VirtualTable(INCIDENT_COLUMNS, id="table")

    @work(exclusive=True)
    async def load(self) -> None:
        table = self.query_one("#table", VirtualTable)
        try:
            found = await self.tui.session.incidents()
        except KubewhyError as exc:
            table.empty_text = f"the incident ledger could not be read: {exc}"
            table.set_rows([])
            return
        table.empty_text = "no audit database" if found is None else "no open incidents"
        table.set_rows(
            [
                {
                    "ns": str(i.id),
                    "name": i.subject.split(":", 1)[0],
                    "style": "",
                    "cells": (i.ref, i.state, i.severity, i.subject, i.title, i.count, i.first_seen.timestamp()),
                }
                for i in found or []
            ]
        )
