"""PATCH semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge knows the merge keys of the lists that fixes and kubectl touch (containers by name, env by
name, conditions by type ...); other lists are replaced, as the API server does for lists without a key.
"""

from __future__ import annotations

import copy
from typing import Any

# list field name -> merge key, from the Kubernetes API's patchMergeKey tags.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "conditions": "type",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "taints": "key",
    "addresses": "type",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
PRIMITIVE_MERGE = {"finalizers"}


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, dict):
        directive = patch.get("$patch")
        if directive == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if directive == "delete":
            return None
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
                continue
            if key.startswith("$deleteFromPrimitiveList/"):
                name = key.split("/", 1)[1]
                result[name] = [v for v in result.get(name) or [] if v not in (value or [])]
                continue
            if value is None:
                result.pop(key, None)
            elif isinstance(value, list):
                result[key] = _merge_list(result.get(key), value, key)
            else:
                merged = strategic_merge_patch(result.get(key), value, key)
                if merged is None and isinstance(value, dict) and value.get("$patch") == "delete":
                    result.pop(key, None)
                else:
                    result[key] = merged
        return result
    return copy.deepcopy(patch)


def _merge_list(current: Any, patch: list[Any], field: str) -> list[Any]:
    current = current if isinstance(current, list) else []
    if field in PRIMITIVE_MERGE:
        return list(dict.fromkeys([*current, *patch]))
    key = MERGE_KEYS.get(field)
    if not key or not all(isinstance(p, dict) for p in patch):
        if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
            return [p for p in patch if not (isinstance(p, dict) and "$patch" in p)]
        return copy.deepcopy(patch)
    result: list[Any] = copy.deepcopy(current)
    for item in patch:
        if item.get("$patch") == "replace":
            return [copy.deepcopy(p) for p in patch if "$patch" not in p]
        idx = next((i for i, c in enumerate(result) if isinstance(c, dict) and c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
            continue
        if idx is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[idx] = strategic_merge_patch(result[idx], item)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for p in parts:
        if isinstance(doc, list):
            doc = doc[int(p)]
        elif isinstance(doc, dict):
            if p not in doc:
                raise PatchError(f"path /{'/'.join(parts)} does not exist")
            doc = doc[p]
        else:
            raise PatchError(f"path /{'/'.join(parts)} does not exist")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}")
        parts = _pointer(op["path"])
        kind = op["op"]
        try:
            if kind == "test":
                if _walk(doc, parts) != op.get("value"):
                    raise PatchError(f"test failed at {op['path']}")
                continue
            if kind in ("move", "copy"):
                value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
                if kind == "move":
                    doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                continue
            if not parts:
                if kind in ("add", "replace"):
                    doc = copy.deepcopy(op.get("value"))
                    continue
                raise PatchError("cannot remove the whole document")
            parent = _walk(doc, parts[:-1])
            last = parts[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op.get("value")))
                else:
                    parent[last] = copy.deepcopy(op.get("value"))
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    if last not in parent:
                        raise PatchError(f"path {op['path']} does not exist")
                    del parent[last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op.get("value"))
                else:
                    if last not in parent:
                        raise PatchError(f"path {op['path']} does not exist")
                    parent[last] = copy.deepcopy(op.get("value"))
            else:
                raise PatchError(f"unknown JSON patch op {kind!r}")
        except (IndexError, ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, PatchError):
                raise
            raise PatchError(f"cannot apply {kind} at {op['path']}: {exc}") from None
    return doc


def _object(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):  # e.g. a JSON patch that replaces the root ("path": "") with a scalar
        raise PatchError("the patched document is not a JSON object")
    return doc


def apply_patch(target: dict[str, Any], patch: Any, content_type: str) -> dict[str, Any]:
    ct = content_type.split(";")[0].strip()
    if ct == "application/merge-patch+json":
        if not isinstance(patch, dict):
            raise PatchError("a merge patch must be a JSON object")
        return _object(merge_patch(target, patch))
    if ct in ("application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/apply-patch+cbor"):
        if not isinstance(patch, dict):
            raise PatchError("a strategic merge patch must be a JSON object")
        return _object(strategic_merge_patch(target, patch))
    if ct == "application/json-patch+json":
        return _object(json_patch(target, patch))
    raise PatchError(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/apply-patch+yaml, application/strategic-merge-patch+json"
    )
