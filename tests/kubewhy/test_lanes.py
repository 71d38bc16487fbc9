"""Background diagnoses yield to people (kubewhy/lanes.py): a person's diagnosis never waits behind the watchers'
start-up storm; background work runs a few at a time, most severe first; a cancelled waiter gives its place back.

Deterministic: the gate is driven step by step on the event loop (no clock), and the application's diagnoses run
against the simulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from kubesim.runner import RunningSim
from kubewhy.app import Kubewhy
from kubewhy.lanes import Lanes
from kubewhy.models.findings import CheckResult
from kubewhy.models.target import parse_target
from kubewhy.settings import Flags, SettingsError, load


async def settle(rounds: int = 20) -> None:
    """Let every ready task run as far as it can."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Held:
    """Tasks that enter a lane, note it, and hold it until released."""

    def __init__(self, lanes: Lanes):
        self.lanes = lanes
        self.started: list[str] = []
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.most = 0
        self.running = 0

    def background(self, name: str, severity: str | None = None) -> asyncio.Task[None]:
        async def run() -> None:
            async with self.lanes.background(severity):
                await self._hold(name)

        task = asyncio.create_task(run())
        self.tasks.append(task)
        return task

    def person(self, name: str) -> asyncio.Task[None]:
        async def run() -> None:
            async with self.lanes.person():
                await self._hold(name)

        task = asyncio.create_task(run())
        self.tasks.append(task)
        return task

    async def _hold(self, name: str) -> None:
        self.started.append(name)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1

    async def finish(self) -> None:
        self.release.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_a_person_starts_at_once_while_the_background_is_full_and_queued() -> None:
    held = Held(Lanes(people=8, background=2))
    for i in range(50):
        held.background(f"bg{i}")
    await settle()
    assert held.started == ["bg0", "bg1"] and held.lanes.stats.queued == 48
    held.person("alice")
    await settle()
    assert held.started[-1] == "alice"
    await held.finish()


async def test_background_runs_within_its_bound_and_waits_while_a_person_is_in_flight() -> None:
    held = Held(Lanes(people=8, background=2))
    held.person("alice")
    await settle()
    for i in range(5):
        held.background(f"bg{i}")
    await settle()
    assert held.started == ["alice"]  # slots are free, but a person is in flight: nothing background starts
    assert held.lanes.stats.queued == 5
    held.release.set()
    await asyncio.gather(*held.tasks)
    assert sorted(held.started[1:]) == [f"bg{i}" for i in range(5)]
    assert held.most <= 2


async def test_people_have_their_own_bound_and_queue_ahead_of_background() -> None:
    held = Held(Lanes(people=3, background=2))
    for i in range(5):
        held.person(f"p{i}")
    await settle()
    assert held.started == ["p0", "p1", "p2"]
    held.background("bg")
    await settle()
    assert held.lanes.stats.people == 5 and "bg" not in held.started  # people waiting hold the background back
    await held.finish()
    assert held.started[-1] == "bg"


async def test_waiting_background_starts_most_severe_first_then_in_arrival_order() -> None:
    lanes = Lanes(people=1, background=1)
    order: list[str] = []
    person_done = asyncio.Event()

    async def person() -> None:
        async with lanes.person():
            await person_done.wait()

    async def background(name: str, severity: str | None) -> None:
        async with lanes.background(severity):
            order.append(name)
            await asyncio.sleep(0)

    blocker = asyncio.create_task(person())
    await settle()
    tasks = [
        asyncio.create_task(background(name, severity))
        for name, severity in [("i1", "info"), ("w1", "warning"), ("c1", "critical"), ("n1", None), ("c2", "critical")]
    ]
    await settle()
    assert order == []
    person_done.set()
    await asyncio.gather(blocker, *tasks)
    assert order == ["c1", "c2", "w1", "n1", "i1"]


async def test_cancelled_waiters_and_runners_give_their_slot_back() -> None:
    held = Held(Lanes(people=8, background=1))
    running = held.background("running")
    queued = [held.background(f"q{i}") for i in range(3)]
    await settle()
    assert held.started == ["running"]
    queued[0].cancel()  # a watcher stopping, or a timeout, while it waits: it leaves the queue
    await settle()
    assert held.lanes.stats.queued == 2
    running.cancel()  # a diagnosis cancelled while it runs frees its slot for the next in line
    await settle()
    assert held.started == ["running", "q1"]
    assert held.lanes.stats.background == 1
    await held.finish()
    assert held.started == ["running", "q1", "q2"] and held.lanes.stats == (0, 0, 0)


