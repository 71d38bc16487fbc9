"""Snapshot files → objects, container logs and a capture time, exactly as written.

A post-mortem file is evidence: nothing is filled in (no uid, creationTimestamp, namespace, status or
defaults a server would have added), so a diagnosis offline says what the file says. Accepted: ``kubectl get
-o yaml`` / ``-o json`` output, ``kind: List``, multi-document YAML, a directory of such files, and the
simulator's scenario format, whose ``kind: Scenario`` document carries container logs and ``capturedAt``
(its simulator-only fields are read past), Troubleshoot support bundles (``kubewhy.adapters.bundle``) and
``kubectl describe`` output (``kubewhy.adapters.describe``).
Every error names the file and line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..yamlsrc import Doc, YamlSourceError, documents
from . import bundle, describe

Obj = dict[str, Any]
SCENARIO_API_VERSION = "kubesim.kubewhy.io/v1"
_SCENARIO_FIELDS = (
    "apiVersion",
    "kind",
    "metadata",
    "description",
    "capturedAt",
    "logs",
    "usage",
    "timeline",
    "expect",
)
_SUFFIXES = (".yaml", ".yml", ".json")


class SnapshotFileError(ValueError):
    """A snapshot file that cannot be read; the message starts with ``file:line``."""


@dataclass
class SnapshotFiles:
    objects: list[Obj] = field(default_factory=list)
    logs: dict[str, dict[str, str]] = field(default_factory=dict)  # "ns/pod/container" -> {current, previous}
    captured_at: dt.datetime | None = None  # from a Scenario document's capturedAt
    sources: list[Path] = field(default_factory=list)


def parse_time(value: Any) -> dt.datetime:
    """An RFC 3339 time (``2024-06-14T10:00:00Z``) as an aware UTC datetime; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        parsed = dt.datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.astimezone(dt.UTC)


def files_of(path: Path) -> list[Path]:
    """A file as given, or a directory's YAML/JSON files in name order (not recursive)."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
        if not found:
            raise SnapshotFileError(f"{path}: no .yaml, .yml or .json files in this directory")
        return found
    if not path.exists():
        raise SnapshotFileError(f"{path}: no such file or directory")
    return [path]


def read(paths: list[Path]) -> SnapshotFiles:
    out = SnapshotFiles()
    for given in paths:
        if bundle.is_bundle(Path(given)):
            _read_bundle(Path(given), out)
            continue
        for path in files_of(Path(given)):
            _read_file(path, out)
    return out


def _read_bundle(path: Path, out: SnapshotFiles) -> None:
    try:
        objects, logs = bundle.read_bundle(path)
    except bundle.BundleError as exc:
        raise SnapshotFileError(str(exc)) from None
    for obj in objects:
        problem = _problem(obj)
        if problem:
            raise SnapshotFileError(
                f"{path}:1: {obj.get('kind')} {(obj.get('metadata') or {}).get('name', '?')}: {problem[1]}"
            )
        out.objects.append(obj)
    out.logs.update(logs)
    out.sources.append(path)


def _read_file(path: Path, out: SnapshotFiles) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotFileError(f"{path}:1: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    out.sources.append(path)
    if describe.looks_like_describe(text):
        try:
            out.objects += describe.parse(text)
        except describe.DescribeError as exc:
            raise SnapshotFileError(f"{path}:{exc}") from None
        return
    try:
        for doc in documents(text):
            _read_doc(path, doc, out)
    except YamlSourceError as exc:
        raise SnapshotFileError(f"{path}:{exc.line or 1}: {exc}") from None


def _fail(path: Path, doc: Doc, where: tuple[Any, ...], message: str) -> SnapshotFileError:
    return SnapshotFileError(f"{path}:{doc.line_of(where)}: {message}")


def _read_doc(path: Path, doc: Doc, out: SnapshotFiles) -> None:
    data = doc.data
    if data is None:
        return
    if isinstance(data, dict) and data.get("kind") == "Scenario" and data.get("apiVersion") == SCENARIO_API_VERSION:
        _read_scenario(path, doc, out)
        return
    items: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and "items" in data:
        if not isinstance(data["items"], list):
            raise _fail(path, doc, ("items",), f"items of a {data['kind']} must be a list")
        items = [(("items", i), item) for i, item in enumerate(data["items"])]
    for where, obj in items:
        problem = _problem(obj)
        if problem:
            sub, message = problem
            raise _fail(path, doc, where + sub, message)
        out.objects.append(obj)


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _problem(obj: Any) -> tuple[tuple[Any, ...], str] | None:
    """What keeps ``obj`` from being a Kubernetes object the readers can serve, with where it is."""
    if not isinstance(obj, dict):
        return (), f"a Kubernetes object must be a mapping, got {_type_name(obj)}"
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            return (key,), f"object has no {key}"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return ("metadata",), f"{obj['kind']} has no metadata mapping"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        return ("metadata", "name"), f"{obj['kind']} has no metadata.name"
    if "namespace" in meta and not isinstance(meta["namespace"], str):
        return ("metadata", "namespace"), f"metadata.namespace must be a string, got {_type_name(meta['namespace'])}"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            return ("metadata", key), f"metadata.{key} must be a mapping of strings, got {_type_name(value)}"
        for k, v in value.items():
            if not isinstance(v, str):
                return ("metadata", key, k), f"metadata.{key}.{k} must be a string, got {_type_name(v)} (quote it)"
    for key in ("spec", "status"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
            return (key,), f"{key} must be a mapping, got {_type_name(obj[key])}"
    return None


def _read_scenario(path: Path, doc: Doc, out: SnapshotFiles) -> None:
    data: dict[str, Any] = doc.data
    for key in data:
        if key not in _SCENARIO_FIELDS:
            raise _fail(path, doc, (key,), f"unknown Scenario field {key!r} (known: {', '.join(_SCENARIO_FIELDS)})")
    if data.get("capturedAt"):
        try:
            out.captured_at = parse_time(data["capturedAt"])
        except ValueError:
            raise _fail(
                path, doc, ("capturedAt",), f"capturedAt is not an RFC 3339 time: {data['capturedAt']!r}"
            ) from None
    logs = data.get("logs") or {}
    if not isinstance(logs, dict):
        raise _fail(path, doc, ("logs",), "logs must be a mapping of NAMESPACE/POD/CONTAINER to {current, previous}")
    for key, value in logs.items():
        if not isinstance(key, str) or key.count("/") != 2:
            raise _fail(path, doc, ("logs", key), f"log key {key!r} must be NAMESPACE/POD/CONTAINER")
        texts = {"current": value} if isinstance(value, str) else value
        if not isinstance(texts, dict) or any(k not in ("current", "previous") for k in texts):
            raise _fail(path, doc, ("logs", key), f"logs.{key} must have only 'current' and 'previous' texts")
        out.logs[key] = {k: "" if v is None else str(v) for k, v in texts.items()}
