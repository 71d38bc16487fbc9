"""k8stui driven key by key (Textual's Pilot) against the workshop cluster on the simulator, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Button, Log, OptionList, Static, TextArea

from kubesim.runner import RunningSim
from kubewhy.lifecycle import Action, AlreadyApplied
from tests.tui.conftest import SIZE, until
from tui.app import K8sTui
from tui.screens.audit import HistoryScreen, IncidentsScreen
from tui.screens.confirm import ConfirmFix
from tui.screens.error import ClusterError
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.listing import EventsScreen, ResourceScreen
from tui.screens.logs import LogsScreen
from tui.screens.text import TextScreen
from tui.screens.why import WhyScreen
from tui.widgets.table import VirtualTable

CRASHING = ("q1", "app-7d4b9c6f5-x2x7k")
SERVICE = ("q4", "web")  # the workshop's Service with a fix kubewhy can apply


def names(table: VirtualTable) -> list[tuple[str, str]]:
    return [(r["ns"], r["name"]) for r in table.rows]


async def command(pilot: Any, text: str) -> None:
    await pilot.press("colon")
    await typed(pilot, text)
    await pilot.press("enter")


async def typed(pilot: Any, keys: str) -> None:
    await pilot.press(*["space" if k == " " else "exclamation_mark" if k == "!" else k for k in keys])


async def home_loaded(pilot: Any, app: K8sTui) -> VirtualTable:
    await until(
        pilot,
        lambda: isinstance(app.screen, HomeScreen) and bool(app.screen.query_one("#trouble", VirtualTable).rows),
        "home lists the troubled pods",
    )
    return app.screen.query_one("#trouble", VirtualTable)


async def listed(pilot: Any, app: K8sTui, kind: str) -> ResourceScreen:
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, ResourceScreen)
            and app.screen.kind == kind
            and hasattr(app.screen, "store")  # mounted: its cache is attached
            and app.screen.store.synced.is_set()
            and bool(app.screen.table.rows)
        ),
        f"the {kind} list loads",
    )
    assert isinstance(app.screen, ResourceScreen)
    return app.screen


async def select(pilot: Any, table: VirtualTable, key: tuple[str, str]) -> None:
    table.move_to(names(table).index(key))
    await pilot.pause()


async def test_home_is_incident_first_with_the_workshop_problems(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        rows = {(r["ns"], r["name"]): r for r in trouble.rows}
        assert rows[CRASHING]["trouble"] == "crashing" and "CrashLoopBackOff" in rows[CRASHING]["cells"][3]
        assert rows[("q8", "writer-a-6f9c8d7b5-bq7ns")]["trouble"] == "pending"
        nodes = {r["name"]: r["cells"] for r in app.screen.query_one("#nodes", VirtualTable).rows}
        assert nodes["node-3"][1].startswith("NotReady") and nodes["node-1"][1] == "Ready"
        counts = {r["name"]: r["cells"] for r in app.screen.query_one("#namespaces", VirtualTable).rows}
        assert counts["q8"][1:] == (4, 0, 2, 0) and counts["q1"][2] == 1
        incidents = app.screen.query_one("#incidents", VirtualTable)
        await until(pilot, lambda: "no open incidents" in incidents.empty_text, "the ledger is read")
        # a watcher opens an incident in the ledger: home lists it (re-read every 10 s; here at once), w diagnoses
        ledger = await app.session.kubewhy.ledger()
        await ledger.open_incident(
            cluster="sim",
            rule="crash-loop",
            subject="pod/q1/app-7d4b9c6f5-x2x7k",
            severity="critical",
            title="app is crash-looping",
            channel=None,
        )
        home = app.screen
        assert isinstance(home, HomeScreen)
        await home.load_incidents()
        assert [r["cells"][1:4] for r in incidents.rows] == [
            ("critical", "pod/q1/app-7d4b9c6f5-x2x7k", "app is crash-looping")
        ]
        incidents.focus()
        await pilot.press("w")
        assert isinstance(app.screen, WhyScreen) and app.screen.target.ref == "pod/q1/app-7d4b9c6f5-x2x7k"
        await pilot.press("escape")
        trouble.focus()
        # an eviction arrives by the watch: the overview counts it without a new LIST
        lists = app.session.stores["Pod"].stats.lists  # type: ignore[attr-defined]
        await asyncio.to_thread(
            workshop.control,
            "apply",
            {
                "steps": [
                    {
                        "evict": {
                            "namespace": "q4",
                            "name": "client-5b8f7c6d94-bnfzt",
                            "message": "low on ephemeral-storage",
                        }
                    }
                ]
            },
        )
        await until(
            pilot,
            lambda: any(r["name"] == "client-5b8f7c6d94-bnfzt" and r["trouble"] == "evicted" for r in trouble.rows),
            "the evicted pod shows up",
        )
        assert app.session.stores["Pod"].stats.lists == lists  # type: ignore[attr-defined]
        # Enter on a namespace opens its pods
        ns_table = app.screen.query_one("#namespaces", VirtualTable)
        ns_table.focus()
        await select(pilot, ns_table, ("q8", "q8"))
        await pilot.press("enter")
        pods = await listed(pilot, app, "Pod")
        assert app.namespace == "q8" and {ns for ns, _ in names(pods.table)} == {"q8"}


async def test_lists_sort_and_filter(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        screen = await listed(pilot, app, "Pod")
        every = names(screen.table)
        assert CRASHING in every and len(every) == len(screen.store.items) > 20
        await pilot.press("slash")
        await typed(pilot, "crashloop")
        assert {n for _, n in names(screen.table)} == {"app-7d4b9c6f5-x2x7k", "uploader-6c5f8d9b47-2w4h8", "db-0"}
        await pilot.press("enter")  # the filter stays
        assert len(screen.table.rows) == 3 and "/crashloop" in str(screen.query_one("#status", Static).render())
        await pilot.press("slash", "ctrl+u")
        await typed(pilot, "!kube-system")
        assert screen.table.rows and all(ns != "kube-system" for ns, _ in names(screen.table))
        await pilot.press("ctrl+u")
        await typed(pilot, "-l app=writer-a")
        selected = {n for _, n in names(screen.table)}
        assert "writer-a-6f9c8d7b5-bq7ns" in selected and all(n.startswith("writer-a-") for n in selected)
        await pilot.press("ctrl+u")
        await typed(pilot, "-l app in (")
        assert not screen.table.rows and "label selector" in screen.filter.error
        await pilot.press("escape")  # cancels the filter
        assert len(screen.table.rows) == len(every)
        await pilot.press("s", "s", "s", "s", "s")  # sort by RESTARTS (column 4)
        restarts = [r["cells"][4] for r in screen.table.rows]
        assert restarts == sorted(restarts) and restarts[-1] > 0
        await pilot.press("S")
        assert [r["cells"][4] for r in screen.table.rows] == sorted(restarts, reverse=True)
        await pilot.click(VirtualTable, offset=(3, 0))  # a click on the NAMESPACE header sorts by it
        assert screen.sort_column == 0
        for word, kind, name in (
            ("nodes", "Node", "node-3"),
            ("deploy", "Deployment", "writer-b"),
            ("sts", "StatefulSet", "db"),
            ("svc", "Service", "web"),
            ("pvc", "PersistentVolumeClaim", "shared-data"),
            ("hpa", "HorizontalPodAutoscaler", "php-apache"),
        ):
            await command(pilot, word)
            shown = await listed(pilot, app, kind)
            assert name in {n for _, n in names(shown.table)}, word
        await pilot.press("colon")  # completion: → takes the suggested command
        await typed(pilot, "dep")
        await pilot.press("right", "enter")
        await listed(pilot, app, "Deployment")
        await pilot.click(VirtualTable, offset=(3, 3))  # a click on the third row selects it
        assert app.screen.query_one(VirtualTable).cursor == 2
        await command(pilot, "ns q5")
        await command(pilot, "pods")
        pods = await listed(pilot, app, "Pod")
        assert names(pods.table) == [("q5", "db-0")]
        await command(pilot, "nosuch")
        assert isinstance(app.screen, ResourceScreen)  # an unknown command changes nothing


async def test_why_shows_check_progress_causes_and_fixes(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        await select(pilot, trouble, CRASHING)
        await pilot.press("w")
        assert isinstance(app.screen, WhyScreen)
        why = app.screen
        await until(pilot, lambda: why.report is not None, "the diagnosis ends")
        assert why.report is not None
        progress = why.query_one("#progress", Log)
        assert progress.line_count == len(why.report.checks) > 5  # every check's result was printed
        assert any(" ok " in line for line in progress.lines)
        causes = str(why.query_one("#causes", Static).render())
        assert "1. CRITICAL" in causes and why.report.findings[0].title in causes and "OOMKilled" in causes
        assert "Prometheus not configured" in causes
        options = why.query_one("#fixes", OptionList)
        assert options.option_count == len(why.fixes) > 0
        await pilot.press("down", "c")
        assert app.clipboard == why.fixes[1][1].command
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def confirm_service_fix(pilot: Any, app: K8sTui) -> tuple[ConfirmFix, Action]:
    """``w`` on the workshop's broken Service, ``a`` on its first fix with a patch: the confirm dialog and its
    proposal, once the server-side dry run has been accepted (the object's UID read: the precondition)."""
    screen = await listed(pilot, app, "Service")
    await select(pilot, screen.table, SERVICE)
    await pilot.press("w")
    why = app.screen
    assert isinstance(why, WhyScreen)
    await until(pilot, lambda: why.report is not None, "the diagnosis ends")
    patched = [i for i, (_, fix) in enumerate(why.fixes) if fix.patch is not None]
    assert patched, "the workshop's Service has a fix kubewhy can apply"
    why.query_one("#fixes", OptionList).highlighted = patched[0]
    await pilot.press("a")
    confirm = app.screen
    assert isinstance(confirm, ConfirmFix)
    await until(pilot, lambda: confirm.dry_run_ok, "the dry run is accepted")
    assert confirm.action is not None and confirm.action.target_uid
    return confirm, confirm.action


def fix_events(entries: list[Any]) -> list[str]:
    """The fix lifecycle's records, oldest first: ``dry-run``, ``approved``, ``applied`` …"""
    return [e.summary.split(":", 1)[0] for e in reversed(entries) if e.kind == "fix_event"]


def shown(confirm: ConfirmFix, selector: str) -> str:
    return str(confirm.query_one(selector, Static).render())


async def test_apply_shows_identity_precondition_dry_run_and_applies_once(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="svc")
    async with app.run_test(size=SIZE) as pilot:
        confirm, action = await confirm_service_fix(pilot, app)
        assert "dry run accepted" in shown(confirm, "#dry-run")
        # whose credentials the patch goes with: the person's own kubeconfig identity, named
        assert action.acting_as.kind == "user" and "tester" in action.acting_as.name
        acting = shown(confirm, "#acting-as")
        assert action.acting_as.name in acting and "your own kubeconfig credentials" in acting
        # what is checked just before it is sent: the object is still the one the dry run saw
        precondition = shown(confirm, "#precondition")
        assert action.precondition in precondition and f"UID {action.target_uid}" in precondition
        confirm.action_apply()
        confirm.action_apply()  # a double press: the second reaches the lifecycle, which refuses it
        await until(pilot, lambda: isinstance(app.screen, WhyScreen), "the fix is applied")
        assert action.state == "applied" and action.approved_by == "tester"
        with pytest.raises(AlreadyApplied):  # and a later submit of the same proposal sends nothing either
            await app.session.kubewhy.apply(action)
        entries = await app.session.history()
        assert fix_events(entries) == ["dry-run", "approved", "applied"], [e.summary for e in entries]
        assert any(e.kind == "diagnosis" and e.source == "tui" and e.actor == "tester" for e in entries)


async def test_a_failed_precheck_shows_its_reason_and_applies_nothing(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop, start="svc")
    async with app.run_test(size=SIZE) as pilot:
        confirm, action = await confirm_service_fix(pilot, app)
        # between the dry run and the approval the Service is deleted and re-created: same name, another object
        await asyncio.to_thread(recreate, workshop, "services", *SERVICE)
        await pilot.press("y")
        await until(pilot, lambda: "pre-check failed" in shown(confirm, "#dry-run"), "the refused pre-check")
        assert "re-created" in shown(confirm, "#dry-run") and action.state == "declined"
        assert app.screen is confirm and "Close" in str(confirm.query_one("#cancel", Button).label)
        await pilot.press("n")
        assert isinstance(app.screen, WhyScreen)
        entries = await app.session.history()
        assert fix_events(entries) == ["dry-run", "declined"], [e.summary for e in entries]


async def test_cancel_declines_the_fix(workshop: RunningSim, make_app: Callable[..., K8sTui]) -> None:
    app = make_app(workshop, start="svc")
    async with app.run_test(size=SIZE) as pilot:
        _, action = await confirm_service_fix(pilot, app)
        await pilot.press("n")
        assert isinstance(app.screen, WhyScreen) and action.state == "declined"
        assert fix_events(await app.session.history()) == ["dry-run", "declined"]


def recreate(sim: RunningSim, resource: str, namespace: str, name: str) -> None:
    """Delete a namespaced object from the simulator and create it again under the same name (a new UID), over
    the Kubernetes API, as ``kubectl replace --force`` would."""
    path = f"{sim.url}/api/v1/namespaces/{namespace}/{resource}"

    def call(method: str, url: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer kubesim", "Content-Type": "application/json"}
        with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=10) as r:
            return json.loads(r.read())

    old = call("GET", f"{path}/{name}")
    call("DELETE", f"{path}/{name}")
    meta = {k: v for k, v in old["metadata"].items() if k in ("name", "namespace", "labels", "annotations")}
    spec = {k: v for k, v in old.get("spec", {}).items() if k not in ("clusterIP", "clusterIPs")}
    call("POST", path, {**old, "metadata": meta, "spec": spec, "status": {}})


async def test_detail_views_describe_yaml_logs_events_history_help(
    workshop: RunningSim, make_app: Callable[..., K8sTui]
) -> None:
    app = make_app(workshop)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        await select(pilot, trouble, CRASHING)
        await pilot.press("d")
        assert isinstance(app.screen, TextScreen)
        text = app.screen.query_one("#text", TextArea)
        await until(pilot, lambda: "Events:" in text.text, "describe")
        assert re.search(r"^Name:\s+app-7d4b9c6f5-x2x7k$", text.text, re.MULTILINE)
        assert "Restart Count:" in text.text
        await pilot.press("escape", "y")
        text = app.screen.query_one("#text", TextArea)
        await until(pilot, lambda: "kind: Pod" in text.text or "apiVersion" in text.text, "yaml")
        assert "name: app-7d4b9c6f5-x2x7k" in text.text
        await pilot.press("escape", "p")
        logs = app.screen
        assert isinstance(logs, LogsScreen) and logs.previous
        await until(pilot, lambda: bool(logs.ring), "previous logs")
        log = logs.query_one("#log", Log)
        shown = log.line_count
        await pilot.press("slash")
        await typed(pilot, "nosuchtextanywhere")
        assert log.line_count == 0 and len(logs.ring) == shown
        await pilot.press("escape", "escape", "l")
        current = app.screen
        assert isinstance(current, LogsScreen) and not current.previous
        await until(
            pilot,
            lambda: "following" in str(current.query_one("#log-state", Static).render()) and current.container == "app",
            "current logs, followed",
        )
        await pilot.press("f")
        assert not current.following
        await pilot.press("escape", "e")
        events = app.screen
        assert isinstance(events, EventsScreen)
        await until(pilot, lambda: bool(events.table.rows), "the pod's events")
        seen = [r["cells"][1] for r in events.table.rows]
        assert seen == sorted(seen, reverse=True)  # newest first, by the real last-seen time
        assert {r["involved"][2] for r in events.table.rows} == {CRASHING[1]}
        everything = len(events.table.rows)
        await pilot.press("W")
        assert 0 < len(events.table.rows) <= everything and all(r["warning"] for r in events.table.rows)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert ("W", "Warnings only") in app.screen.keys and ("w", "Why") in app.screen.keys
        await pilot.press("escape", "escape")
        await command(pilot, "history")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one("#table", VirtualTable)
        await until(pilot, lambda: bool(table.rows), "the history")
        actions = {r["cells"][5] for r in table.rows if r["cells"][1] == "action"}
        assert {"describe", "yaml", "show logs previous", "show events"} <= actions, actions
        assert all(r["cells"][4] == "pod/q1/app-7d4b9c6f5-x2x7k" for r in table.rows if r["cells"][1] == "action")
        await command(pilot, "incidents")
        assert isinstance(app.screen, IncidentsScreen)


async def test_unreachable_cluster_shows_context_reason_and_retry(
    tmp_path: Any, make_app: Callable[..., K8sTui]
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = tmp_path / "gone.kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
current-context: gone-cluster
clusters: [{{name: gone, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: me, user: {{token: abc}}}}]
contexts: [{{name: gone-cluster, context: {{cluster: gone, user: me}}}}]
""")

    app = make_app(kubeconfig=kubeconfig, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ClusterError), "the error screen")
        error = app.screen
        assert isinstance(error, ClusterError) and error.context == "gone-cluster"
        assert str(port) in error.endpoint and error.reason
        assert isinstance(app.screen_stack[1], HomeScreen)  # home at the bottom, the list asked for on top
        pods = app.screen_stack[2]
        assert isinstance(pods, ResourceScreen)  # behind it: loading, never "no pods"
        status = str(pods.query_one("#status", Static).render())
        assert status.startswith(f"Loading Pod from http://127.0.0.1:{port} (paged LIST")
        assert not pods.table.rows and pods.table.empty_text == ""
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ClusterError), "still unreachable after the retry")
        await pilot.press("q")
    assert app.return_value == 0


async def test_snapshot_is_browsed_and_diagnosed_offline(make_app: Callable[..., K8sTui]) -> None:
    from kubesim import load as load_scenario

    files = [str(p) for p in load_scenario("workshop/q01-app-crash").sources]
    app = make_app(snapshot=files)
    async with app.run_test(size=SIZE) as pilot:
        trouble = await home_loaded(pilot, app)
        assert app.context_name.startswith("snapshot ") and CRASHING in names(trouble)
        await select(pilot, trouble, CRASHING)
        await pilot.press("w")
        why = app.screen
        assert isinstance(why, WhyScreen)
        await until(pilot, lambda: why.report is not None, "the offline diagnosis")
        assert why.report is not None and why.report.findings[0].subject == "pod/q1/app-7d4b9c6f5-x2x7k"


async def test_ctx_switches_to_another_context(
    workshop: RunningSim, mini: RunningSim, tmp_path: Any, make_app: Callable[..., K8sTui]
) -> None:
    kubeconfig = tmp_path / "two.kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
current-context: workshop
clusters:
- {{name: w, cluster: {{server: "{workshop.url}"}}}}
- {{name: m, cluster: {{server: "{mini.url}"}}}}
users: [{{name: u, user: {{token: t}}}}]
contexts:
- {{name: workshop, context: {{cluster: w, user: u}}}}
- {{name: mini, context: {{cluster: m, user: u}}}}
""")
    app = make_app(kubeconfig=kubeconfig, start="pods")
    async with app.run_test(size=SIZE) as pilot:
        pods = await listed(pilot, app, "Pod")
        assert app.context_name == "workshop" and CRASHING in names(pods.table)
        assert app.completions()[-2:] == ["ctx workshop", "ctx mini"]
        await command(pilot, "ctx nosuch")
        assert app.context_name == "workshop"
        await command(pilot, "ctx mini")
        await until(
            pilot,
            lambda: (
                app.context_name == "mini"
                and isinstance(app.screen, ResourceScreen)
                and app.screen.store is app.session.stores.get("Pod")
                and bool(app.screen.table.rows)
            ),
            "the other cluster's pods",
        )
        pods = await listed(pilot, app, "Pod")
        assert ("default", "web-1") in names(pods.table) and CRASHING not in names(pods.table)
        assert "mini" in str(pods.query_one("#heading", Static).render())
        await pilot.press("ctrl+p")  # the command palette offers the same commands
        await typed(pilot, "nodes")
        from textual.command import CommandList

        await until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0, "the palette's matches")
        await pilot.press("enter")
        nodes = await listed(pilot, app, "Node")
        assert names(nodes.table) == [("", "node-1")]
