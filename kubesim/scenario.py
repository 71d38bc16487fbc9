"""Scenario files: Kubernetes objects plus the simulator-only data (logs, usage, timeline, expectations).

Loading is strict: every error names the file, the document index and the line, because scenario files are
written by hand and a silent mistake would make a test or a demo lie.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from .yamlsrc import Doc, YamlSourceError, documents, line_of

SCENARIO_API_VERSION = "kubesim.kubewhy.io/v1"
DEFAULT_CAPTURED_AT = "2024-06-14T10:00:00Z"
UID_NAMESPACE = uuid.UUID("6f1d3c0e-4b52-4c8e-9a57-6b9c1f0e2d11")

_TS_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_TS_ANY = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message says file, document and line."""

    def __init__(self, path: str | Path, message: str, *, document: int | None = None, line: int | None = None):
        where = str(path)
        if document is not None:
            where += f": document {document}"
            if line is not None:
                where += f" (line {line})"
        elif line is not None:
            where += f": line {line}"
        super().__init__(f"{where}: {message}")
        self.path, self.document, self.line = str(path), document, line


@dataclass
class TimelineStep:
    after: float  # seconds after start
    action: str  # patch | evict | create | delete | log
    spec: dict[str, Any]
    source: str = ""


@dataclass
class Expectation:
    target: str
    findings: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class Identity:
    """Who a bearer token authenticates as (``users`` in the Scenario document). What it may do is RBAC's answer
    (kubesim/rbac.py); ``read_only`` binds it to the default ``view`` ClusterRole across the cluster."""

    name: str
    groups: tuple[str, ...] = ("system:authenticated",)
    read_only: bool = False


ADMIN = Identity("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))


@dataclass
class Scenario:
    """Everything one simulated cluster starts from."""

    name: str
    description: str = ""
    captured_at: datetime = field(default_factory=lambda: parse_time(DEFAULT_CAPTURED_AT))
    captured_at_given: bool = False  # whether a Scenario document set capturedAt
    objects: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, dict[str, str]] = field(default_factory=dict)  # "ns/pod/container" -> {current, previous}
    pod_usage: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # "ns/pod" -> container -> usage
    node_usage: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_usage: dict[str, dict[str, Any]] = field(default_factory=dict)  # "ns/pvc" -> usage
    timeline: list[TimelineStep] = field(default_factory=list)
    expect: list[Expectation] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    users: dict[str, Identity] = field(default_factory=dict)  # bearer token -> who it is and what it may do
    wall_clock: bool = False  # timestamps written relative to the real now (generated clusters): never shifted

    def shifted(self, now: datetime) -> Scenario:
        """A copy with every timestamp moved so that ``captured_at`` becomes ``now`` (the scenario itself when its
        times are the wall clock's already, as a generated cluster's are)."""
        if self.wall_clock:
            return self
        delta = now - self.captured_at
        return Scenario(
            name=self.name,
            description=self.description,
            captured_at=now,
            captured_at_given=True,
            objects=[_shift(o, delta) for o in self.objects],
            logs={k: {kk: _shift_text(vv, delta) for kk, vv in v.items()} for k, v in self.logs.items()},
            pod_usage=self.pod_usage,
            node_usage=self.node_usage,
            volume_usage=self.volume_usage,
            timeline=[TimelineStep(s.after, s.action, _shift(s.spec, delta), s.source) for s in self.timeline],
            expect=self.expect,
            sources=self.sources,
            users=self.users,
        )


# ---- time helpers -------------------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_time(ts: datetime, micro: bool = False) -> str:
    ts = ts.astimezone(UTC)
    if micro:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shift_ts(text: str, delta: timedelta) -> str:
    """Shift an RFC 3339 time, keeping its precision (``.123Z`` stays three digits)."""
    shifted = parse_time(text) + delta
    if "." not in text:
        return format_time(shifted)
    digits = len(text.rsplit(".", 1)[1]) - 1
    return format_time(shifted, micro=True)[:20] + f"{shifted.microsecond:06d}"[:digits].ljust(digits, "0") + "Z"


