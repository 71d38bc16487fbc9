"""Server-side printing: the ``meta.k8s.io Table`` responses that ``kubectl get`` asks for.

The cell logic follows the API server's own printers (pkg/printers/internalversion/printers.go), so that
``kubectl get pods`` shows STATUS ``CrashLoopBackOff``, RESTARTS ``5 (2m ago)`` and ``<invalid>`` ages
exactly as on a real cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .resources import Resource
from .scenario import parse_time
from .usage import quantity

Row = list[Any]
Col = tuple[str, str, int]  # name, type, priority


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(ts: str | None, now: datetime) -> str:
    if not ts:
        return "<unknown>"
    epoch = _epoch(ts)
    return "<unknown>" if epoch is None else human_duration(now.timestamp() - epoch)


@functools.lru_cache(maxsize=1 << 16)
def _epoch(ts: str) -> float | None:
    """A timestamp's seconds since the epoch; cached, as a page of 500 events carries few distinct times and a
    Table of them is asked for page after page."""
    try:
        return parse_time(ts).timestamp()
    except ValueError:
        return None


def _g(obj: Any, *path: Any, default: Any = None) -> Any:
    for p in path:
        if isinstance(obj, dict):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return default
    return default if obj is None else obj


def _age(o: dict[str, Any], now: datetime) -> str:
    return since(_g(o, "metadata", "creationTimestamp"), now)


def _containers(tpl_spec: dict[str, Any]) -> tuple[str, str]:
    cs = tpl_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _selector(sel: dict[str, Any] | None) -> str:
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{e.get('key')} {op.lower()} ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(e.get("key", ""))
        else:
            parts.append(f"!{e.get('key')}")
    return ",".join(parts) or "<none>"


# ---- pods ---------------------------------------------------------------------------------------------------

POD_COLS: list[Col] = [
    ("Name", "string", 0),
    ("Ready", "string", 0),
    ("Status", "string", 0),
    ("Restarts", "string", 0),
    ("Age", "string", 0),
    ("IP", "string", 1),
    ("Node", "string", 1),
    ("Nominated Node", "string", 1),
    ("Readiness Gates", "string", 1),
]


def pod_status_reason(pod: dict[str, Any]) -> tuple[str, int, int, str | None]:
    """(STATUS, ready containers, restarts, last restart time) as kubectl prints them."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts = 0
    last_restart: str | None = None

    def note_restart(cs: dict[str, Any]) -> None:
        nonlocal last_restart
        finished = _g(cs, "lastState", "terminated", "finishedAt")
        if finished and (last_restart is None or parse_time(finished) > parse_time(last_restart)):
            last_restart = finished

    initializing = False
    init_specs = _g(pod, "spec", "initContainers", default=[])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        note_restart(cs)
        term = _g(cs, "state", "terminated")
        waiting = _g(cs, "state", "waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode')}"
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    ready = 0
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts = 0
        last_restart = None
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            note_restart(cs)
            waiting, term, running = (_g(cs, "state", k) for k in ("waiting", "terminated", "running"))
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
            elif cs.get("ready") and running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            has_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            reason = "Running" if has_ready else "NotReady"
    if _g(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, restarts, last_restart


def pod_row(pod: dict[str, Any], now: datetime) -> Row:
    reason, ready, restarts, last = pod_status_reason(pod)
    total = len(_g(pod, "spec", "containers", default=[]))
    restarts_s = str(restarts)
    if restarts and last:
        restarts_s = f"{restarts} ({since(last, now)} ago)"
    gates = _g(pod, "spec", "readinessGates", default=[])
    gates_s = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in _g(pod, "status", "conditions", default=[])}
        gates_s = f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return [
        _g(pod, "metadata", "name"),
        f"{ready}/{total}",
        reason,
        restarts_s,
        _age(pod, now),
        _g(pod, "status", "podIP", default="<none>"),
        _g(pod, "spec", "nodeName", default="<none>"),
        _g(pod, "status", "nominatedNodeName", default="<none>"),
        gates_s,
    ]


# ---- nodes --------------------------------------------------------------------------------------------------

NODE_COLS: list[Col] = [
    ("Name", "string", 0),
    ("Status", "string", 0),
    ("Roles", "string", 0),
    ("Age", "string", 0),
    ("Version", "string", 0),
    ("Internal-IP", "string", 1),
    ("External-IP", "string", 1),
    ("OS-Image", "string", 1),
    ("Kernel-Version", "string", 1),
    ("Container-Runtime", "string", 1),
]


def node_row(node: dict[str, Any], now: datetime) -> Row:
    ready = next((c for c in _g(node, "status", "conditions", default=[]) if c.get("type") == "Ready"), None)
    status = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if _g(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    labels = _g(node, "metadata", "labels", default={})
    roles = sorted(
        {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
        | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set())
    )
    addrs = {a.get("type"): a.get("address") for a in _g(node, "status", "addresses", default=[])}
    info = _g(node, "status", "nodeInfo", default={})
    return [
        _g(node, "metadata", "name"),
        ",".join(status),
        ",".join(roles) or "<none>",
        _age(node, now),
        info.get("kubeletVersion", ""),
        addrs.get("InternalIP", "<none>"),
        addrs.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


# ---- events -------------------------------------------------------------------------------------------------

EVENT_COLS: list[Col] = [
    ("Last Seen", "string", 0),
    ("Type", "string", 0),
    ("Reason", "string", 0),
    ("Object", "string", 0),
    ("Subobject", "string", 1),
    ("Source", "string", 1),
    ("Message", "string", 0),
    ("First Seen", "string", 1),
    ("Count", "integer", 1),
    ("Name", "string", 1),
]


def event_row(ev: dict[str, Any], now: datetime) -> Row:
    first = since(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 0
    if ev.get("series"):
        last = since(_g(ev, "series", "lastObservedTime"), now)
        count = _g(ev, "series", "count", default=count)
    count = count or 1
    inv = ev.get("involvedObject") or {}
    target = (
        f"{str(inv.get('kind', '')).lower()}/{inv.get('name')}" if inv.get("name") else str(inv.get("kind", "")).lower()
    )
    src = ev.get("source") or {}
    source = src.get("component") or ev.get("reportingComponent") or ""
    if src.get("host"):
        source += ", " + src["host"]
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        inv.get("fieldPath", ""),
        source,
        str(ev.get("message", "")).strip(),
        first,
        count,
        _g(ev, "metadata", "name"),
    ]


# ---- everything else ----------------------------------------------------------------------------------------


def _ports(ports: list[dict[str, Any]]) -> str:
    out = []
    for p in ports or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def service_row(svc: dict[str, Any], now: datetime) -> Row:
    spec = svc.get("spec") or {}
    ext = (
        ",".join(i.get("ip") or i.get("hostname", "") for i in _g(svc, "status", "loadBalancer", "ingress", default=[]))
        or ",".join(spec.get("externalIPs") or [])
        or ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    )
    if spec.get("type") == "ExternalName":
        ext = spec.get("externalName", "<none>")
    sel = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return [
        _g(svc, "metadata", "name"),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        ext,
        _ports(spec.get("ports") or []),
        _age(svc, now),
        sel,
    ]


def endpoints_row(ep: dict[str, Any], now: datetime) -> Row:
    addrs = []
    for subset in ep.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                addrs.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else a.get("ip"))
    text = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [_g(ep, "metadata", "name"), text or "<none>", _age(ep, now)]


def deployment_row(d: dict[str, Any], now: datetime) -> Row:
    st = d.get("status") or {}
    c, i = _containers(_g(d, "spec", "template", "spec", default={}))
    return [
        _g(d, "metadata", "name"),
        f"{st.get('readyReplicas', 0)}/{_g(d, 'spec', 'replicas', default=1)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(d, now),
        c,
        i,
        _selector(_g(d, "spec", "selector")),
    ]


def replicaset_row(r: dict[str, Any], now: datetime) -> Row:
    st = r.get("status") or {}
    c, i = _containers(_g(r, "spec", "template", "spec", default={}))
    return [
        _g(r, "metadata", "name"),
        _g(r, "spec", "replicas", default=1),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _age(r, now),
        c,
        i,
        _selector(_g(r, "spec", "selector")),
    ]


def statefulset_row(s: dict[str, Any], now: datetime) -> Row:
    c, i = _containers(_g(s, "spec", "template", "spec", default={}))
    return [
        _g(s, "metadata", "name"),
        f"{_g(s, 'status', 'readyReplicas', default=0)}/{_g(s, 'spec', 'replicas', default=1)}",
        _age(s, now),
        c,
        i,
    ]


def daemonset_row(d: dict[str, Any], now: datetime) -> Row:
    st = d.get("status") or {}
    c, i = _containers(_g(d, "spec", "template", "spec", default={}))
    ns = ",".join(f"{k}={v}" for k, v in (_g(d, "spec", "template", "spec", "nodeSelector", default={})).items())
    return [
        _g(d, "metadata", "name"),
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ns or "<none>",
        _age(d, now),
        c,
        i,
        _selector(_g(d, "spec", "selector")),
    ]


def job_row(j: dict[str, Any], now: datetime) -> Row:
    st = j.get("status") or {}
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    status = (
        "Complete"
        if conds.get("Complete") == "True"
        else "Failed"
        if conds.get("Failed") == "True"
        else "Suspended"
        if conds.get("Suspended") == "True"
        else "Running"
    )
    completions = _g(j, "spec", "completions")
    comp = f"{st.get('succeeded', 0)}/{completions}" if completions is not None else f"{st.get('succeeded', 0)}/1"
    dur = ""
    if st.get("startTime"):
        end = parse_time(st["completionTime"]) if st.get("completionTime") else now
        dur = human_duration((end - parse_time(st["startTime"])).total_seconds())
    c, i = _containers(_g(j, "spec", "template", "spec", default={}))
    return [_g(j, "metadata", "name"), status, comp, dur, _age(j, now), c, i, _selector(_g(j, "spec", "selector"))]


def pvc_row(p: dict[str, Any], now: datetime) -> Row:
    st = p.get("status") or {}
    phase = st.get("phase", "Pending")
    if _g(p, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    return [
        _g(p, "metadata", "name"),
        phase,
        _g(p, "spec", "volumeName", default=""),
        _g(st, "capacity", "storage", default=""),
        _modes(st.get("accessModes") or []),
        _g(p, "spec", "storageClassName", default=""),
        "<unset>",
        _age(p, now),
        _g(p, "spec", "volumeMode", default="Filesystem"),
    ]


def _modes(modes: list[str]) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes)


def pv_row(p: dict[str, Any], now: datetime) -> Row:
    ref = _g(p, "spec", "claimRef")
    claim = f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""
    return [
        _g(p, "metadata", "name"),
        _g(p, "spec", "capacity", "storage", default=""),
        _modes(_g(p, "spec", "accessModes", default=[])),
        _g(p, "spec", "persistentVolumeReclaimPolicy", default=""),
        _g(p, "status", "phase", default=""),
        claim,
        _g(p, "spec", "storageClassName", default=""),
        "<unset>",
        _g(p, "status", "reason", default=""),
        _age(p, now),
        _g(p, "spec", "volumeMode", default="Filesystem"),
    ]


def hpa_row(h: dict[str, Any], now: datetime) -> Row:
    ref = _g(h, "spec", "scaleTargetRef", default={})
    targets = []
    current = {(_g(m, "resource", "name") or ""): m for m in _g(h, "status", "currentMetrics", default=[])}
    for m in _g(h, "spec", "metrics", default=[]):
        if m.get("type") == "Resource":
            name = _g(m, "resource", "name")
            target = _g(m, "resource", "target", "averageUtilization")
            cur = _g(current.get(name), "resource", "current", "averageUtilization")
            cur_s = f"{cur}%" if cur is not None else "<unknown>"
            targets.append(f"{name}: {cur_s}/{target}%" if target is not None else f"{name}: {cur_s}")
        else:
            targets.append(f"<unknown>/{m.get('type', '').lower()}")
    return [
        _g(h, "metadata", "name"),
        f"{ref.get('kind')}/{ref.get('name')}",
        ", ".join(targets) or "<none>",
        _g(h, "spec", "minReplicas", default=1),
        _g(h, "spec", "maxReplicas", default=0),
        _g(h, "status", "currentReplicas", default=0),
        _age(h, now),
    ]


def ingress_row(i: dict[str, Any], now: datetime) -> Row:
    hosts = ",".join(r.get("host", "*") for r in _g(i, "spec", "rules", default=[])) or "*"
    addr = ",".join(
        x.get("ip") or x.get("hostname", "") for x in _g(i, "status", "loadBalancer", "ingress", default=[])
    )
    ports = "80, 443" if _g(i, "spec", "tls") else "80"
    return [
        _g(i, "metadata", "name"),
        _g(i, "spec", "ingressClassName", default="<none>"),
        hosts,
        addr,
        ports,
        _age(i, now),
    ]


def storageclass_row(s: dict[str, Any], now: datetime) -> Row:
    name = _g(s, "metadata", "name")
    ann = _g(s, "metadata", "annotations", default={})
    if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [
        name,
        s.get("provisioner", ""),
        s.get("reclaimPolicy", "Delete"),
        s.get("volumeBindingMode", "Immediate"),
        str(bool(s.get("allowVolumeExpansion", False))).lower(),
        _age(s, now),
    ]


def apiservice_row(a: dict[str, Any], now: datetime) -> Row:
    svc = _g(a, "spec", "service")
    avail = next((c for c in _g(a, "status", "conditions", default=[]) if c.get("type") == "Available"), None)
    avail_s = (
        "Unknown"
        if avail is None
        else ("True" if avail.get("status") == "True" else f"False ({avail.get('reason', '')})")
    )
    return [
        _g(a, "metadata", "name"),
        f"{svc.get('namespace')}/{svc.get('name')}" if svc else "Local",
        avail_s,
        _age(a, now),
    ]


def pdb_row(p: dict[str, Any], now: datetime) -> Row:
    return [
        _g(p, "metadata", "name"),
        str(_g(p, "spec", "minAvailable", default="N/A")),
        str(_g(p, "spec", "maxUnavailable", default="N/A")),
        _g(p, "status", "disruptionsAllowed", default=0),
        _age(p, now),
    ]


def simple(
    *cols: tuple[str, Callable[[dict[str, Any], datetime], Any]],
) -> tuple[list[Col], Callable[[dict[str, Any], datetime], Row]]:
    defs = [("Name", "string", 0)] + [(c[0], "string", 0) for c in cols] + [("Age", "string", 0)]

    def row(o: dict[str, Any], now: datetime) -> Row:
        return [_g(o, "metadata", "name")] + [c[1](o, now) for c in cols] + [_age(o, now)]

    return defs, row


METRICS_COLS: list[Col] = [
    ("Name", "string", 0),
    ("CPU", "string", 0),
    ("Memory", "string", 0),
    ("Window", "string", 0),
]


def metrics_row(o: dict[str, Any], now: datetime) -> Row:
    """NodeMetrics (``usage``) or PodMetrics (the sum of its containers): CPU in millicores, memory in MiB, as
    metrics-server's table and ``kubectl top`` show them."""
    usages = [o["usage"]] if "usage" in o else [c.get("usage") or {} for c in o.get("containers") or []]
    cpu = sum(quantity(u.get("cpu"), 0) for u in usages)
    memory = sum(quantity(u.get("memory"), 0) for u in usages)
    return [_g(o, "metadata", "name"), f"{round(cpu * 1000)}m", f"{round(memory / 2**20)}Mi", o.get("window", "")]


PRINTERS: dict[tuple[str, str], tuple[list[Col], Callable[[dict[str, Any], datetime], Row]]] = {
    ("metrics.k8s.io", "nodes"): (METRICS_COLS, metrics_row),
    ("metrics.k8s.io", "pods"): (METRICS_COLS, metrics_row),
    ("", "pods"): (POD_COLS, pod_row),
    ("", "nodes"): (NODE_COLS, node_row),
    ("", "events"): (EVENT_COLS, event_row),
    ("", "services"): (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        service_row,
    ),
    ("", "endpoints"): ([("Name", "string", 0), ("Endpoints", "string", 0), ("Age", "string", 0)], endpoints_row),
    ("", "configmaps"): simple(("Data", lambda o, n: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    ("", "secrets"): simple(
        ("Type", lambda o, n: o.get("type", "Opaque")), ("Data", lambda o, n: len(o.get("data") or {}))
    ),
    ("", "namespaces"): simple(("Status", lambda o, n: _g(o, "status", "phase", default="Active"))),
    ("", "serviceaccounts"): simple(("Secrets", lambda o, n: len(o.get("secrets") or []))),
    ("", "persistentvolumeclaims"): (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        pvc_row,
    ),
    ("", "persistentvolumes"): (
        [
            ("Name", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("Reclaim Policy", "string", 0),
            ("Status", "string", 0),
            ("Claim", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Reason", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        pv_row,
    ),
    ("apps", "deployments"): (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        deployment_row,
    ),
    ("apps", "replicasets"): (
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        replicaset_row,
    ),
    ("apps", "statefulsets"): (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        statefulset_row,
    ),
    ("apps", "daemonsets"): (
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        daemonset_row,
    ),
    ("batch", "jobs"): (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        job_row,
    ),
    ("autoscaling", "horizontalpodautoscalers"): (
        [
            ("Name", "string", 0),
            ("Reference", "string", 0),
            ("Targets", "string", 0),
            ("MinPods", "integer", 0),
            ("MaxPods", "integer", 0),
            ("Replicas", "integer", 0),
            ("Age", "string", 0),
        ],
        hpa_row,
    ),
    ("networking.k8s.io", "ingresses"): (
        [
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            ("Age", "string", 0),
        ],
        ingress_row,
    ),
    ("storage.k8s.io", "storageclasses"): (
        [
            ("Name", "string", 0),
            ("Provisioner", "string", 0),
            ("ReclaimPolicy", "string", 0),
            ("VolumeBindingMode", "string", 0),
            ("AllowVolumeExpansion", "string", 0),
            ("Age", "string", 0),
        ],
        storageclass_row,
    ),
    ("apiregistration.k8s.io", "apiservices"): (
        [("Name", "string", 0), ("Service", "string", 0), ("Available", "string", 0), ("Age", "string", 0)],
        apiservice_row,
    ),
    ("policy", "poddisruptionbudgets"): (
        [
            ("Name", "string", 0),
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            ("Age", "string", 0),
        ],
        pdb_row,
    ),
    ("coordination.k8s.io", "leases"): simple(("Holder", lambda o, n: _g(o, "spec", "holderIdentity", default=""))),
    ("discovery.k8s.io", "endpointslices"): simple(
        ("AddressType", lambda o, n: o.get("addressType", "")),
        ("Ports", lambda o, n: ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>"),
        (
            "Endpoints",
            lambda o, n: ",".join(a for e in o.get("endpoints") or [] for a in e.get("addresses") or []) or "<unset>",
        ),
    ),
}


def _jsonpath_simple(obj: dict[str, Any], path: str) -> Any:
    """additionalPrinterColumns jsonPath of the plain ``.a.b.c`` form."""
    parts = [p for p in path.strip().lstrip("$").split(".") if p]
    return _g(obj, *parts, default="")


def columns_for(res: Resource) -> tuple[list[Col], Callable[[dict[str, Any], datetime], Row]]:
    printer = PRINTERS.get(res.key)
    if printer:
        return printer
    if res.printer_columns:
        cols: list[Col] = [("Name", "string", 0)]
        for c in res.printer_columns:
            cols.append((c.get("name", ""), c.get("type", "string"), int(c.get("priority", 0))))
        has_age = any(c[0] == "Age" for c in cols)
        if not has_age:
            cols.append(("Age", "date", 0))

        def row(o: dict[str, Any], now: datetime) -> Row:
            cells = [_g(o, "metadata", "name")]
            for c in res.printer_columns:
                v = _jsonpath_simple(o, c.get("jsonPath", ""))
                cells.append(since(v, now) if c.get("type") == "date" and v else v)
            if not has_age:
                cells.append(_age(o, now))
            return cells

        return cols, row
    if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        return [("Name", "string", 0), ("Created At", "date", 0)], lambda o, n: [
            _g(o, "metadata", "name"),
            _g(o, "metadata", "creationTimestamp", default=""),
        ]
    return [("Name", "string", 0), ("Age", "string", 0)], lambda o, n: [_g(o, "metadata", "name"), _age(o, n)]


def to_table(
    res: Resource,
    objects: list[dict[str, Any]],
    *,
    include: str = "Metadata",
    list_meta: dict[str, Any] | None = None,
    api_version: str = "meta.k8s.io/v1",
    with_columns: bool = True,
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Table of stored objects; with ``includeObject=Object`` each row embeds its object as ``view`` reads it
    in the requested version (kubesim/conversion.py), as the API server converts it before it answers."""
    cols, row = columns_for(res)
    now = datetime.now(UTC)
    rows = []
    for o in objects:
        r: dict[str, Any] = {"cells": row(o, now)}
        if include == "Object":
            r["object"] = view(o) if view else o
        elif include != "None":
            r["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata") or {},
            }
        rows.append(r)
    table: dict[str, Any] = {"kind": "Table", "apiVersion": api_version, "metadata": list_meta or {}}
    if with_columns:
        table["columnDefinitions"] = [
            {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": n, "priority": p}
            for n, t, p in cols
        ]
    else:
        table["columnDefinitions"] = None
    table["rows"] = rows
    return table
