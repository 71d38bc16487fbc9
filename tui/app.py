"""The k8stui application: one :class:`~tui.data.Session` (the cluster's :class:`kubewhy.app.Kubewhy` and its
lists' caches), the main screens switched by ``:`` commands, detail screens pushed on top of them, and a watch on
the session's health that brings up the error screen."""

from __future__ import annotations

import asyncio
import gc
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SuspendNotSupported
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.screen import Screen

from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target
from kubewhy.redact import REDACTED

from . import actions, rows
from .data import CHANGES_SINCE, Session
from .host import Detail, Host
from .screens.audit import HistoryScreen, IncidentsScreen
from .screens.base import Base, TargetScreen
from .screens.confirm import ConfirmBatch, ConfirmFix
from .screens.error import ClusterError
from .screens.home import HomeScreen
from .screens.listing import CategoryScreen, EventsScreen, ResourceScreen, TableScreen
from .screens.logs import LogsScreen
from .screens.overview import OverviewScreen
from .screens.portforward import PortPrompt
from .screens.scale import ScalePrompt
from .screens.text import TextScreen
from .screens.why import WhyScreen

OVERVIEW_COMMANDS = ("overview", "pulses", "pulse", "pu")  # k9s calls its view "pulses" (alias pu)
HEALTH_EVERY = 1.0  # seconds between looks at the caches' error state (no request is made)


