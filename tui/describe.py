"""``d``: an object described as ``kubectl describe`` lays it out — aligned ``Key:  value`` pairs, nested sections,
containers with their state, last state, resources, probes, environment and mounts, the conditions and volumes,
and the object's events as a table (Type, Reason, Age, From, Message).

Pure formatting of what the API server returned (the object and its events): no diagnosis here, that is ``w``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .rows import age, last_seen, timestamp

Obj = dict[str, Any]
TOP_WIDTH = 20  # the top level's values start in one column, as kubectl's do
Pairs = list[tuple[str, Any]]


class Out:
    """Lines being written, with kubectl's alignment: the values of a block of ``Key:`` lines start in one
    column."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pairs(self, pairs: Pairs, indent: int = 0) -> None:
        width = max(max((len(k) for k, _ in pairs), default=0) + 2, TOP_WIDTH if indent == 0 else 0)
        pad = " " * indent
        for key, value in pairs:
            if isinstance(value, list):  # several values: the first beside the key, the rest under it
                values = [str(v) for v in value] or ["<none>"]
                self.lines.append(f"{pad}{key + ':':<{width}}{values[0]}")
                self.lines += [f"{pad}{'':<{width}}{v}" for v in values[1:]]
            elif value is None:
                self.lines.append(f"{pad}{key}:")
            else:
                self.lines.append(f"{pad}{key + ':':<{width}}{value}")

    def line(self, text: str = "", indent: int = 0) -> None:
        self.lines.append(" " * indent + text)

    def table(self, header: tuple[str, ...], rows: Iterable[tuple[Any, ...]], indent: int = 2) -> None:
        body = [tuple(str(c) for c in r) for r in rows]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
        for r in (header, tuple("-" * len(h) for h in header), *body):
            self.line("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip(), indent)


def _map(m: Mapping[str, Any] | None) -> list[str]:
    return [f"{k}={v}" for k, v in sorted((m or {}).items())] or ["<none>"]


def _resources(out: Out, name: str, values: Mapping[str, Any] | None, indent: int) -> None:
    if values:
        out.line(f"{name}:", indent)
        out.pairs([(k, v) for k, v in values.items()], indent + 2)


def probe_text(probe: Obj) -> str:
    """A probe as kubectl prints it: ``http-get http://:8080/healthz delay=0s timeout=1s period=10s …``."""
    if "httpGet" in probe:
        g = probe["httpGet"]
        what = (
            f"http-get {str(g.get('scheme', 'HTTP')).lower()}://{g.get('host', '')}:{g.get('port')}{g.get('path', '')}"
        )
    elif "tcpSocket" in probe:
        what = f"tcp-socket :{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        what = "exec " + str(list((probe["exec"] or {}).get("command") or []))
    elif "grpc" in probe:
        what = f"grpc <pod>:{probe['grpc'].get('port')}"
    else:
        what = "unknown"
    return (
        f"{what} delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
        f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
        f"#failure={probe.get('failureThreshold', 3)}"
    )


def _state(out: Out, title: str, state: Obj | None, indent: int) -> None:
    if not state:
        return
    which, detail = next(iter(state.items()))
    detail = detail or {}
    out.pairs([(title, which.capitalize())], indent)
    pairs: Pairs = []
    for key, label in (
        ("reason", "Reason"),
        ("message", "Message"),
        ("exitCode", "Exit Code"),
        ("startedAt", "Started"),
        ("finishedAt", "Finished"),
    ):
        if detail.get(key) not in (None, ""):
            pairs.append((label, detail[key]))
    out.pairs(pairs, indent + 2)


def _env(container: Obj) -> list[str]:
    out = []
    for e in container.get("env") or []:
        if "value" in e:
            out.append(f"{e.get('name')}: {e['value']}")
        else:
            src = e.get("valueFrom") or {}
            ref: tuple[str, Any] = next(iter(src.items()), ("", {}))
            out.append(f"{e.get('name')}: <set to the key '{(ref[1] or {}).get('key', '')}' of {ref[0]}>")
    for f in container.get("envFrom") or []:
        for kind, source in f.items():
            if isinstance(source, dict):
                out.append(f"{kind}: {source.get('name')}")
    return out


def containers(out: Out, spec: Obj, status: Obj | None, title: str = "Containers", indent: int = 0) -> None:
    statuses = {c.get("name"): c for c in ((status or {}).get("containerStatuses") or [])}
    if title == "Init Containers":
        statuses = {c.get("name"): c for c in ((status or {}).get("initContainerStatuses") or [])}
    key = "initContainers" if title == "Init Containers" else "containers"
    items = spec.get(key) or []
    if not items:
        return
    out.line(f"{title}:", indent)
    for c in items:
        cs = statuses.get(c.get("name"), {})
        out.line(f"{c.get('name')}:", indent + 2)
        ports = [f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or []]
        pairs: Pairs = [("Image", c.get("image", ""))]
        if ports:
            pairs.append(("Port", ", ".join(ports)))
        if c.get("command"):
            pairs.append(("Command", list(c["command"])))
        if c.get("args"):
            pairs.append(("Args", list(c["args"])))
        out.pairs(pairs, indent + 4)
        if status is not None:
            _state(out, "State", cs.get("state"), indent + 4)
            _state(out, "Last State", cs.get("lastState"), indent + 4)
            out.pairs([("Ready", cs.get("ready", False)), ("Restart Count", cs.get("restartCount", 0))], indent + 4)
        res = c.get("resources") or {}
        _resources(out, "Limits", res.get("limits"), indent + 4)
        _resources(out, "Requests", res.get("requests"), indent + 4)
        probes: Pairs = [
            (label, probe_text(c[key]))
            for key, label in (
                ("livenessProbe", "Liveness"),
                ("readinessProbe", "Readiness"),
                ("startupProbe", "Startup"),
            )
            if c.get(key)
        ]
        out.pairs(probes, indent + 4)
        env = _env(c)
        out.pairs([("Environment", env or "<none>")], indent + 4)
        mounts = [
            f"{m.get('mountPath')} from {m.get('name')} ({'ro' if m.get('readOnly') else 'rw'})"
            + (f" subPath {m['subPath']}" if m.get("subPath") else "")
            for m in c.get("volumeMounts") or []
        ]
        out.pairs([("Mounts", mounts or "<none>")], indent + 4)


def volumes(out: Out, spec: Obj, indent: int = 0) -> None:
    vols = spec.get("volumes") or []
    if not vols:
        out.pairs([("Volumes", "<none>")], indent)
        return
    out.line("Volumes:", indent)
    for v in vols:
        out.line(f"{v.get('name')}:", indent + 2)
        kind, src = next(((k, s) for k, s in v.items() if k != "name"), ("", {}))
        src = src if isinstance(src, dict) else {}
        pairs: Pairs = [("Type", f"{kind[:1].upper()}{kind[1:]}")]
        pairs += [(f"{k[:1].upper()}{k[1:]}", val) for k, val in src.items() if not isinstance(val, (dict, list))]
        out.pairs(pairs, indent + 4)


def conditions(out: Out, obj: Obj, *, full: bool = False) -> None:
    conds = (obj.get("status") or {}).get("conditions") or []
    if not conds:
        return
    out.line("Conditions:")
    if full:
        out.table(
            ("Type", "Status", "Reason", "Message"),
            ((c.get("type"), c.get("status"), c.get("reason", ""), c.get("message", "")) for c in conds),
        )
    else:
        out.table(("Type", "Status"), ((c.get("type"), c.get("status")) for c in conds))


def events(out: Out, found: list[Obj], now: float) -> None:
    if not found:
        out.pairs([("Events", "<none>")])
        return
    out.line("Events:")
    rows = []
    for e in sorted(found, key=last_seen):
        count = int(e.get("count") or (e.get("series") or {}).get("count") or 1)
        seen = age(last_seen(e), now)
        first = timestamp(e.get("firstTimestamp") or e.get("eventTime"))
        when = f"{seen} (x{count} over {age(first, now)})" if count > 1 and first else seen
        source = e.get("source") or {}
        who = e.get("reportingComponent") or source.get("component") or ""
        message = " ".join(str(e.get("message") or e.get("note") or "").split())
        rows.append((e.get("type", ""), e.get("reason", ""), when, who, message))
    out.table(("Type", "Reason", "Age", "From", "Message"), rows)


def _header(out: Out, obj: Obj) -> None:
    meta = obj.get("metadata") or {}
    pairs: Pairs = [("Name", meta.get("name", ""))]
    if meta.get("namespace"):
        pairs.append(("Namespace", meta["namespace"]))
    pairs.append(("Labels", _map(meta.get("labels"))))
    notes = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    pairs.append(("Annotations", _map(notes)))
    if meta.get("creationTimestamp"):
        pairs.append(("CreationTimestamp", meta["creationTimestamp"]))
    owners = meta.get("ownerReferences") or []
    if owners:
        pairs.append(("Controlled By", f"{owners[0].get('kind')}/{owners[0].get('name')}"))
    out.pairs(pairs)


def _pod(out: Out, obj: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    node = spec.get("nodeName") or "<none>"
    if status.get("hostIP"):
        node += f"/{status['hostIP']}"
    out.pairs(
        [
            ("Service Account", spec.get("serviceAccountName", "default")),
            ("Node", node),
            ("Start Time", status.get("startTime", "<none>")),
            (
                "Status",
                "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", ""),
            ),
            *([("Reason", status["reason"])] if status.get("reason") else []),
            *([("Message", status["message"])] if status.get("message") else []),
            ("IP", status.get("podIP", "")),
        ]
    )
    containers(out, spec, status, "Init Containers")
    containers(out, spec, status)
    conditions(out, obj)
    volumes(out, spec)
    out.pairs(
        [
            ("QoS Class", status.get("qosClass", "")),
            ("Node-Selectors", _map(spec.get("nodeSelector"))),
            (
                "Tolerations",
                [
                    f"{t.get('key', '')}{':' + t['effect'] if t.get('effect') else ''} op={t.get('operator', 'Equal')}"
                    + (f" for {t['tolerationSeconds']}s" if t.get("tolerationSeconds") else "")
                    for t in spec.get("tolerations") or []
                ]
                or "<none>",
            ),
        ]
    )


def _template(out: Out, spec: Obj) -> None:
    template = spec.get("template") or {}
    out.line("Pod Template:")
    out.pairs([("Labels", _map((template.get("metadata") or {}).get("labels")))], 2)
    containers(out, template.get("spec") or {}, None, indent=2)
    volumes(out, template.get("spec") or {}, 2)


def _workload(out: Out, obj: Obj, kind: str) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels")
    pairs: Pairs = [("Selector", ",".join(_map(selector)))]
    if "replicas" in spec or "replicas" in status:
        pairs.append(
            (
                "Replicas",
                f"{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
                f"{status.get('replicas', 0)} total | "
                f"{status.get('availableReplicas', status.get('readyReplicas', 0))} available | "
                f"{status.get('unavailableReplicas', 0)} unavailable",
            )
        )
    strategy = spec.get("strategy") or spec.get("updateStrategy") or {}
    if strategy.get("type"):
        pairs.append(("StrategyType", strategy["type"]))
    if kind == "StatefulSet":
        pairs.append(("Pod Management Policy", spec.get("podManagementPolicy", "OrderedReady")))
    out.pairs(pairs)
    _template(out, spec)
    for claim in spec.get("volumeClaimTemplates") or []:
        cspec = claim.get("spec") or {}
        out.line("Volume Claims:")
        out.pairs(
            [
                ("Name", (claim.get("metadata") or {}).get("name", "")),
                ("StorageClass", cspec.get("storageClassName", "")),
                ("Capacity", ((cspec.get("resources") or {}).get("requests") or {}).get("storage", "")),
                ("Access Modes", ",".join(cspec.get("accessModes") or [])),
            ],
            2,
        )
    conditions(out, obj, full=True)


def _node(out: Out, obj: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    taints = [
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    out.pairs([("Taints", taints or "<none>"), ("Unschedulable", bool(spec.get("unschedulable")))])
    conds = status.get("conditions") or []
    if conds:
        out.line("Conditions:")
        out.table(
            ("Type", "Status", "LastHeartbeatTime", "Reason", "Message"),
            (
                (
                    c.get("type"),
                    c.get("status"),
                    c.get("lastHeartbeatTime", ""),
                    c.get("reason", ""),
                    c.get("message", ""),
                )
                for c in conds
            ),
        )
    out.line("Addresses:")
    out.pairs([(a.get("type", ""), a.get("address", "")) for a in status.get("addresses") or []], 2)
    for title in ("capacity", "allocatable"):
        if status.get(title):
            out.line(f"{title.capitalize()}:")
            out.pairs(list(status[title].items()), 2)
    info = status.get("nodeInfo") or {}
    if info:
        out.line("System Info:")
        out.pairs(
            [
                ("Kernel Version", info.get("kernelVersion", "")),
                ("OS Image", info.get("osImage", "")),
                ("Container Runtime Version", info.get("containerRuntimeVersion", "")),
                ("Kubelet Version", info.get("kubeletVersion", "")),
            ],
            2,
        )
    out.pairs([("PodCIDR", spec.get("podCIDR", ""))])


def _service(out: Out, obj: Obj, endpoints: list[str] | None) -> None:
    spec = obj.get("spec") or {}
    pairs: Pairs = [
        ("Selector", ",".join(_map(spec.get("selector")))),
        ("Type", spec.get("type", "ClusterIP")),
        ("IP", spec.get("clusterIP", "")),
    ]
    for p in spec.get("ports") or []:
        pairs.append(("Port", f"{p.get('name') or '<unset>'}  {p.get('port')}/{p.get('protocol', 'TCP')}"))
        pairs.append(("TargetPort", f"{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}"))
        if endpoints is not None:
            pairs.append(("Endpoints", ",".join(endpoints) or "<none>"))
    pairs.append(("Session Affinity", spec.get("sessionAffinity", "None")))
    out.pairs(pairs)


def _pvc(out: Out, obj: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    out.pairs(
        [
            ("StorageClass", spec.get("storageClassName", "")),
            ("Status", status.get("phase", "Pending")),
            ("Volume", spec.get("volumeName", "")),
            ("Capacity", (status.get("capacity") or {}).get("storage", "")),
            ("Access Modes", ",".join(status.get("accessModes") or spec.get("accessModes") or [])),
            ("VolumeMode", spec.get("volumeMode", "Filesystem")),
        ]
    )
    conditions(out, obj, full=True)


def _hpa(out: Out, obj: Obj) -> None:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    metrics = []
    for m in spec.get("metrics") or []:
        res = m.get("resource") or {}
        target = res.get("target") or {}
        want = target.get("averageUtilization", target.get("averageValue", target.get("value", "")))
        metrics.append(f"resource {res.get('name', m.get('type', ''))}: target {want}")
    if not metrics and spec.get("targetCPUUtilizationPercentage"):
        metrics.append(f"resource cpu: target {spec['targetCPUUtilizationPercentage']}%")
    out.pairs(
        [
            ("Reference", f"{ref.get('kind')}/{ref.get('name')}"),
            ("Metrics", metrics or "<none>"),
            ("Min replicas", spec.get("minReplicas", 1)),
            ("Max replicas", spec.get("maxReplicas", "")),
            (
                "Deployment pods",
                f"{status.get('currentReplicas', 0)} current / {status.get('desiredReplicas', 0)} desired",
            ),
        ]
    )
    conditions(out, obj, full=True)


def describe_text(obj: Obj, found_events: list[Obj], now: float, endpoints: list[str] | None = None) -> str:
    """``kubectl describe`` of ``obj``, with ``found_events`` (the events whose involved object it is)."""
    out = Out()
    _header(out, obj)
    kind = str(obj.get("kind") or "")
    if kind == "Pod":
        _pod(out, obj)
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        _workload(out, obj, kind)
    elif kind == "Node":
        _node(out, obj)
    elif kind == "Service":
        _service(out, obj, endpoints)
    elif kind == "PersistentVolumeClaim":
        _pvc(out, obj)
    elif kind == "HorizontalPodAutoscaler":
        _hpa(out, obj)
    else:
        conditions(out, obj, full=True)
    events(out, found_events, now)
    return "\n".join(out.lines)


def endpoint_addresses(endpoints: Obj | None) -> list[str]:
    """``10.0.0.1:8080`` for every ready address of an Endpoints object."""
    found = []
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [""]
        for a in subset.get("addresses") or []:
            found += [f"{a.get('ip')}:{p}" if p else str(a.get("ip")) for p in ports]
    return found


__all__ = ["describe_text", "endpoint_addresses", "probe_text"]
