"""OpenAPI v3 (``/openapi/v3``, one document per group-version) and v2 (``/openapi/v2``) for the served kinds.

The schemas are the official ones, as ``kubernetes-validate`` ships them (JSON Schema converted from the
Kubernetes OpenAPI documents, one set per minor version); here they are turned back into OpenAPI: ``$ref`` into
``#/components/schemas`` (v3) or ``#/definitions`` (v2), ``type: [T, "null"]`` into ``type: T``. Each document
carries the schemas its kinds reach and, per resource, a PATCH operation listing the ``fieldValidation``
parameter with the kind's ``x-kubernetes-group-version-kind``: kubectl (1.27+) reads that to send
``fieldValidation=Strict`` instead of validating on the client, and ``kubectl explain`` reads the schemas.
Custom resources are described by the ``openAPIV3Schema`` of their CRD.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any

from .resources import Resource

_SCHEMA_DIR = "kubernetes-json-schema"
_PATCH_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")


class OpenAPIUnavailable(Exception):
    """The schema package is not installed or has no schemas."""


@functools.lru_cache(maxsize=4)
def _definitions(minor: int) -> dict[str, Any]:
    """The official definitions of the closest Kubernetes minor version ``kubernetes-validate`` ships."""
    try:
        root = resources.files("kubernetes_validate") / _SCHEMA_DIR
        versions = sorted(
            int(p.name.split(".")[1])
            for p in root.iterdir()
            if p.name.startswith("v1.") and p.name.endswith(".0-local")
        )
    except (ModuleNotFoundError, FileNotFoundError, ValueError, IndexError) as exc:
        raise OpenAPIUnavailable(f"the kubernetes-validate package is not installed ({exc})") from None
    if not versions:
        raise OpenAPIUnavailable("the kubernetes-validate package ships no schemas")
    chosen = min(versions, key=lambda v: (abs(v - minor), -v))
    data = json.loads((root / f"v1.{chosen}.0-local" / "_definitions.json").read_text(encoding="utf-8"))
    defs: dict[str, Any] = data["$defs"]
    return defs


def _convert(node: Any, prefix: str) -> Any:
    """JSON Schema 2020-12 → OpenAPI: refs re-pointed, nullable type lists collapsed."""
    if isinstance(node, list):
        return [_convert(n, prefix) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = prefix + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            if len(kinds) == 1:
                out[key] = kinds[0]
        elif key == "properties" and isinstance(value, dict):
            # apiVersion and kind are pinned by an enum in the JSON Schema; the API documents leave them free
            out[key] = {
                k: _convert(
                    {f: x for f, x in v.items() if not (k in ("apiVersion", "kind") and f == "enum")}
                    if isinstance(v, dict)
                    else v,
                    prefix,
                )
                for k, v in value.items()
            }
        else:
            out[key] = _convert(value, prefix)
    return out


def _gvk(res: Resource) -> dict[str, str]:
    return {"group": res.group, "version": res.version, "kind": res.kind}


def _closure(defs: dict[str, Any], names: list[str]) -> list[str]:
    """The definitions these reach through ``$ref`` (themselves included), in a stable order."""
    seen: dict[str, None] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = None
        text = json.dumps(defs[name])
        for part in text.split('"$ref": "')[1:]:
            todo.append(part.split('"', 1)[0].rsplit("/", 1)[-1])
    return sorted(seen)


def _schema_names(defs: dict[str, Any], res_list: list[Resource]) -> dict[tuple[str, str, str], str]:
    """(group, version, kind) → the definition name whose x-kubernetes-group-version-kind says so."""
    wanted = {(r.group, r.version, r.kind) for r in res_list}
    out = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
            if key in wanted:
                out[key] = name
    return out


def _crd_schema(res: Resource, crds: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any] | None:
    crd = crds.get((res.group, res.kind))
    for version in ((crd or {}).get("spec") or {}).get("versions") or []:
        if version.get("name") == res.version:
            schema = dict(((version.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object"})
            schema["x-kubernetes-group-version-kind"] = [_gvk(res)]
            return schema
    return None


def _path(res: Resource) -> str:
    base = "/api/v1" if not res.group else f"/apis/{res.group}/{res.version}"
    return (
        f"{base}/namespaces/{{namespace}}/{res.plural}/{{name}}" if res.namespaced else f"{base}/{res.plural}/{{name}}"
    )


def _operation(res: Resource, action: str) -> dict[str, Any]:
    params = (
        [{"name": p, "in": "query", "schema": {"type": "string"}} for p in _PATCH_PARAMS] if action == "patch" else []
    )
    return {
        "operationId": f"{action}{res.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(res),
    }


def group_version_doc(
    res_list: list[Resource], minor: int, git_version: str, crds: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version."""
    defs = _definitions(minor)
    names = _schema_names(defs, res_list)
    schemas = {n: _convert(defs[n], "#/components/schemas/") for n in _closure(defs, list(names.values()))}
    for res in res_list:
        if (res.group, res.version, res.kind) not in names:
            crd = _crd_schema(res, crds)
            if crd is not None:
                schemas[f"{res.group}.{res.version}.{res.kind}"] = crd
    paths = {
        _path(r): {"get": _operation(r, "get"), "patch": _operation(r, "patch")}
        for r in res_list
        if r.group != "metrics.k8s.io"
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": git_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def v3_index(group_versions: list[str], minor: int) -> dict[str, Any]:
    """``/openapi/v3``: where each group-version's document is, with a hash that changes with its content."""

    def url(gv: str) -> str:
        path = "api/v1" if gv == "v1" else f"apis/{gv}"
        digest = hashlib.sha256(f"{minor}:{gv}".encode()).hexdigest()[:32].upper()
        return f"/openapi/v3/{path}?hash={digest}"

    return {
        "paths": {("api/v1" if gv == "v1" else f"apis/{gv}"): {"serverRelativeURL": url(gv)} for gv in group_versions}
    }


def v2_doc(res_list: list[Resource], minor: int, git_version: str) -> dict[str, Any]:
    """``/openapi/v2`` (JSON): every definition the served kinds reach, and their PATCH operations."""
    defs = _definitions(minor)
    names = _schema_names(defs, res_list)
    definitions = {n: _convert(defs[n], "#/definitions/") for n in _closure(defs, list(names.values()))}
    paths = {}
    for r in res_list:
        if (r.group, r.version, r.kind) in names:
            op = _operation(r, "patch")
            op["parameters"] = [
                {"name": p, "in": "query", "type": "string", "uniqueItems": True} for p in _PATCH_PARAMS
            ]
            paths[_path(r)] = {"patch": op}
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": git_version},
        "paths": paths,
        "definitions": definitions,
    }


def unknown_fields(obj: dict[str, Any], res: Resource, minor: int) -> list[str]:
    """The paths of fields the kind's schema does not have (``fieldValidation=Strict``); [] when the kind has no
    official schema (a custom resource) or the schema package is missing."""
    try:
        defs = _definitions(minor)
    except OpenAPIUnavailable:
        return []
    name = _schema_names(defs, [res]).get((res.group, res.version, res.kind))
    if name is None:
        return []
    found: list[str] = []

    def walk(value: Any, schema: dict[str, Any], path: str) -> None:
        while "$ref" in schema:
            schema = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            for key, sub in value.items():
                where = f"{path}.{key}" if path else key
                if props is not None and key in props:
                    walk(sub, props[key], where)
                elif isinstance(extra, dict):
                    walk(sub, extra, where)
                elif props is not None:
                    found.append(where)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                walk(item, schema["items"], f"{path}[{i}]")

    walk(obj, defs[name], "")
    return found


__all__ = ["OpenAPIUnavailable", "group_version_doc", "unknown_fields", "v2_doc", "v3_index"]