class K8sCommands(Provider):
    """The ``:`` commands in Textual's command palette (ctrl+p)."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, K8sTui)
        matcher = self.matcher(query)
        for command in app.palette_commands():
            score = matcher.match(command)
            if score > 0:
                yield Hit(score, matcher.highlight(command), partial(app.run_command, command), help=":" + command)


class K8sTui(Host):
    CSS_PATH = "k8stui.tcss"
    TITLE = "k8stui"
    COMMANDS = App.COMMANDS | {K8sCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True)]

    def __init__(self, session: Session, *, namespace: str | None = None, start: str = "home") -> None:
        super().__init__()
        self.session = session
        self.namespace = namespace
        self.start = start
        self.context_name = session.context
        self.error_shown = False
        self.opened = False

    def clock(self) -> float:
        """Now, for ages: the session's clock (a snapshot's is the time it was taken)."""
        return self.session.now()

    def settle(self) -> None:
        """A big LIST has landed in a cache: move what exists now out of the garbage collector's reach
        (``gc.freeze``). Tens of thousands of cached rows otherwise make every full collection walk them all,
        a pause of tens of milliseconds in the middle of a keystroke at 10,000 pods."""
        gc.freeze()

    # ---- start-up and health ---------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_interval(HEALTH_EVERY, self.check_health)
        self.open_session()

    @work(exclusive=True, group="session")
    async def open_session(self) -> None:
        try:
            await self.session.open()
        except KubewhyError as exc:
            self.show_error(str(exc))
            return
        self.opened = True
        self.context_name = self.session.context
        for warning in self.session.warnings:
            self.notify(warning, severity="warning", timeout=8)
        self.run_command(self.start)

    def check_health(self) -> None:
        if self.opened and not self.error_shown:
            reason = self.session.failure()
            if reason:
                self.show_error(reason)

    def show_error(self, reason: str) -> None:
        self.error_shown = True
        self.push_screen(
            ClusterError(self.context_name, self.session.endpoint or "not connected", reason),
            callback=self._after_error,
        )

    def _after_error(self, answer: str | None) -> None:
        self.error_shown = False
        if answer == "retry":
            self.retry()
        else:
            self.action_quit_app()

    @work(exclusive=True, group="session")
    async def retry(self) -> None:
        await self._to_base()
        await self.session.stop_watching()
        if not self.opened:
            self.open_session()
            return
        self.run_command(self.start)

    async def _to_base(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_quit_app(self) -> None:
        self.quit_app()

    @work(group="quit")
    async def quit_app(self) -> None:
        await self.session.close()
        self.exit(0)

    # ---- commands ----------------------------------------------------------------------------------------------
    def completions(self) -> list[str]:
        names = (
            sorted({r["ns"] for r in self.session.stores["Pod"].items.values()}) if "Pod" in self.session.stores else []
        )
        return [f"ns {n}" for n in names] + [f"ctx {c}" for c in self.session.contexts()]

    def palette_commands(self) -> Iterable[str]:
        yield from [
            "home",
            "incidents",
            "history",
            "overview",
            "pf",
            "changes",
            *(v.command for v in rows.VIEWS.values()),
            "ns all",
        ]
        yield from self.completions()

    def run_command(self, text: str) -> None:
        """A ``:`` command: a list, ``home``, ``incidents``, ``history``, ``ns NAME|all``, ``ctx NAME``, ``quit``."""
        word, _, arg = text.strip().partition(" ")
        word, arg = word.lower(), arg.strip()
        screen: Screen[Any]
        if word in ("q", "quit", "q!"):
            self.action_quit_app()
            return
        if word == "help":
            top = self.screen
            if isinstance(top, Base):
                top.action_help()
            return
        if word in ("ns", "namespace"):
            if arg in ("", "all", "-A", "*"):
                self.set_namespace(None)
            elif arg in self.known_namespaces():
                self.set_namespace(arg)
            else:
                self.check_namespace(arg)
            return
        if word in ("ctx", "context"):
            self.switch_context(arg)
            return
        if word in ("pf", "portforward", "port-forward"):
            self.forwards_command(arg)
            return
        if word == "changes":
            self.changes_command(arg)
            return
        if word == "home":
            screen = HomeScreen()
        elif word == "incidents":
            screen = IncidentsScreen()
        elif word == "history":
            screen = HistoryScreen()
        elif word in OVERVIEW_COMMANDS:
            screen = OverviewScreen()
        elif word in rows.BY_COMMAND:
            kind = rows.BY_COMMAND[word]
            screen = EventsScreen() if kind == "Event" else ResourceScreen(kind)
        else:
            self.open_resource(word, text)
            return
        self._show(screen)

    @work(group="resolve", exclusive=True)
    async def open_resource(self, word: str, text: str) -> None:
        """``:NAME`` for any resource the API server serves (discovery: plural, singular, kind, short name, CRDs
        included), listed with the server's columns; a category (``:all``) lists the objects of all its resources."""
        try:
            resource, category = await self.session.resolve(word)
        except KubewhyError as exc:
            self.notify(f"discovery failed: {exc}", severity="error")
            return
        if resource is not None:
            self._show(TableScreen(resource))
            return
        if category:
            self._show(CategoryScreen(word, category))
            return
        self.notify(f"unknown command or resource :{text} (? lists the commands)", severity="error")

    def known_namespaces(self) -> set[str]:
        """The namespaces the caches have seen objects in (no request)."""
        return {r["ns"] for store in self.session.stores.values() for r in store.items.values() if r["ns"]}

    @work(group="namespace", exclusive=True)
    async def check_namespace(self, name: str) -> None:
        """``:ns NAME`` for a namespace no cached object is in: asked of the cluster; one that does not exist is
        refused with the ones that do, never switched to silently."""
        try:
            found = await self.session.kubewhy.get(Target("Namespace", name, None))
        except KubewhyError:
            found = None
        if found is None:
            known = ", ".join(sorted(self.known_namespaces())) or "none seen yet"
            self.notify(f"no namespace {name!r} (namespaces: {known})", severity="error")
            return
        self.set_namespace(name)

    def set_namespace(self, name: str | None) -> None:
        self.namespace = name
        top = self.screen
        if isinstance(top, (HomeScreen, ResourceScreen)) and not (isinstance(top, EventsScreen) and top.involved):
            self.show_main(type(top), getattr(top, "kind", None))
        elif isinstance(self.screen_stack[-1], Base):
            self.notify(f"namespace: {name or 'all'} (applies to the lists)")

    def show_main(self, cls: type[Screen[Any]], kind: str | None) -> None:
        """Open a fresh main screen of the same sort (after a namespace change)."""
        if cls is EventsScreen:
            self._show(EventsScreen())
        elif isinstance(top := self.screen, CategoryScreen):
            self._show(CategoryScreen(top.category, top.resources))
        elif isinstance(top, TableScreen):
            self._show(TableScreen(top.resource))
        elif issubclass(cls, ResourceScreen) and kind:
            self._show(ResourceScreen(kind))
        else:
            self._show(cls())

    def open_detail(self, view: Detail, target: Target) -> None:
        screen: Screen[Any]
        if view == "why":
            screen = WhyScreen(target)
        elif view in ("describe", "yaml"):
            screen = TextScreen(target, view)
        elif view in ("logs", "previous-logs"):
            screen = LogsScreen(target, previous=view == "previous-logs")
        else:
            screen = EventsScreen(involved=target)
        self.push_screen(screen)

    # ---- keys that change the cluster ----------------------------------------------------------------------------
    async def scale(self, target: Target) -> None:
        obj = await self.session.kubewhy.get(target)
        if obj is None:
            self.notify(f"{target.ref} not found", severity="error")
            return
        current = (obj.get("spec") or {}).get("replicas")
        replicas = await self.push_screen_wait(ScalePrompt(target, current if isinstance(current, int) else None))
        if replicas is not None:
            self.push_screen(ConfirmFix(target, actions.ACTION_ID, actions.scale_fix(target, replicas)))

    def restart(self, target: Target) -> None:
        self.push_screen(ConfirmFix(target, actions.ACTION_ID, actions.restart_fix(target)))

    def delete(self, target: Target) -> None:
        self.push_screen(ConfirmFix(target, actions.ACTION_ID, actions.delete_fix(target)))

    # ---- the same on every marked row (space): one confirm naming every object, each its own lifecycle ---------
    async def scale_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        replicas = await self.push_screen_wait(ScalePrompt(targets[0], None, also=targets[1:]))
        if replicas is not None:
            fixes = [(t, actions.scale_fix(t, replicas)) for t in targets]
            self.push_screen(ConfirmBatch(f"Scale to {replicas} replicas", fixes), callback=done)

    def restart_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        fixes = [(t, actions.restart_fix(t)) for t in targets]
        self.push_screen(ConfirmBatch("Rollout restart", fixes), callback=done)

    def delete_many(self, targets: Sequence[Target], done: Callable[[bool | None], None]) -> None:
        fixes = [(t, actions.delete_fix(t)) for t in targets]
        self.push_screen(ConfirmBatch("Delete", fixes), callback=done)

    async def edit(self, target: Target) -> None:
        """The object (read unredacted, as the API server returns it) in ``$VISUAL``/``$EDITOR`` (the terminal is
        handed over with ``App.suspend``); the change is a merge patch, confirmed with its diff and dry run."""
        obj = await self.session.kubewhy.get(target)
        if obj is None:
            self.notify(f"{target.ref} not found", severity="error")
            return
        text = actions.edit_text(obj)
        with tempfile.TemporaryDirectory(prefix="k8stui-edit-") as tmp:
            path = Path(tmp) / f"{target.kind.lower()}-{target.name}.yaml"
            path.write_text(text)
            editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
            try:
                with self.suspend():
                    code = subprocess.call([*editor, str(path)])
            except SuspendNotSupported:  # no terminal to hand over (a test's headless driver)
                code = await asyncio.to_thread(subprocess.call, [*editor, str(path)])
            except OSError as exc:
                self.notify(f"the editor {editor[0]!r} did not start: {exc}", severity="error")
                return
            edited = path.read_text()
        if code != 0:
            self.notify(f"the editor exited with {code}: nothing applied", severity="warning")
            return
        try:
            fix = actions.edit_fix(target, obj, edited, (REDACTED,))
        except actions.EditError as exc:
            self.notify(str(exc), title="edit not applied", severity="error")
            return
        if fix is None:
            self.notify("no change: nothing to apply")
            return
        self.push_screen(ConfirmFix(target, actions.ACTION_ID, fix, diff=actions.diff_text(obj, edited)))

    async def port_forward(self, target: Target) -> None:
        """Ask for the ports (the pod's container ports offered), then forward in-process: each connection to the
        local port is a WebSocket to the pod's ``portforward`` subresource (the core's connection). ``:pf`` lists
        the forwards, ``:pf stop`` ends them; quitting ends them too."""
        if self.session.snapshot:
            self.notify("a snapshot has no pods to forward to", severity="warning")
            return
        pod = await self.session.kubewhy.get(target)
        if pod is None:
            self.notify(f"{target.ref} not found", severity="error")
            return
        declared = [
            int(p["containerPort"])
            for c in (pod.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or []
            if isinstance(p.get("containerPort"), int)
        ]
        ports = await self.push_screen_wait(PortPrompt(target, declared))
        if ports is None:
            return
        local, remote = ports
        try:
            forward = await self.session.port_forward(target, remote, local)
        except KubewhyError as exc:
            self.notify(str(exc), title="port-forward", severity="error")
            return
        self.notify(
            f"127.0.0.1:{forward.local_port} → {target.ref}:{remote}  (:pf lists, :pf stop ends)",
            title="port-forward",
            timeout=10,
        )

    def changes_command(self, arg: str) -> None:
        """``:changes [TARGET] [SINCE]``: the core's change timeline of TARGET (``deploy/q1/app``, ``pod/NAME -n
        NS``), or of the object selected on the screen, over the last SINCE (default 2h)."""
        from datetime import timedelta

        from kubewhy.durations import parse_duration
        from kubewhy.models.target import parse_target

        words = arg.split()
        since: timedelta | None = None
        if words and words[-1][:1].isdigit():
            try:
                since = parse_duration(words.pop())
            except ValueError as exc:
                self.notify(f":changes: {exc}", severity="error")
                return
        namespace = None
        if "-n" in words and words.index("-n") + 1 < len(words):
            at = words.index("-n")
            namespace = words[at + 1]
            del words[at : at + 2]
        target: Target | None
        if words:
            try:
                target = parse_target(" ".join(words), namespace, self.namespace or "default")
            except (KubewhyError, ValueError) as exc:
                self.notify(f":changes: {exc}", severity="error")
                return
        else:
            top = self.screen
            target = top.selected() if isinstance(top, TargetScreen) else getattr(top, "target", None)
            if target is None:
                self.notify(":changes TARGET [SINCE], e.g. :changes deploy/q1/app 2h (or select an object)")
                return
        self.push_screen(TextScreen(target, "changes", since=since or CHANGES_SINCE))

    @work(group="forwards")
    async def forwards_command(self, arg: str) -> None:
        if arg == "stop":
            count = await self.session.stop_forwarding()
            self.notify(f"{count} port-forward(s) stopped")
            return
        listed = [
            f"127.0.0.1:{f.local_port} → {t.ref}  ({f.connections} connection(s))"
            + (f"  last error: {f.errors[-1]}" if f.errors else "")
            for t, f in self.session.forwards
        ]
        self.notify("\n".join(listed) or "no port-forwards (F on a pod starts one)", title="port-forwards", timeout=10)

    async def shell(self, target: Target) -> None:
        """``kubectl exec -it … -- sh`` in the pod's container (the one that restarted most), the terminal handed
        over with ``App.suspend``: kubectl 1.30+ speaks the WebSocket protocol (``v5.channel.k8s.io``)."""
        kube = self.session.settings.kube
        if self.session.snapshot:
            self.notify("a snapshot has no containers to run a shell in", severity="warning")
            return
        container = await self.session.log_container(target)
        command = [os.environ.get("KUBECTL", "kubectl")]
        if kube.kubeconfig:
            command += ["--kubeconfig", kube.kubeconfig]
        if kube.context or self.session.contexts():
            command += ["--context", kube.context or self.session.context]
        command += ["exec", "-it", "-n", target.namespace or "default", target.name, "-c", container, "--", "sh"]
        self.session.record("exec_shell", target)
        try:
            with self.suspend():
                code = subprocess.call(command)
        except SuspendNotSupported:
            self.notify("no terminal to hand over to kubectl exec", severity="warning")
            return
        except OSError as exc:
            self.notify(f"kubectl did not start: {exc}", severity="error")
            return
        if code not in (0, 130):
            self.notify(f"kubectl exec ended with exit code {code}", severity="warning")

    def _show(self, screen: Screen[Any]) -> None:
        """Home is always at the bottom; a list opened by ``:`` goes on top of it (replacing another list), so
        Esc leads back to home."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(screen, HomeScreen):
            if len(self.screen_stack) < 2:
                self.push_screen(screen)
            else:
                self.switch_screen(screen)
            return
        if len(self.screen_stack) < 2:
            self.push_screen(HomeScreen())
        self.push_screen(screen)

    def switch_context(self, name: str) -> None:
        if not name:
            self.notify("contexts: " + (", ".join(self.session.contexts()) or "none in the kubeconfig"))
            return
        if name not in self.session.contexts():
            self.notify(f"no context {name!r} in the kubeconfig", severity="error")
            return
        self.change_session(self.session.with_context(name))

    @work(exclusive=True, group="session")
    async def change_session(self, session: Session) -> None:
        await self.session.close()
        self.session, self.opened = session, False
        self.context_name = session.context
        self.open_session()
