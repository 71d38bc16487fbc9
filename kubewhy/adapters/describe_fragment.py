"""Fragments of ``kubectl describe`` output made whole, once :mod:`.describe_paste` has undone the paste's chat and
Markdown dress.

:func:`as_describe` drops what comes before a describe (a prompt, ``$ kubectl describe …``, a sentence) and turns a
fragment (text that does not start with ``Name:``) into a describe the reader can take: an Events table alone, a
Conditions block, a State / Last State block, bare ``Type Reason Age From Message`` rows, or one event message such
as ``0/3 nodes are available: 3 Insufficient memory.``. The kind is inferred from what the fragment holds (container
states: a Pod; ``Taints:``/``Capacity:``: a Node; ``StorageClass:`` with ``Access Modes``: a PVC; ``Replicas:`` with
``StrategyType``: a Deployment; ``Reference:``/``Min replicas``: an HPA; ``Selector:`` with ``Endpoints:`` or
``TargetPort``: a Service), else from the events' reasons and messages (a scheduler, kubelet or volume message is
about a Pod, a provisioning one about a PVC, a metrics one about an HPA, a PLEG or pressure one about a Node), else
a Pod. A message without its row is a Warning seen last when pasted and first a minute before (its age is not
known), from the component that reports such messages. The object is named :data:`PLACEHOLDER` (``pasted``) in
namespace ``default``, and the events are attached to it, so playbooks read the message as that object's evidence. A
fragment is never refused.
"""

from __future__ import annotations

import re

PLACEHOLDER = "pasted"
_EVENT_ROW = re.compile(
    # From is "kubelet" or, before kubectl 1.20, "kubelet, node-1"
    r"^\s*(Normal|Warning)\s+([A-Za-z]+)\s+(\S+(?:\s+\(x\d+\s+over\s+\S+\))?)\s+([^\s,]+(?:,\s*\S+)?)\s+(\S.*)$"
)
_EVENT_HEADER = re.compile(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$")
_CONDITION_ROW = re.compile(
    r"^\s*(Ready|ContainersReady|PodScheduled|Initialized|PodReadyToStartContainers|MemoryPressure|DiskPressure|"
    r"PIDPressure|NetworkUnavailable|Available|Progressing|ReplicaFailure|AbleToScale|ScalingActive|ScalingLimited)"
    r"\s+(True|False|Unknown)\b"
)
# Markers of a kind, tried in order over a fragment's keys (first word before a colon at any indentation).
_MARKERS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("Reference: ", ("Reference", "Min replicas", "Max replicas"), ()),
    ("StrategyType: RollingUpdate", ("StrategyType", "NewReplicaSet"), ()),
    ("Taints: <none>", ("Taints", "Capacity", "Allocatable", "Kubelet Version"), ()),
    ("StorageClass: ", ("StorageClass",), ("Access Modes",)),
    ("TargetPort: ", ("TargetPort", "Endpoints"), ("Selector",)),
]
_POD = "Start Time: <unset>"
# (pattern in a message, reason of the event, the kind it is about)
_MESSAGES: list[tuple[str, str, str]] = [
    (r"nodes are available|didn't match|Insufficient (cpu|memory)|untolerated taint", "FailedScheduling", "Pod"),
    (r"Back-off restarting failed container|CrashLoopBackOff", "BackOff", "Pod"),
    (r"(Liveness|Readiness|Startup) probe failed", "Unhealthy", "Pod"),
    (r"ImagePullBackOff|ErrImagePull|Failed to pull image|pull access denied|manifest unknown", "Failed", "Pod"),
    (r"MountVolume|Unable to attach or mount|FailedMount|timed out waiting for the condition", "FailedMount", "Pod"),
    (r"Multi-Attach error", "FailedAttachVolume", "Pod"),
    (r"OOMKilled|out of memory", "OOMKilling", "Pod"),
    (r"CreateContainerConfigError|configmap .* not found|secret .* not found", "Failed", "Pod"),
    (r"FailedCreatePodSandBox|failed to create pod sandbox", "FailedCreatePodSandBox", "Pod"),
    (
        r"no persistent volumes available|waiting for first consumer|storageclass",
        "ProvisioningFailed",
        "PersistentVolumeClaim",
    ),
    (
        r"failed to get (cpu|memory) utilization|unable to get metrics|invalid metrics",
        "FailedGetResourceMetric",
        "HorizontalPodAutoscaler",
    ),
    (r"PLEG is not healthy|NodeNotReady|Kubelet stopped posting", "NodeNotReady", "Node"),
    (r"exceeded quota|forbidden", "FailedCreate", "ReplicaSet"),
]
_KIND_MARK = {
    "Pod": _POD,
    "PersistentVolumeClaim": "StorageClass: ",
    "HorizontalPodAutoscaler": "Reference: ",
    "Node": "Taints: <none>",
    "ReplicaSet": "Replicas: 0 current / 0 desired\nPod Template:\n  Labels: <none>",
    "Deployment": "StrategyType: RollingUpdate",
    "Service": "TargetPort: ",
}


