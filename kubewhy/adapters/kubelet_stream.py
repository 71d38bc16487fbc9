"""The kubelet sampler's reads: cAdvisor's exposition parsed as it streams in, keeping only the three families the
metric rules need (CFS periods, throttled periods, working set), and the Summary API's volume figures.

cAdvisor's ``/metrics/cadvisor`` is megabytes on a busy node (dozens of families per container); it is read line
by line from the socket and a line is looked at only when it starts with one of the needed names, so the
sampler holds one line at a time, never the body. A node proxy that cannot stream (a test double) is read whole
and parsed the same way.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import KubeApiError
from .ports import NodeProxy

PERIODS = "container_cpu_cfs_periods_total"
THROTTLED = "container_cpu_cfs_throttled_periods_total"
WORKING_SET = "container_memory_working_set_bytes"
FAMILIES = (PERIODS, THROTTLED, WORKING_SET)
_PREFIXES = (b"container_cpu_cfs_", b"container_memory_working_set_bytes")
_NAMES = frozenset(f.encode() for f in FAMILIES)
Key = tuple[str, str, str]  # namespace, pod, container


@runtime_checkable
class NodeProxyLines(Protocol):
    """A node proxy that hands the body over line by line (:meth:`LiveKube.node_proxy_lines`)."""

    async def node_proxy_lines(
        self,
        node: str,
        path: str,
        consume: Callable[[Iterator[bytes]], Any],
        timeout: float,
        executor: Executor | None = None,
    ) -> Any: ...


@dataclass(slots=True)
class Counters:
    """One container's figures in one cAdvisor answer; ``instance``: cAdvisor's cgroup ``id`` (or runtime
    ``name``) label, which changes when the container is restarted (empty when the kubelet gives neither)."""

    periods: float | None = None
    throttled: float | None = None
    working_set: float | None = None
    instance: str = ""


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*(?:\\.[^"\\]*)*)"')  # a value's escapes, unrolled
_ESCAPE = re.compile(r"\\(.)")
_WANTED = ("namespace", "pod", "container", "id", "name")


def _labels(text: str) -> dict[str, str]:
    """``{a="x",b="y"}`` (the braces excluded): the labels the sampler keys by, escapes undone."""
    return {
        k: _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), v) if "\\" in v else v
        for k, v in _LABEL.findall(text)
        if k in _WANTED
    }


def parse_lines(lines: Iterable[bytes], *, deadline: float | None = None) -> dict[Key, Counters]:
    """The three families of a cAdvisor exposition, per (namespace, pod, container); the pod's own cgroup
    (``container=""``) and the pause container (``POD``) left out. ``deadline`` (``time.monotonic()``): a node
    that trickles its answer past it raises ``TimeoutError``."""
    out: dict[Key, Counters] = {}
    for count, raw in enumerate(lines):
        if deadline is not None and count % 256 == 0 and time.monotonic() > deadline:
            raise TimeoutError("the kubelet's answer took too long")
        if not raw.startswith(_PREFIXES):
            continue
        brace = raw.find(b"{")
        if brace < 0 or raw[:brace] not in _NAMES:  # a family sharing the prefix: not even decoded
            continue
        line = raw.decode("utf-8", "replace").strip()
        name = line[:brace]
        close = line.rfind("}")
        if close < brace:
            continue
        fields = line[close + 1 :].split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        labels = _labels(line[brace + 1 : close])
        container = labels.get("container", "")
        if container in ("", "POD"):
            continue
        key = (labels.get("namespace", ""), labels.get("pod", ""), container)
        counters = out.setdefault(key, Counters())
        counters.instance = labels.get("id") or labels.get("name") or counters.instance
        if name == PERIODS:
            counters.periods = value
        elif name == THROTTLED:
            counters.throttled = value
        else:
            counters.working_set = value
    return out


@dataclass(frozen=True)
class VolumeFigures:
    used: float
    capacity: float
    available: float


def volumes_of(doc: Any) -> dict[tuple[str, str], VolumeFigures]:
    """Used, capacity and available bytes per (namespace, claim) from a ``/stats/summary`` document."""
    out: dict[tuple[str, str], VolumeFigures] = {}
    if not isinstance(doc, dict):
        return out
    for pod in doc.get("pods") or []:
        for v in (pod or {}).get("volume") or []:
            ref = (v or {}).get("pvcRef")
            if not ref or "usedBytes" not in v or "capacityBytes" not in v:
                continue
            used, cap = float(v["usedBytes"]), float(v["capacityBytes"])
            out[(ref.get("namespace", ""), ref.get("name", ""))] = VolumeFigures(
                used, cap, float(v.get("availableBytes", max(cap - used, 0.0)))
            )
    return out


async def read_cadvisor(
    proxy: NodeProxy, node: str, timeout: float, executor: Executor | None = None
) -> dict[Key, Counters]:
    """One node's three families; ``KubeApiError`` (403, 503 …), ``ClusterUnreachable`` or ``TimeoutError``
    when the node cannot be read. ``executor``: the threads that read (the caller's own pool)."""
    deadline = time.monotonic() + timeout
    if isinstance(proxy, NodeProxyLines):
        parsed: dict[Key, Counters] = await proxy.node_proxy_lines(
            node, "metrics/cadvisor", lambda lines: parse_lines(lines, deadline=deadline), timeout + 1.0, executor
        )  # the socket's own bound a little later than the caller's: a hung kubelet is a timeout, not unreachable
        return parsed
    text = await proxy.node_proxy(node, "metrics/cadvisor")
    return parse_lines((line.encode() for line in text.splitlines()), deadline=deadline)


async def read_volumes(
    proxy: NodeProxy, node: str, timeout: float, executor: Executor | None = None
) -> dict[tuple[str, str], VolumeFigures]:
    """One node's volume figures from ``/stats/summary`` (a small JSON document: read whole)."""
    if isinstance(proxy, NodeProxyLines):
        deadline = time.monotonic() + timeout

        def whole(lines: Iterator[bytes]) -> str:
            body = []
            for line in lines:
                if time.monotonic() > deadline:
                    raise TimeoutError("the kubelet's answer took too long")
                body.append(line)
            return b"".join(body).decode("utf-8", "replace")

        text: str = await proxy.node_proxy_lines(node, "stats/summary", whole, timeout + 1.0, executor)
    else:
        text = await proxy.node_proxy(node, "stats/summary")
    try:
        doc = json.loads(text)
    except ValueError:
        raise KubeApiError(f"the kubelet of {node} answered /stats/summary with something that is not JSON") from None
    return volumes_of(doc)


__all__ = [
    "FAMILIES",
    "Counters",
    "NodeProxyLines",
    "VolumeFigures",
    "parse_lines",
    "read_cadvisor",
    "read_volumes",
    "volumes_of",
]