async def test_a_slot_granted_to_a_waiter_cancelled_before_it_ran_is_handed_on() -> None:
    lanes = Lanes(people=8, background=1)
    order: list[str] = []
    gate = asyncio.Event()
    later: list[asyncio.Task[None]] = []

    async def first() -> None:
        async with lanes.background():
            order.append("first")
            await gate.wait()
        later[0].cancel()  # its exit granted "second" the slot; "second" is cancelled before it runs

    async def background(name: str) -> None:
        async with lanes.background():
            order.append(name)

    running = asyncio.create_task(first())
    await settle()
    later += [asyncio.create_task(background("second")), asyncio.create_task(background("third"))]
    await settle()
    assert lanes.stats == (0, 1, 2)
    gate.set()
    await asyncio.gather(running, *later, return_exceptions=True)
    assert later[0].cancelled()
    assert order == ["first", "third"] and lanes.stats == (0, 0, 0)


async def test_a_timeout_on_a_waiting_background_diagnosis_leaves_nothing_held() -> None:
    lanes = Lanes(people=8, background=1)
    held = asyncio.Event()

    async def hold() -> None:
        async with lanes.person():
            await held.wait()

    async def waiting() -> None:
        async with lanes.background():
            raise AssertionError("must not run while a person is in flight")

    person = asyncio.create_task(hold())
    await settle()
    task = asyncio.create_task(waiting())
    await settle()
    task.cancel()  # what asyncio.timeout() does when the deadline passes
    await asyncio.gather(task, return_exceptions=True)
    held.set()
    await person
    assert lanes.stats == (0, 0, 0)
    async with lanes.background():  # the gate still works
        assert lanes.stats.background == 1


async def test_the_application_answers_a_person_while_the_watchers_storm_is_held_back(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    """Twelve watcher diagnoses are asked for first, then one person's: the person's report comes back while no
    more than the background bound of them have even begun (their checks have not run)."""
    sim = start_sim("workshop", timeline_mode="manual")
    env = {"KUBECONFIG": str(sim.kubeconfig), "USER": "alice", "KUBEWHY_NO_AUDIT": "1"}
    async with Kubewhy(load(env, Flags()), source="slack") as app:
        target = parse_target("pod/q1/app-7d4b9c6f5-x2x7k")
        begun: set[int] = set()

        def noted(i: int) -> Callable[[CheckResult], None]:
            return lambda _: begun.add(i)

        storm = [
            asyncio.create_task(app.diagnose(target, source="watcher", actor="kubewhy-watch", on_check=noted(i)))
            for i in range(12)
        ]
        await settle()
        report = await app.diagnose(target, actor="alice")
        assert report.findings
        assert len(begun) <= app.lanes.background_bound, sorted(begun)
        waiting = app.lanes.stats
        assert waiting.queued + waiting.background >= 12 - app.lanes.background_bound  # the rest still to run
        reports = await asyncio.gather(*storm)
        assert all(r.findings for r in reports) and len(begun) == 12
        assert app.lanes.stats == (0, 0, 0)


def test_the_bounds_come_from_the_settings_and_zero_turns_the_gate_off() -> None:
    assert (load({}).people_diagnoses, load({}).background_diagnoses) == (8, 2)
    tuned = load({"KUBEWHY_PEOPLE_DIAGNOSES": "4", "KUBEWHY_BACKGROUND_DIAGNOSES": "1"})
    assert (tuned.people_diagnoses, tuned.background_diagnoses) == (4, 1)
    assert not Lanes(8, load({"KUBEWHY_BACKGROUND_DIAGNOSES": "0"}).background_diagnoses).gated
    for bad in ({"KUBEWHY_PEOPLE_DIAGNOSES": "0"}, {"KUBEWHY_BACKGROUND_DIAGNOSES": "two"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            load(bad)


async def test_without_the_gate_every_diagnosis_starts_at_once() -> None:
    lanes = Lanes(people=1, background=0)
    entered: list[str] = []
    release = asyncio.Event()

    async def one(source: str) -> None:
        async with lanes.lane(source):
            entered.append(source)
            await release.wait()

    tasks = [asyncio.create_task(one(s)) for s in ("slack", "watcher", "watcher", "watcher", "tui")]
    await settle()
    assert len(entered) == 5
    release.set()
    await asyncio.gather(*tasks)
