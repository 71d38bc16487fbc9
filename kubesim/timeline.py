"""Scripted changes over time (node goes NotReady at t+5 s, a pod is evicted ...), for testing watchers.

Steps run on the wall clock once the server starts (``auto``), or only when a test advances the clock
through ``POST /kubesim/v1/timeline/advance`` (``manual``), so tests need no real sleeps.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from .cluster import Cluster
from .patching import merge_patch
from .scenario import TimelineStep, object_uid
from .store import NotFound


class Timeline:
    def __init__(self, cluster: Cluster, mode: str = "auto"):
        self.cluster = cluster
        self.mode = mode
        self.steps = sorted(cluster.scenario.timeline, key=lambda s: s.after)
        self.clock = 0.0
        self.applied = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self.steps) - self.applied

    def start(self) -> None:
        if self.mode == "auto" and self.steps and self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while self.applied < len(self.steps):
            step = self.steps[self.applied]
            await asyncio.sleep(max(0.0, t0 + step.after - loop.time()))
            self.clock = step.after
            self._apply(step)

    def advance(self, seconds: float) -> int:
        """Manual clock: apply every step due within the next ``seconds``; returns how many ran."""
        self.clock += seconds
        ran = 0
        while self.applied < len(self.steps) and self.steps[self.applied].after <= self.clock:
            self._apply(self.steps[self.applied])
            ran += 1
        return ran

    def _apply(self, step: TimelineStep) -> None:
        self.applied += 1
        self.apply_step(step.action, step.spec)

    def apply_step_spec(self, step: dict[str, Any]) -> str:
        actions = [k for k in ("patch", "evict", "create", "delete", "log", "usage") if k in step]
        if len(actions) != 1:
            raise ValueError("a step needs exactly one of patch, evict, create, delete, log, usage")
        return self.apply_step(actions[0], step[actions[0]])

    def apply_step(self, action: str, spec: dict[str, Any]) -> str:
        c = self.cluster
        if action == "patch":
            target = spec["target"]
            res = c.resource_by_kind(target["kind"])
            ns = target.get("namespace", "default") if res.namespaced else ""
            obj = c.store.get(res.key, ns, target["name"])
            if obj is None:
                raise NotFound(target["name"])
            new = merge_patch(obj, spec.get("merge") or {})
            c.store.update(res.key, new)
            return f"patched {res.plural}/{target['name']}"
        if action == "evict":
            c.evict_pod(spec.get("namespace", "default"), spec["name"], spec.get("message"))
            return f"evicted pods/{spec['name']}"
        if action == "create":
            obj = copy.deepcopy(spec)
            res = c.resource_of(obj)
            meta = obj.setdefault("metadata", {})
            if res.namespaced:
                meta.setdefault("namespace", "default")
            meta.setdefault("uid", object_uid(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]))
            if obj["kind"] == "Event":
                ref = obj.get("involvedObject") or {}
                target_res = c.catalog.by_kind(ref.get("apiVersion", "v1"), ref.get("kind", ""))
                if target_res and not ref.get("uid"):
                    target = c.store.get(target_res.key, ref.get("namespace", ""), ref.get("name", ""))
                    if target:
                        ref["uid"] = target["metadata"]["uid"]
            c.store.create(res.key, obj)
            c.after_write(res, None, obj)
            return f"created {res.plural}/{meta['name']}"
        if action == "delete":
            res = c.resource_by_kind(spec["kind"])
            c.delete(res, spec.get("namespace", "default") if res.namespaced else "", spec["name"])
            return f"deleted {res.plural}/{spec['name']}"
        if action == "log":
            c.append_log(spec.get("namespace", "default"), spec["pod"], spec["container"], spec["text"])
            return f"logged to {spec['pod']}/{spec['container']}"
        if action == "usage":  # the kubelets' figures from now on (kubesim/kubelet.py)
            from .kubelet import change_usage

            return change_usage(c, spec)
        raise ValueError(f"unknown timeline action {action!r}")


__all__ = ["Timeline"]