def _shift(value: Any, delta: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    if isinstance(value, str) and _TS_FULL.match(value):
        return _shift_ts(value, delta)
    return value


def _shift_text(text: str, delta: timedelta) -> str:
    return _TS_ANY.sub(lambda m: _shift_ts(m.group(0), delta), text)


def parse_duration(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value).strip())
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 500ms, 5s, 2m)")
    n, unit = float(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def object_uid(api_version: str, kind: str, namespace: str, name: str) -> str:
    """Stable uid, so a snapshot and the simulator agree on the uid of the same object."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return str(uuid.uuid5(UID_NAMESPACE, f"{group}/{kind}/{namespace}/{name}"))


# ---- YAML with line numbers -----------------------------------------------------------------------------------


def _documents(path: Path, text: str) -> Iterator[Doc]:
    try:
        yield from documents(text)
    except YamlSourceError as exc:
        raise ScenarioError(path, str(exc), document=exc.document, line=exc.line) from None


_line_of = line_of


# ---- object validation ------------------------------------------------------------------------------------------

_STRING_MAPS: tuple[tuple[str, ...], ...] = (("metadata", "labels"), ("metadata", "annotations"))
_MAPPINGS: tuple[tuple[str, ...], ...] = (("metadata",), ("spec",), ("status",), ("data",))
_LISTS: tuple[tuple[str, ...], ...] = (
    ("spec", "containers"),
    ("spec", "initContainers"),
    ("spec", "volumes"),
    ("spec", "tolerations"),
    ("status", "conditions"),
    ("status", "containerStatuses"),
    ("spec", "ports"),
    ("subsets",),
    ("metadata", "ownerReferences"),
    ("spec", "taints"),
    ("status", "addresses"),
)


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def validate_object(obj: Any) -> tuple[tuple[Any, ...], str] | None:
    """Return (path, message) for the first structural problem of a Kubernetes object, or None."""
    if not isinstance(obj, dict):
        return (), f"a Kubernetes object must be a mapping, got {_type_name(obj)}"
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj.get(key):
            return (key,), f"object has no {key}"
    for path in _MAPPINGS:
        value = _get(obj, path)
        if value is not None and not isinstance(value, dict):
            return path, f"{'.'.join(path)} must be a mapping, got {_type_name(value)}"
    name = _get(obj, ("metadata", "name"))
    if not isinstance(name, str) or not name:
        return ("metadata", "name"), f"{obj['kind']} has no metadata.name"
    ns = _get(obj, ("metadata", "namespace"))
    if ns is not None and not isinstance(ns, str):
        return ("metadata", "namespace"), f"metadata.namespace must be a string, got {_type_name(ns)}"
    for path in _STRING_MAPS:
        value = _get(obj, path)
        if value is None:
            continue
        if not isinstance(value, dict):
            return path, f"{'.'.join(path)} must be a mapping of strings, got {_type_name(value)}"
        for k, v in value.items():
            if not isinstance(v, str):
                return path + (k,), f"{'.'.join(path)}.{k} must be a string, got {_type_name(v)} (quote it)"
    for path in _LISTS:
        value = _get(obj, path)
        if value is not None and not isinstance(value, list):
            return path, f"{'.'.join(path)} must be a list, got {_type_name(value)}"
    for i, c in enumerate(_get(obj, ("spec", "containers")) or []):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            return ("spec", "containers", i), f"spec.containers[{i}] must be a mapping with a name"
    return None


# ---- loading ------------------------------------------------------------------------------------------------------


def _scenario_doc(path: Path, doc: Doc, scenario: Scenario) -> None:
    data = doc.data
    where = f"{path.name}#{doc.index}"
    known = {
        "apiVersion",
        "kind",
        "metadata",
        "description",
        "capturedAt",
        "logs",
        "usage",
        "timeline",
        "expect",
        "users",
    }
    for key in data:
        if key not in known:
            raise ScenarioError(
                path,
                f"unknown Scenario field {key!r} (known: {', '.join(sorted(known))})",
                document=doc.index,
                line=_line_of(doc.node, (key,)),
            )

    def fail(p: tuple[Any, ...], msg: str) -> ScenarioError:
        return ScenarioError(path, msg, document=doc.index, line=_line_of(doc.node, p))

    name = _get(data, ("metadata", "name"))
    if name and not scenario.description:
        scenario.description = str(data.get("description") or "").strip()
    if data.get("capturedAt"):
        try:
            scenario.captured_at = parse_time(str(data["capturedAt"]))
            scenario.captured_at_given = True
        except ValueError:
            raise fail(("capturedAt",), f"capturedAt is not an RFC 3339 time: {data['capturedAt']!r}") from None
    users = data.get("users") or {}
    if not isinstance(users, dict):
        raise fail(("users",), "users must be a mapping of bearer token to {name, groups, readOnly}")
    for token, user in users.items():
        if (
            not isinstance(user, dict)
            or not isinstance(user.get("name"), str)
            or not isinstance(user.get("groups", []), list)
            or not isinstance(user.get("readOnly", False), bool)
        ):
            raise fail(
                ("users", token),
                f"users.{token} must have a name, optional groups (a list) and readOnly (true or false)",
            )
        scenario.users[str(token)] = Identity(
            user["name"],
            tuple(str(g) for g in user.get("groups") or ()) + ("system:authenticated",),
            bool(user.get("readOnly", False)),
        )
    logs = data.get("logs") or {}
    if not isinstance(logs, dict):
        raise fail(("logs",), "logs must be a mapping of NAMESPACE/POD/CONTAINER to {current, previous}")
    for key, value in logs.items():
        if key.count("/") != 2:
            raise fail(("logs", key), f"log key {key!r} must be NAMESPACE/POD/CONTAINER")
        if isinstance(value, str):
            value = {"current": value}
        if not isinstance(value, dict) or any(k not in ("current", "previous") for k in value):
            raise fail(("logs", key), f"logs.{key} must have only 'current' and 'previous' texts")
        scenario.logs[key] = {k: str(v or "") for k, v in value.items()}
    usage = data.get("usage") or {}
    if not isinstance(usage, dict):
        raise fail(("usage",), "usage must be a mapping with pods, nodes and volumes")
    for section, target in (
        ("pods", scenario.pod_usage),
        ("nodes", scenario.node_usage),
        ("volumes", scenario.volume_usage),
    ):
        entries = usage.get(section) or {}
        if not isinstance(entries, dict):
            raise fail(("usage", section), f"usage.{section} must be a mapping")
        for key, value in entries.items():
            if not isinstance(value, dict):
                raise fail(("usage", section, key), f"usage.{section}.{key} must be a mapping")
            if section != "nodes" and key.count("/") != 1:
                raise fail(("usage", section, key), f"usage.{section} key {key!r} must be NAMESPACE/NAME")
            target[key] = value
    timeline = data.get("timeline") or []
    if not isinstance(timeline, list):
        raise fail(("timeline",), "timeline must be a list of steps")
    for i, step in enumerate(timeline):
        actions = [k for k in ("patch", "evict", "create", "delete", "log") if k in (step or {})]
        if not isinstance(step, dict) or len(actions) != 1:
            raise fail(
                ("timeline", i), "each timeline step needs 'after' and exactly one of patch, evict, create, delete, log"
            )
        try:
            after = parse_duration(step.get("after", 0))
        except ValueError as exc:
            raise fail(("timeline", i, "after"), str(exc)) from None
        scenario.timeline.append(TimelineStep(after, actions[0], step[actions[0]], f"{where} timeline[{i}]"))
    expect = data.get("expect") or []
    if not isinstance(expect, list):
        raise fail(("expect",), "expect must be a list of {target, findings, absent}")
    for i, e in enumerate(expect):
        if not isinstance(e, dict) or not isinstance(e.get("target"), str):
            raise fail(("expect", i), "each expectation needs a target such as pod/NAMESPACE/NAME")
        scenario.expect.append(
            Expectation(e["target"], list(e.get("findings") or []), list(e.get("absent") or []), f"{where} expect[{i}]")
        )


def load_file(path: Path, scenario: Scenario) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, f"cannot read: {exc.strerror}") from None
    scenario.sources.append(str(path))
    for doc in _documents(path, text):
        if doc.data is None:
            continue
        if isinstance(doc.data, dict) and doc.data.get("kind") == "Scenario":
            _scenario_doc(path, doc, scenario)
            continue
        items: list[tuple[tuple[Any, ...], Any]] = [((), doc.data)]
        if isinstance(doc.data, dict) and str(doc.data.get("kind", "")).endswith("List") and "items" in doc.data:
            if not isinstance(doc.data["items"], list):
                raise ScenarioError(
                    path, "items of a List must be a list", document=doc.index, line=_line_of(doc.node, ("items",))
                )
            items = [(("items", i), item) for i, item in enumerate(doc.data["items"])]
        for prefix, obj in items:
            problem = validate_object(obj)
            if problem:
                sub, msg = problem
                raise ScenarioError(path, msg, document=doc.index, line=_line_of(doc.node, prefix + sub))
            scenario.objects.append(obj)


def scenario_files(path: Path, member: str | None = None) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob("*.yaml"))
    if member is None:
        return files
    base = [p for p in files if p.name.startswith("_")]
    chosen = [p for p in files if p.stem == member or p.name == member]
    if not chosen:
        raise ScenarioError(path, f"no scenario {member!r} in this directory")
    return base + chosen


def bundled_dir() -> Path:
    """The bundled scenarios: package data of kubesim, found with importlib.resources (editable or wheel)."""
    root = resources.files("kubesim") / "scenarios"
    if not isinstance(root, Path):  # a zipped install: scenario errors need real files to name file and line
        raise ScenarioError(str(root), "the bundled scenarios are not on the file system; install kubewhy unzipped")
    return root


def resolve(name_or_path: str) -> tuple[str, list[Path]]:
    """Turn ``workshop``, ``workshop/q01-app-crash``, ``healthy`` or a path into (name, files)."""
    candidate = Path(name_or_path)
    if candidate.exists():
        return candidate.stem if candidate.is_file() else candidate.name, scenario_files(candidate)
    bundled = bundled_dir() / name_or_path
    if bundled.is_dir():
        if not any(f.name.startswith("_") for f in bundled.glob("*.yaml")):
            members = ", ".join(f"{name_or_path}/{f.stem}" for f in sorted(bundled.glob("*.yaml")))
            raise ScenarioError(name_or_path, f"a collection of separate scenarios; pick one of: {members}")
        return name_or_path, scenario_files(bundled)
    if "/" in name_or_path:  # DIR/MEMBER: the directory's shared _base files plus that member
        head, member = name_or_path.rsplit("/", 1)
        base_dir = Path(head) if Path(head).is_dir() else bundled_dir() / head
        if base_dir.is_dir() and any(p.stem == member or p.name == member for p in base_dir.glob("*.yaml")):
            return name_or_path, scenario_files(base_dir, member)
    if bundled.with_suffix(".yaml").is_file():
        return name_or_path, [bundled.with_suffix(".yaml")]
    raise ScenarioError(
        name_or_path, f"no such scenario file or bundled scenario (bundled: {', '.join(bundled_names())})"
    )


def bundled_names() -> list[str]:
    """Bundled scenarios. A directory with ``_`` base files is one cluster (and each member with the base);
    a directory without them is a collection of independent scenarios, listed by member only."""
    names = []
    for p in sorted(bundled_dir().iterdir()):
        if p.is_dir():
            if any(f.name.startswith("_") for f in p.glob("*.yaml")):
                names.append(p.name)
            names += [f"{p.name}/{f.stem}" for f in sorted(p.glob("*.yaml")) if not f.name.startswith("_")]
        elif p.suffix == ".yaml":
            names.append(p.stem)
    return names


def describe_bundled() -> list[tuple[str, str]]:
    out = []
    for name in bundled_names():
        try:
            out.append((name, load(name).description.split("\n")[0]))
        except ScenarioError as exc:
            out.append((name, f"(broken: {exc})"))
    return out


def load(name_or_path: str) -> Scenario:
    name, files = resolve(name_or_path)
    scenario = Scenario(name=name)
    for path in files:
        load_file(path, scenario)
    fill_server_fields(scenario)
    return scenario


def load_paths(paths: list[Path], name: str = "scenario") -> Scenario:
    scenario = Scenario(name=name)
    for path in paths:
        for f in scenario_files(path):
            load_file(f, scenario)
    fill_server_fields(scenario)
    return scenario


# ---- what the API server would have filled in ---------------------------------------------------------------

_CLUSTER_SCOPED = {
    "Node",
    "PersistentVolume",
    "Namespace",
    "StorageClass",
    "APIService",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "IngressClass",
    "VolumeAttachment",
    "CSIDriver",
}


_GENERATION_GROUPS = {"apps", "batch", "autoscaling", "policy", "networking.k8s.io"}


def fill_server_fields(scenario: Scenario, cluster_scoped: set[str] | None = None) -> None:
    scoped = set(_CLUSTER_SCOPED) | (cluster_scoped or set())
    for crd in (o for o in scenario.objects if o["kind"] == "CustomResourceDefinition"):
        if (crd.get("spec") or {}).get("scope") == "Cluster":
            scoped.add(((crd.get("spec") or {}).get("names") or {}).get("kind", ""))
    created = format_time(scenario.captured_at)
    index: dict[tuple[str, str, str], dict[str, Any]] = {}
    namespaces = set()
    for obj in scenario.objects:
        meta = obj.setdefault("metadata", {})
        meta.pop("managedFields", None)
        if obj["kind"] in scoped:
            meta.pop("namespace", None)
        else:
            meta.setdefault("namespace", "default")
            namespaces.add(meta["namespace"])
        if "uid" not in meta:  # (not setdefault: a generated cluster brings its own, and uuid5 is slow)
            meta["uid"] = object_uid(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
        meta.setdefault("creationTimestamp", created)
        if "spec" in obj and "/" in obj["apiVersion"] and obj["apiVersion"].split("/")[0] in _GENERATION_GROUPS:
            meta.setdefault("generation", 1)
        index[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
    for ns in sorted(namespaces):
        if ("Namespace", "", ns) not in index:
            obj = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "uid": object_uid("v1", "Namespace", "", ns),
                    "creationTimestamp": created,
                    "labels": {"kubernetes.io/metadata.name": ns},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            scenario.objects.append(obj)
            index[("Namespace", "", ns)] = obj
    for obj in scenario.objects:
        meta = obj["metadata"]
        if obj["kind"] == "Pod":
            _fill_container_statuses(obj)
        for ref in meta.get("ownerReferences") or []:
            owner = index.get((ref.get("kind"), meta.get("namespace", ""), ref.get("name")))
            if owner and not ref.get("uid"):
                ref["uid"] = owner["metadata"]["uid"]
        if obj["kind"] == "Event":
            ref = obj.get("involvedObject") or obj.get("regarding")
            if isinstance(ref, dict) and not ref.get("uid"):
                kind, name = ref.get("kind") or "", ref.get("name") or ""
                target = index.get((kind, ref.get("namespace", ""), name)) or index.get((kind, "", name))
                if target:
                    ref["uid"] = target["metadata"]["uid"]


def _fill_container_statuses(pod: dict[str, Any]) -> None:
    """Fields a kubelet always reports, which clients (kubernetes>=33 validates them) rely on."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    for specs, statuses in (("containers", "containerStatuses"), ("initContainers", "initContainerStatuses")):
        images = {c.get("name"): c.get("image", "") for c in spec.get(specs) or [] if isinstance(c, dict)}
        for cs in status.get(statuses) or []:
            if not isinstance(cs, dict):
                continue
            cs.setdefault("image", images.get(cs.get("name"), ""))
            cs.setdefault("imageID", "")
            cs.setdefault("ready", False)
            cs.setdefault("restartCount", 0)
