"""Troubleshoot support bundles (``support-bundle-….tar.gz`` or its extracted directory) as snapshot input.

A bundle keeps the cluster's objects as JSON under ``cluster-resources/``: one file per namespace for namespaced
kinds (``cluster-resources/pods/<ns>.json``, ``events/<ns>.json``, ``deployments/<ns>.json`` …), one file for
cluster-scoped ones (``cluster-resources/nodes.json``), and container logs as
``cluster-resources/pods/logs/<ns>/<pod>/<container>.log`` (``<container>-previous.log`` for the previous run).
The JSON is a ``…List`` or a bare array whose items, as client-go writes them, often lack ``kind`` and
``apiVersion``: those come from the file's place. Files the collector wrote for its own errors
(``*-errors.json``) are skipped. Every error names the file (and, inside an archive, the member).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .. import kinds

ROOT = "cluster-resources"
# The bundle's directory and file names that are not a kind's plural.
_BUNDLE_NAMES = {
    "pvcs": "PersistentVolumeClaim",
    "pvs": "PersistentVolume",
    "storage-classes": "StorageClass",
    "ingress": "Ingress",
    "pod-disruption-budgets": "PodDisruptionBudget",
    "resource-quota": "ResourceQuota",
    "limitranges": "LimitRange",
    "custom-resource-definitions": "CustomResourceDefinition",
    "cronjobs": "CronJob",
    "endpoints": "Endpoints",
}


class BundleError(ValueError):
    """A bundle member that cannot be read; the message starts with the file (and member)."""


def is_bundle(path: Path) -> bool:
    name = path.name.lower()
    if path.is_file():
        return name.endswith((".tar.gz", ".tgz", ".tar"))
    return path.is_dir() and (
        path.name == ROOT or (path / ROOT).is_dir() or any((p / ROOT).is_dir() for p in path.iterdir() if p.is_dir())
    )


def _kind_of(parts: tuple[str, ...]) -> str | None:
    """The kind a member's path stands for: ``pods/ns.json`` → Pod, ``nodes.json`` → Node."""
    name = parts[0] if len(parts) > 1 else PurePosixPath(parts[0]).stem
    return _BUNDLE_NAMES.get(name) or kinds.kind_named(name)


def _members(path: Path) -> Iterator[tuple[str, tuple[str, ...], bytes]]:
    """(where, parts below cluster-resources, content) of every file of the bundle."""
    if path.is_file():
        try:
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    parts = PurePosixPath(member.name).parts
                    if member.isfile() and ROOT in parts:
                        data = tar.extractfile(member)
                        if data is not None:
                            yield f"{path}!{member.name}", parts[parts.index(ROOT) + 1 :], data.read()
        except (tarfile.TarError, OSError) as exc:
            raise BundleError(f"{path}:1: not a readable support bundle archive: {exc}") from None
        return
    roots = (
        [path]
        if path.name == ROOT
        else [path / ROOT]
        if (path / ROOT).is_dir()
        else [p / ROOT for p in sorted(path.iterdir()) if (p / ROOT).is_dir()]
    )
    for root in roots:
        for f in sorted(root.rglob("*")):
            if f.is_file():
                yield str(f), f.relative_to(root).parts, f.read_bytes()


def read_bundle(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """The objects and the container logs (``ns/pod/container`` → {current, previous}) of a bundle."""
    objects: list[dict[str, Any]] = []
    logs: dict[str, dict[str, str]] = {}
    for where, parts, data in _members(path):
        if len(parts) >= 5 and parts[0] == "pods" and parts[1] == "logs" and parts[-1].endswith(".log"):
            ns, pod, container = parts[2], parts[3], parts[-1][: -len(".log")]
            which = "current"
            if container.endswith("-previous"):
                container, which = container[: -len("-previous")], "previous"
            logs.setdefault(f"{ns}/{pod}/{container}", {})[which] = data.decode("utf-8", errors="replace")
            continue
        if not parts or not parts[-1].endswith(".json") or parts[-1].endswith("-errors.json"):
            continue
        kind = _kind_of(parts)
        if kind is None:
            continue  # a kind kubewhy does not read (auth-cani-list, groups, resources …)
        try:
            content = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BundleError(f"{where}:1: not JSON: {exc}") from None
        items = content.get("items") if isinstance(content, dict) and "items" in content else content
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise BundleError(f"{where}:1: expected a list of {kind} objects")
        info = kinds.info(kind)
        for item in items:
            if not isinstance(item, dict):
                raise BundleError(f"{where}:1: a {kind} item must be a mapping, got {type(item).__name__}")
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", info.api_version)
            objects.append(item)
    return objects, logs
