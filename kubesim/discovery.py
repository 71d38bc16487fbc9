"""Aggregated discovery: ``/api`` and ``/apis`` as one ``APIGroupDiscoveryList`` each, as a 1.30 API server serves.

kubectl 1.27+ asks for it first (``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``,
v2beta1 before 1.30) and, when it gets it, builds its RESTMapper, short names and categories (``get all``) from
those two answers alone, with no request per group/version. The documents are built from the same per-version
resource lists as the legacy ``/api/v1`` and ``/apis/GROUP/VERSION`` (kubesim/resources.py), so both agree.
"""

from __future__ import annotations

from typing import Any

from .resources import ResourceCatalog

GROUP = "apidiscovery.k8s.io"
VERSIONS = ("v2", "v2beta1")


def negotiate(accept: str) -> str | None:
    """The apidiscovery version the Accept header asks for first, or None for the legacy documents."""
    for part in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in part.split(";")[1:])
        if params.get("g") == GROUP and params.get("as") == "APIGroupDiscoveryList" and params.get("v") in VERSIONS:
            return params["v"]
        if part.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def content_type(version: str) -> str:
    return f"application/json;g={GROUP};v={version};as=APIGroupDiscoveryList"


def _version_entry(catalog: ResourceCatalog, group: str, version: str) -> dict[str, Any]:
    legacy = catalog.resource_list(group, version) or {"resources": []}
    resources: list[dict[str, Any]] = []
    for entry in legacy["resources"]:
        name, _, sub = entry["name"].partition("/")
        kind = {"group": entry.get("group", group), "version": entry.get("version", version), "kind": entry["kind"]}
        if sub:
            parent = next(r for r in resources if r["resource"] == name)
            parent.setdefault("subresources", []).append(
                {"subresource": sub, "responseKind": kind, "verbs": entry["verbs"]}
            )
            continue
        item: dict[str, Any] = {
            "resource": name,
            "responseKind": kind,
            "scope": "Namespaced" if entry["namespaced"] else "Cluster",
            "singularResource": entry["singularName"],
            "verbs": entry["verbs"],
        }
        for key in ("shortNames", "categories"):
            if entry.get(key):
                item[key] = entry[key]
        resources.append(item)
    return {"version": version, "resources": resources, "freshness": "Current"}


def aggregated(catalog: ResourceCatalog, core: bool, version: str) -> dict[str, Any]:
    """``/api`` (core) or ``/apis`` as an APIGroupDiscoveryList of the given apidiscovery version."""
    served = catalog.group_versions()
    groups = ([""] if "" in served else []) if core else catalog.group_names()
    items = [
        {
            "metadata": {"name": g, "creationTimestamp": None} if g else {"creationTimestamp": None},
            "versions": [_version_entry(catalog, g, v) for v in served[g]],
        }
        for g in groups
    ]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"{GROUP}/{version}", "metadata": {}, "items": items}


__all__ = ["aggregated", "content_type", "negotiate"]