def looks_like_fragment(text: str) -> bool:
    """A piece of describe output (an Events table or row, a Conditions row, a State block) or an event message
    kubewhy knows, and not a Kubernetes manifest (``apiVersion:``/``kind:``/``items:`` at the top level)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if any(re.match(r"^(apiVersion|kind|items|metadata):", ln) for ln in lines):
        return False
    if any(_EVENT_ROW.match(ln) or _EVENT_HEADER.match(ln) or _CONDITION_ROW.match(ln) for ln in lines):
        return True
    if any(re.match(r"^\s*(State|Last State|Events|Conditions):", ln) for ln in lines):
        return True
    return any(re.search(pattern, text, re.IGNORECASE) for pattern, _, _ in _MESSAGES)


def _starts_with_name(text: str) -> bool:
    """The text opens with a describe's own ``Name:`` (not a volume's or a claim template's, nested deeper than
    the lines after it)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not re.match(r"^\s*Name:\s*\S", lines[0]):
        return False
    indent = len(lines[0]) - len(lines[0].lstrip())
    return all(len(ln) - len(ln.lstrip()) >= indent for ln in lines[1:])


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A describe table as kubectl aligns it: each column as wide as its widest cell, the last one free."""
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(len(header) - 1)]
    lines = [title]
    for row in [header, tuple("-" * len(h) for h in header), *rows]:
        lines.append("  " + "".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + row[-1])
    return lines


_CONDITION_HEADERS = {
    2: ("Type", "Status"),
    3: ("Type", "Status", "Reason"),
    4: ("Type", "Status", "Reason", "Message"),
    6: ("Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"),
}
# A message pasted without its row has no age; it is taken as first seen a minute before the paste, past the
# half minute the time-gated playbooks wait out (someone pasted it because it did not go away).
_LOOSE_AGE = "0s (x1 over 1m)"
# The component that reports an event of each reason, for a message pasted without its row.
_SOURCE = {
    "FailedScheduling": "default-scheduler",
    "ProvisioningFailed": "persistentvolume-controller",
    "FailedGetResourceMetric": "horizontal-pod-autoscaler",
    "FailedCreate": "replicaset-controller",
    "NodeNotReady": "node-controller",
}


def _kind_from_events(messages: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """The kind the events are most likely about, and for each message without a reason the one it implies."""
    kind = None
    reasons = []
    for reason, message in messages:
        implied = ""
        for pattern, r, k in _MESSAGES:
            if re.search(pattern, message, re.IGNORECASE) or reason == r:
                implied = r
                kind = kind or k
                break
        reasons.append(reason or implied or "Pasted")
    return kind, reasons


def as_describe(text: str) -> str:
    """``text`` itself if it is describe output, else the fragment wrapped in a describe of a placeholder object."""
    if _starts_with_name(text):
        return text
    head = next((i for i, ln in enumerate(text.split("\n")) if re.match(r"^\s{0,2}Name:\s+\S", ln)), None)
    preamble = [ln for ln in text.split("\n")[:head] if ln.strip()] if head is not None else []
    # A preamble is a prompt or a sentence or two, at the margin: not the cut-off head of a describe holding a
    # nested "Name:" (a StatefulSet's claim template, a ConfigMap volume)
    if head is not None and len(preamble) <= 3 and not any(ln[:1].isspace() for ln in preamble):
        if not looks_like_fragment("\n".join(preamble)):
            return "\n".join(text.split("\n")[head:])
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return text
    # A describe whose head was cut off: keep its keys, put the placeholder's name on top.
    has_keys = any(re.match(r"^\s*[A-Z][A-Za-z ]*:(\s|$)", ln) for ln in lines)
    rows = [m.groups() for m in (_EVENT_ROW.match(ln) for ln in lines) if m]
    rest = [ln for ln in lines if not _EVENT_ROW.match(ln) and not _EVENT_HEADER.match(ln)]
    rest = [ln for ln in rest if not re.match(r"^\s*-{3,}(\s+-{3,})*\s*$", ln) and ln.strip() != "Events:"]
    keys = {m.group(1).strip() for m in (re.match(r"^\s*([A-Za-z][A-Za-z ]*?):", ln) for ln in rest) if m}
    kind_mark = None
    for mark, any_of, all_of in _MARKERS:
        if any(k in keys for k in any_of) and all(k in keys for k in all_of):
            kind_mark = mark
            break
    conditions = [ln for ln in rest if _CONDITION_ROW.match(ln)]
    state = any(k in keys for k in ("State", "Last State", "Exit Code", "Restart Count", "Containers"))
    messages = [(r[1], r[4]) for r in rows]
    # One message (it may hold a colon: "PLEG is not healthy: ..."), unless the text is describe lines.
    known = any(re.search(pattern, text, re.IGNORECASE) for pattern, _, _ in _MESSAGES)
    described = rows or conditions or state or kind_mark or (has_keys and not known)
    loose = [] if described else [" ".join(ln.strip() for ln in rest)]
    event_kind, reasons = _kind_from_events(messages or [("", m) for m in loose])
    if kind_mark is None:
        if state:
            kind_mark = _POD
        elif conditions:
            types = {_CONDITION_ROW.match(c).group(1) for c in conditions}  # type: ignore[union-attr]
            if types & {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}:
                kind_mark = _KIND_MARK["Node"]
            elif types & {"AbleToScale", "ScalingActive", "ScalingLimited"}:
                kind_mark = _KIND_MARK["HorizontalPodAutoscaler"]
            elif types & {"Available", "Progressing", "ReplicaFailure"}:
                kind_mark = _KIND_MARK["Deployment"]
            else:
                kind_mark = _POD
        else:
            kind_mark = _KIND_MARK.get(event_kind or "Pod", _POD)
    # The kind's marker, unless the fragment has the key itself (a pasted "Taints:" must not follow "Taints: <none>")
    marks = [ln for ln in kind_mark.split("\n") if ln.startswith(" ") or ln.split(":")[0] not in keys]
    out = [f"Name: {PLACEHOLDER}", "Namespace: default", *marks]
    body: list[str] = []
    if loose:
        rows = [("Warning", reasons[0], _LOOSE_AGE, _SOURCE.get(reasons[0], "kubelet"), loose[0])]
    elif rows:
        rows = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    if conditions and not any(ln.strip() == "Conditions:" for ln in rest):
        cells = [tuple(re.split(r"\s{2,}", c.strip())) for c in conditions]
        width = max(len(c) for c in cells)
        header = _CONDITION_HEADERS.get(width, _CONDITION_HEADERS[4])
        cells = [(c + ("",) * len(header))[: len(header)] for c in cells]
        out += _table("Conditions:", header, cells)
        rest = [ln for ln in rest if ln not in conditions]
    if not loose:
        body = rest
    if state and "Containers" not in keys and body:
        base = min(len(ln) - len(ln.lstrip()) for ln in body)
        out += ["Containers:", f"  {PLACEHOLDER}:"] + ["    " + ln[base:] for ln in body]
    elif body:
        base = min(len(ln) - len(ln.lstrip()) for ln in body)
        out += [ln[base:] for ln in body]
    if rows:
        out += _table("Events:", ("Type", "Reason", "Age", "From", "Message"), rows)
    return "\n".join(out) + "\n"
