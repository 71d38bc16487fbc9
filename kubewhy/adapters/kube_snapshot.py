"""An offline cluster: objects from files (``kubectl get -o yaml`` output, multi-document YAML, ``kind: List``,
or a directory of them), so a post-mortem can be diagnosed without the cluster.

Files in the simulator's scenario format also carry container logs, which this reader serves too; the
same file therefore gives the same diagnosis offline and through the simulator. The files are read by the
core's own reader (``snapshot_files``), never the simulator's loader: objects are served as written, only
redacted (``kubewhy.redact``), and selectors are evaluated by ``kubewhy.selectors``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import selectors
from ..errors import UsageError
from ..kinds import info
from ..redact import redact_log, redact_object
from .normalize import normalize
from .ports import Capabilities, Obj
from .snapshot_files import SnapshotFileError, parse_time, read


def _namespace(obj: Obj) -> str:
    """Where a namespaced object lives; one written without a namespace is in ``default``, as kubectl applies it."""
    return str((obj.get("metadata") or {}).get("namespace") or "default")


class SnapshotKube:
    def __init__(self, paths: list[Path], *, objects: list[Obj] | None = None, endpoint: str = ""):
        """Objects from files, or ``objects`` already read (``kubectl describe`` text pasted into the bot)."""
        try:
            files = read([Path(p) for p in paths])
        except SnapshotFileError as exc:
            raise UsageError(f"cannot read snapshot: {exc}") from None
        files.objects += objects or []
        self.endpoint = endpoint or ", ".join(str(p) for p in paths)
        self.sources = files.sources
        self.requests = 0
        self._objects: dict[str, list[Obj]] = {}
        for obj in files.objects:
            self._objects.setdefault(obj["kind"], []).append(normalize(redact_object(obj)))
        self._logs = files.logs
        self.captured_at = files.captured_at or self._latest_time(files.objects)

    @staticmethod
    def _latest_time(objects: list[Obj]) -> datetime:
        """Without a capture time, the latest event is the best guess of when the snapshot was taken."""
        latest = None
        for obj in objects:
            if obj["kind"] == "Event":
                for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
                    if obj.get(key):
                        try:
                            ts = parse_time(obj[key])
                        except ValueError:
                            continue
                        latest = ts if latest is None or ts > latest else latest
                        break
        return latest or datetime.now(UTC)

    def clock(self) -> datetime:
        return self.captured_at

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        self.requests += 1
        namespaced = info(kind).namespaced
        for obj in self._objects.get(kind, []):
            if obj["metadata"]["name"] == name and (
                not namespaced or namespace is None or _namespace(obj) == namespace
            ):
                return obj
        return None

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        self.requests += 1
        try:
            preds = [
                p
                for p in (selectors.label_predicate(label_selector), selectors.field_predicate(field_selector, kind))
                if p
            ]
        except selectors.SelectorError as exc:
            raise UsageError(f"bad selector for {kind} in snapshot {self.endpoint}: {exc}") from None
        namespaced = info(kind).namespaced
        out = []
        for obj in self._objects.get(kind, []):
            if namespaced and namespace is not None and _namespace(obj) != namespace:
                continue
            if all(p(obj) for p in preds):
                out.append(obj)
        return sorted(out, key=lambda o: (_namespace(o) if namespaced else "", o["metadata"]["name"]))

    async def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail: int | None = None
    ) -> str | None:
        self.requests += 1
        entry = self._logs.get(f"{namespace}/{pod}/{container}") or {}
        text = entry.get("previous" if previous else "current")
        if text is None:
            return None
        lines = text.splitlines(keepends=True)
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return redact_log("".join(lines))

    @property
    def capabilities(self) -> Capabilities:
        """A snapshot is read as it was written: nothing can be patched, watched or proxied; it says what it holds."""
        return Capabilities(inventory=self)

    def holds(self, kind: str, namespace: str | None = None) -> bool:
        return any(namespace is None or _namespace(o) in ("", namespace) for o in self._objects.get(kind, []))

    async def patch(self, *args: Any, **kw: Any) -> Obj:
        raise UsageError("a snapshot is read-only: fixes cannot be applied to it")

    async def delete(self, *args: Any, **kw: Any) -> Obj:
        raise UsageError("a snapshot is read-only: nothing can be deleted from it")
