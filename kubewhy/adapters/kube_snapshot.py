"""An offline cluster: objects from files (``kubectl get -o yaml`` output, multi-document YAML, ``kind: List``,
or a directory of them), so a post-mortem can be diagnosed without the cluster.

Files in the simulator's scenario format also carry container logs, which this reader serves too; the
same file therefore gives the same diagnosis offline and through the simulator.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kubesim.scenario import ScenarioError, load_paths, parse_time
from kubesim.selectors import SelectorError, field_predicate, label_predicate

from ..errors import UsageError
from .kinds import info
from .ports import Obj


class SnapshotKube:
    def __init__(self, paths: list[Path]):
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing:
            raise UsageError(f"snapshot not found: {', '.join(missing)}")
        try:
            scenario = load_paths([Path(p) for p in paths], name="snapshot")
        except ScenarioError as exc:
            raise UsageError(f"cannot read snapshot: {exc}") from None
        self.endpoint = ", ".join(str(p) for p in paths)
        self.requests = 0
        self._objects: dict[str, list[Obj]] = {}
        for obj in scenario.objects:
            self._objects.setdefault(obj["kind"], []).append(obj)
        self._logs = scenario.logs
        self.captured_at = scenario.captured_at if scenario.captured_at_given else self._latest_time(scenario.objects)

    @staticmethod
    def _latest_time(objects: list[Obj]) -> datetime:
        """Without a capture time, the latest event is the best guess of when the snapshot was taken."""
        latest = None
        for obj in objects:
            if obj["kind"] == "Event":
                for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
                    if obj.get(key):
                        try:
                            ts = parse_time(str(obj[key]))
                        except ValueError:
                            continue
                        latest = ts if latest is None or ts > latest else latest
                        break
        return latest or datetime.now(timezone.utc)

    def clock(self) -> datetime:
        return self.captured_at

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        self.requests += 1
        ns = namespace if info(kind).namespaced else None
        for obj in self._objects.get(kind, []):
            meta = obj["metadata"]
            if meta["name"] == name and (ns is None or meta.get("namespace") == ns):
                return obj
        return None

    async def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None) -> list[Obj]:
        self.requests += 1
        try:
            preds = [p for p in (label_predicate(label_selector), field_predicate(field_selector)) if p]
        except SelectorError as exc:
            raise UsageError(str(exc)) from None
        ns = namespace if info(kind).namespaced else None
        out = []
        for obj in self._objects.get(kind, []):
            if ns is not None and obj["metadata"].get("namespace") != ns:
                continue
            if all(p(obj) for p in preds):
                out.append(obj)
        return sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    async def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                   tail: int | None = None) -> str | None:
        self.requests += 1
        entry = self._logs.get(f"{namespace}/{pod}/{container}") or {}
        text = entry.get("previous" if previous else "current")
        if text is None:
            return None
        lines = text.splitlines(keepends=True)
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return "".join(lines)

    async def patch(self, *args: Any, **kw: Any) -> Obj:
        raise UsageError("a snapshot is read-only: fixes cannot be applied to it")
