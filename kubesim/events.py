"""Conversion between core/v1 Events (how they are stored) and events.k8s.io/v1 Events.

A real API server stores one Event type and serves it under both groups; so does the simulator.
"""

from __future__ import annotations

from typing import Any

# events.k8s.io/v1 field selector names -> core/v1 paths
FIELD_ALIASES = {
    "regarding.kind": "involvedObject.kind",
    "regarding.name": "involvedObject.name",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.fieldPath": "involvedObject.fieldPath",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
}


def to_events_v1(ev: dict[str, Any]) -> dict[str, Any]:
    source = ev.get("source") or {}
    out: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": ev.get("metadata") or {},
        # Legacy events have no eventTime; real servers send null, which strict clients reject, so the
        # simulator derives it from the first timestamp.
        "eventTime": ev.get("eventTime")
        or _micro(
            ev.get("firstTimestamp") or ev.get("lastTimestamp") or (ev.get("metadata") or {}).get("creationTimestamp")
        ),
        "reportingController": ev.get("reportingComponent") or source.get("component", ""),
        "reportingInstance": ev.get("reportingInstance") or source.get("host", ""),
        "action": ev.get("action", ""),
        "reason": ev.get("reason", ""),
        "regarding": ev.get("involvedObject") or {},
        "note": ev.get("message", ""),
        "type": ev.get("type", ""),
    }
    if ev.get("related"):
        out["related"] = ev["related"]
    if ev.get("series"):
        out["series"] = ev["series"]
    if source:
        out["deprecatedSource"] = source
    for new, old in (
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ):
        if ev.get(old) is not None:
            out[new] = ev[old]
    return out


def to_core(ev: dict[str, Any]) -> dict[str, Any]:
    if ev.get("apiVersion") != "events.k8s.io/v1":
        return ev
    out: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": ev.get("metadata") or {},
        "involvedObject": ev.get("regarding") or {},
        "reason": ev.get("reason", ""),
        "message": ev.get("note", ""),
        "type": ev.get("type", ""),
        "reportingComponent": ev.get("reportingController", ""),
        "reportingInstance": ev.get("reportingInstance", ""),
        "action": ev.get("action", ""),
        "source": ev.get("deprecatedSource") or {"component": ev.get("reportingController", "")},
        "firstTimestamp": ev.get("deprecatedFirstTimestamp"),
        "lastTimestamp": ev.get("deprecatedLastTimestamp"),
        "count": ev.get("deprecatedCount"),
        "eventTime": ev.get("eventTime"),
    }
    if ev.get("series"):
        out["series"] = ev["series"]
    if ev.get("related"):
        out["related"] = ev["related"]
    return {k: v for k, v in out.items() if v is not None}


def _micro(ts: str | None) -> str | None:
    if not ts:
        return None
    return ts[:-1] + ".000000Z" if ts.endswith("Z") and "." not in ts else ts
