"""``:NAME`` opens any resource the API server serves, found by discovery (CRDs included, by plural, kind or short
name), with the columns the server prints for it (its Table format), live by WATCH of Tables; a category names its
resources; a custom resource's YAML is read by its path."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import TextArea

from kubesim.runner import RunningSim
from tests.tui.conftest import SIZE, until
from tests.tui.test_pilot import command, home_loaded, select
from tui.app import K8sTui
from tui.screens.listing import CategoryScreen, TableScreen
from tui.screens.text import TextScreen
from tui.screens.why import WhyScreen
from tui.tables import columns_of


def test_only_priority_zero_columns_and_a_namespace_first() -> None:
    table = {
        "columnDefinitions": [
            {"name": "Name", "priority": 0},
            {"name": "Images", "priority": 1},
            {"name": "Age", "priority": 0},
        ]
    }
    columns, kept = columns_of(table, namespaced=True)
    assert [c.title for c in columns] == ["NAMESPACE", "NAME", "AGE"] and kept == [0, 2] and columns[2].age


async def table_screen(pilot: Any, app: K8sTui, word: str) -> TableScreen:
    await command(pilot, word)
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, TableScreen) and app.screen.store.synced.is_set() and bool(app.screen.table.rows)
        ),
        f":{word} lists",
    )
    assert isinstance(app.screen, TableScreen)
    return app.screen


def send(sim: RunningSim, method: str, path: str, body: dict[str, Any]) -> None:
    """A write to the simulator (JSON, or a merge patch for PATCH) with the kubeconfig's token."""
    kind = "application/merge-patch+json" if method == "PATCH" else "application/json"
    request = urllib.request.Request(
        f"{sim.url}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": "Bearer kubesim", "Content-Type": kind},
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.parametrize("word", ["ds", "daemonsets", "DaemonSet"])
async def test_a_built_in_kind_by_any_name_with_the_servers_columns(
    workshop: RunningSim, make_app: Callable[..., K8sTui], word: str
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        screen = await table_screen(pilot, app, word)
        titles = [c.title for c in screen.table.columns]
        assert titles == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"] + [
            "NODE SELECTOR",
            "AGE",
        ], titles
        calico = next(r for r in screen.table.rows if r["name"] == "calico-node")
        assert calico["cells"][:4] == ("kube-system", "calico-node", 3, 3)


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wdg"],
            "categories": ["gadgets"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


async def test_a_crd_by_short_name_live_and_its_yaml(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        screen = await table_screen(pilot, app, "smon")  # ServiceMonitor, a CRD (monitoring.coreos.com)
        assert screen.title_text == "servicemonitors.monitoring.coreos.com"
        assert [c.title for c in screen.table.columns] == ["NAMESPACE", "NAME", "AGE"]
        names = {(r["ns"], r["name"]) for r in screen.table.rows}
        assert ("q9", "api") in names, names
        # a change arrives by WATCH (of Tables): the new label is filterable at once
        await asyncio.to_thread(
            send,
            workshop,
            "PATCH",
            "/apis/monitoring.coreos.com/v1/namespaces/q9/servicemonitors/api",
            {"metadata": {"labels": {"watched": "yes"}}},
        )
        await until(
            pilot,
            lambda: screen.store.items[("q9", "api")]["labels"].get("watched") == "yes",
            "the WATCH delivers the change",
        )


async def test_a_custom_resource_the_core_does_not_model(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    await asyncio.to_thread(send, workshop, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "q1"}}
    await asyncio.to_thread(send, workshop, "POST", "/apis/example.com/v1/namespaces/q1/widgets", widget)
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        screen = await table_screen(pilot, app, "wdg")
        assert screen.title_text == "widgets.example.com" and screen.table.rows[0]["name"] == "w1"
        await pilot.press("w")  # the core does not model Widget: said, no crash
        await pilot.press("ctrl+d")
        assert app.screen is screen
        await pilot.press("y")  # read by its resource path
        text = app.screen_stack[-1]
        assert isinstance(text, TextScreen)
        area = text.query_one("#text", TextArea)
        await until(pilot, lambda: "kind: Widget" in area.text, "the custom resource's YAML")
        await pilot.press("escape")
        await command(pilot, "nosuchkind")
        await pilot.pause()
        assert app.screen is screen
        await command(pilot, "gadgets")  # a category: the objects of its resources in one list
        await until(
            pilot,
            lambda: isinstance(app.screen, CategoryScreen) and bool(app.screen.table.rows),
            "the category's objects",
        )
        category = app.screen_stack[-1]
        assert isinstance(category, CategoryScreen)
        assert [r["cells"][:3] for r in category.table.rows] == [("widgets.example.com", "q1", "w1")]
        await pilot.press("y")  # the row's own kind: a custom resource, read by its path
        text = app.screen_stack[-1]
        assert isinstance(text, TextScreen)
        area = text.query_one("#text", TextArea)
        await until(pilot, lambda: "kind: Widget" in area.text, "the YAML from the category")


async def test_the_all_category_lists_workloads_pods_and_services(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        await home_loaded(pilot, app)
        await command(pilot, "all")
        await until(
            pilot,
            lambda: isinstance(app.screen, CategoryScreen) and app.screen.store.synced.is_set(),
            "the all category",
        )
        screen = app.screen
        assert isinstance(screen, CategoryScreen)
        cells = {r["cells"][:3] for r in screen.table.rows}
        assert {
            ("deployments.apps", "q1", "app"),
            ("pods", "q1", "app-7d4b9c6f5-x2x7k"),
            ("services", "q4", "web"),
        } <= (cells), sorted(cells)[:20]
        await select(pilot, screen.table, ("q1", "deployments.apps/app"))
        await pilot.press("w")  # why on the row's own kind
        assert isinstance(app.screen, WhyScreen) and app.screen.target.ref == "deploy/q1/app"
