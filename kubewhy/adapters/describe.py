"""``kubectl describe`` text as objects, so the output people paste into Slack and bug reports can be diagnosed
like a snapshot.

The text is read back into the API's shape: a pod's phase, conditions, container states (``State``, ``Last
State`` with reason, message, exit code, start and finish), readiness, restart counts, probes, requests and
limits, volumes (Secret, ConfigMap, PVC, hostPath), the node and the controller; a node's conditions and taints; a
PVC's class and phase; a Service's type, selector, every port with its targetPort and nodePort, and an Endpoints
object (one subset per port with its listed addresses, none when kubectl shows ``<none>`` or nothing); the
workloads, HPAs, PVs and Ingresses of :mod:`.describe_workloads`; and the ``Events`` table as Event objects.
Describe output keeps ages, not times: the capture time is taken as the latest absolute time in the text (a
container's start, a condition's heartbeat), else the time the text is read, and every age counts back from it.
Several describes in one text (``kubectl describe pods``) give several objects, the first being the target.
Pastes often gain or lose leading spaces; indentation is read relative to the first line. Chat and Markdown
dress is undone and fragments (an Events table, a State block, one message) are made whole first
(:mod:`.describe_fragment`): a text is never refused for not starting with ``Name:``, only a describe whose kind
cannot be told raises :class:`DescribeError` with the line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .describe_fragment import PLACEHOLDER as PLACEHOLDER

Obj = dict[str, Any]
_KEY = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9 ./()-]*?):(?:\s+(.*?))?\s*$")
_AGE_PART = re.compile(r"(\d+)(d|h|m|s)")
_TOP = re.compile(
    r"^(Namespace|Labels|Annotations|Status|Node|Containers|Conditions|Events|Taints|Roles|"
    r"StorageClass|Selector|Volumes|Unschedulable):"
)
KINDS = {  # the short names kubectl takes, as kinds
    "pod": "Pod",
    "node": "Node",
    "pvc": "PersistentVolumeClaim",
    "svc": "Service",
    "deploy": "Deployment",
    "rs": "ReplicaSet",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
    "job": "Job",
    "cj": "CronJob",
    "hpa": "HorizontalPodAutoscaler",
    "ep": "Endpoints",
    "pv": "PersistentVolume",
    "ing": "Ingress",
}
_API = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "Ingress": "networking.k8s.io/v1",
}
_CLUSTER_SCOPED = ("Node", "PersistentVolume")


class DescribeError(UsageError, ValueError):
    """Text that is not ``kubectl describe`` output; the message starts with the line number. A usage error, so
    a front-end that lets one through still shows it as one line."""


@dataclass
class _Line:
    no: int
    indent: int
    text: str


def looks_like_describe(text: str) -> bool:
    """Describe output, or a fragment of it (an Events table, a State block, a scheduler message), rather than
    the YAML or JSON a snapshot file holds."""
    from .describe_fragment import looks_like_fragment

    text = normalise(text)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    if first.lstrip().startswith(("{", "apiVersion:", "kind:", "---", "items:")):
        return False  # JSON or a YAML snapshot
    # A prompt or a sentence may come before the first ``Name:`` ("kubectl describe node x", "here it is:").
    head = "\n".join(lines[:5])
    return bool(re.search(r"(?m)^\s*Name:\s+\S+", head)) or looks_like_fragment(text)


def normalise(text: str) -> str:
    """A pasted text as kubectl printed it (see :mod:`.describe_paste`)."""
    from .describe_paste import normalise as _normalise

    return _normalise(text)


def _lines(text: str) -> list[_Line]:
    raw = text.replace("\t", "    ").splitlines()
    # The top level is where the keys every describe has are (a paste may indent all but its first line).
    tops = [len(ln) - len(ln.lstrip()) for ln in raw if _TOP.match(ln.strip())]
    base = min(tops) if tops else 0
    out = []
    for i, ln in enumerate(raw, 1):
        if ln.strip():
            indent = max(0, len(ln) - len(ln.lstrip()) - base)
            out.append(_Line(i, indent, ln.strip()))
    return out


def _time(text: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        try:
            parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(text: str) -> dt.timedelta | None:
    parts = _AGE_PART.findall(text)
    if not parts:
        return None
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return dt.timedelta(seconds=sum(int(n) * unit[u] for n, u in parts))


def _split(text: str) -> list[list[_Line]]:
    """One block per described object: a new block starts at each top-level ``Name:``."""
    blocks: list[list[_Line]] = []
    for ln in _lines(text):
        if ln.indent == 0 and ln.text.startswith("Name:") and (not blocks or len(blocks[-1]) > 1):
            blocks.append([])
        if not blocks:
            continue  # text before the first describe (a sentence, a prompt line) is not read
        blocks[-1].append(ln)
    return blocks


def _fields(lines: list[_Line], indent: int) -> dict[str, tuple[str, list[_Line]]]:
    """``Key: value`` entries at one indentation, each with the lines nested under it (the first one wins)."""
    out: dict[str, tuple[str, list[_Line]]] = {}
    key = None
    for ln in lines:
        m = _KEY.match(" " * ln.indent + ln.text) if ln.indent == indent else None
        if m and ln.indent == indent:
            key = m.group(2)
            if key not in out:
                out[key] = (m.group(3) or "", [])
            else:
                key = None
        elif key is not None and ln.indent > indent:
            out[key][1].append(ln)
    return out


def _child_indent(lines: list[_Line]) -> int:
    return min((ln.indent for ln in lines), default=0)


def _table(lines: list[_Line]) -> list[dict[str, str]]:
    """A describe table (header, a dashes line, rows) as dicts; columns cut where the header's words start."""
    if not lines:
        return []
    header = lines[0].text
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    base = lines[0].indent
    for ln in lines[1:]:
        if set(ln.text) <= set("- "):
            continue
        text = " " * (ln.indent - base) + ln.text
        cells = [text[s:e].strip() if e else text[s:].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        # A row that does not line up with the header (a re-flowed paste: a column cuts a word, or leaves a cell
        # empty): split on runs of two spaces instead, the last column taking the rest.
        split = re.split(r"\s{2,}", ln.text, maxsplit=len(names) - 1)
        cuts = any(0 < s < len(text) and text[s - 1] != " " and text[s] != " " for s in starts)
        if len(split) == len(names) and (cuts or any(not c for c in cells)):
            cells = split
        rows.append(dict(zip(names, cells, strict=False)))
    return rows


def _labels(value: str, more: list[_Line]) -> dict[str, str]:
    out = {}
    for item in [value, *(ln.text for ln in more)]:
        for part in item.split(","):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                out[k] = v
    return out


def _probe(text: str) -> Obj:
    """``http-get http://:8080/healthz delay=3s timeout=1s period=3s #success=1 #failure=3`` as a probe."""
    probe: Obj = {}
    m = re.match(r"http-get\s+https?://[^:/]*:([\w-]+)(\S*)", text)
    if m:
        port: Any = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
        probe["httpGet"] = {"path": m.group(2) or "/", "port": port}
    elif text.startswith("tcp-socket"):
        port_text = text.split()[1].rsplit(":", 1)[-1] if len(text.split()) > 1 else ""
        probe["tcpSocket"] = {"port": int(port_text) if port_text.isdigit() else port_text}
    elif text.startswith("exec"):
        inner = re.search(r"\[(.*?)\]", text)
        probe["exec"] = {"command": inner.group(1).split() if inner else []}
    for key, field in (("delay", "initialDelaySeconds"), ("timeout", "timeoutSeconds"), ("period", "periodSeconds")):
        m = re.search(rf"\b{key}=(\d+)s", text)
        if m:
            probe[field] = int(m.group(1))
    for key, field in (("#success", "successThreshold"), ("#failure", "failureThreshold")):
        m = re.search(rf"{key}=(\d+)", text)
        if m:
            probe[field] = int(m.group(1))
    return probe


def _state(value: str, nested: list[_Line]) -> Obj:
    f = _fields(nested, _child_indent(nested))
    state = value.strip().lower()
    if state not in ("waiting", "running", "terminated"):
        return {}
    body: Obj = {}
    if "Reason" in f and f["Reason"][0]:
        body["reason"] = f["Reason"][0]
    if "Message" in f and f["Message"][0]:
        body["message"] = " ".join([f["Message"][0], *(ln.text for ln in f["Message"][1])])
    if "Exit Code" in f and f["Exit Code"][0].lstrip("-").isdigit():
        body["exitCode"] = int(f["Exit Code"][0])
    for key, field in (("Started", "startedAt"), ("Finished", "finishedAt")):
        t = _time(f[key][0]) if key in f else None
        if t:
            body[field] = _iso(t)
    return {state: body}


def _resources(value: str, nested: list[_Line]) -> dict[str, str]:
    return {k: v for k, (v, _) in _fields(nested, _child_indent(nested)).items() if v}


def _containers(lines: list[_Line]) -> tuple[list[Obj], list[Obj]]:
    specs, statuses = [], []
    for name, (_, body) in _fields(lines, _child_indent(lines)).items():
        f = _fields(body, _child_indent(body))
        spec: Obj = {"name": name}
        if f.get("Image", ("", []))[0]:
            spec["image"] = f["Image"][0]
        port = f.get("Port", ("", []))[0]
        m = re.match(r"(\d+)/(\w+)", port)
        if m:
            spec["ports"] = [{"containerPort": int(m.group(1)), "protocol": m.group(2)}]
        for key, field in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
            if key in f and f[key][0]:
                spec[field] = _probe(f[key][0])
        resources = {
            field: _resources(*f[key]) for key, field in (("Limits", "limits"), ("Requests", "requests")) if key in f
        }
        if resources:
            spec["resources"] = resources
        if "Command" in f:
            spec["command"] = [ln.text for ln in f["Command"][1]] or [f["Command"][0]]
        mounts = []
        for ln in f.get("Mounts", ("", []))[1]:
            # "/etc/app/app.properties from config (ro,path=\"app.properties\")": path= is the subPath
            mm = re.match(r"(\S+) from (\S+)(?:\s+\(([^)]*)\))?", ln.text)
            if mm:
                mount: Obj = {"mountPath": mm.group(1), "name": mm.group(2)}
                flags = mm.group(3) or ""
                if flags.split(",")[0] == "ro":
                    mount["readOnly"] = True
                sub = re.search(r'path="([^"]*)"', flags)
                if sub:
                    mount["subPath"] = sub.group(1)
                mounts.append(mount)
        if mounts:
            spec["volumeMounts"] = mounts
        specs.append(spec)
        status: Obj = {"name": name}
        if "State" in f:
            status["state"] = _state(*f["State"])
        if "Last State" in f:
            status["lastState"] = _state(*f["Last State"])
        if "Ready" in f:
            status["ready"] = f["Ready"][0] == "True"
        if f.get("Restart Count", ("", []))[0].isdigit():
            status["restartCount"] = int(f["Restart Count"][0])
        if f.get("Image", ("", []))[0]:
            status["image"] = f["Image"][0]
        if len(status) > 1:
            statuses.append(status)
    return specs, statuses


def _volumes(lines: list[_Line]) -> list[Obj]:
    out = []
    for name, (_, body) in _fields(lines, _child_indent(lines)).items():
        f = {k: v for k, (v, _) in _fields(body, _child_indent(body)).items()}
        kind = f.get("Type", "")
        vol: Obj = {"name": name}
        if kind.startswith("Secret"):
            vol["secret"] = {"secretName": f.get("SecretName", "")}
        elif kind.startswith("ConfigMap"):
            vol["configMap"] = {"name": f.get("Name", "")}
        elif kind.startswith("PersistentVolumeClaim"):
            vol["persistentVolumeClaim"] = {"claimName": f.get("ClaimName", "")}
        elif kind.startswith("HostPath"):
            vol["hostPath"] = {
                "path": f.get("Path", ""),
                **({"type": f["HostPathType"]} if f.get("HostPathType") else {}),
            }
        elif kind.startswith("EmptyDir"):
            vol["emptyDir"] = {}
        elif kind.startswith("NFS"):
            vol["nfs"] = {"server": f.get("Server", ""), "path": f.get("Path", "")}
        elif kind.startswith("Projected"):
            vol["projected"] = {"sources": []}
        out.append(vol)
    return out


def _conditions(lines: list[_Line]) -> list[Obj]:
    out = []
    for row in _table(lines):
        c: Obj = {"type": row.get("Type", ""), "status": row.get("Status", "")}
        for key, field in (("LastHeartbeatTime", "lastHeartbeatTime"), ("LastTransitionTime", "lastTransitionTime")):
            t = _time(row.get(key, ""))
            if t:
                c[field] = _iso(t)
        for key, field in (("Reason", "reason"), ("Message", "message")):
            if row.get(key):
                c[field] = row[key]
        if c["type"]:
            out.append(c)
    return out


def _events(lines: list[_Line], about: Obj, now: dt.datetime) -> list[Obj]:
    meta = about["metadata"]
    out = []
    for i, row in enumerate(_table(lines)):
        age = row.get("Age", "")
        m = re.match(r"(\S+)(?:\s+\(x(\d+) over (\S+)\))?", age)
        last = now - (_age(m.group(1)) or dt.timedelta()) if m else now
        first = now - (_age(m.group(3)) or dt.timedelta()) if m and m.group(3) else last
        count = int(m.group(2)) if m and m.group(2) else 1
        source = row.get("From", "").split(",")[0].strip()
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.describe-{i}", "namespace": meta.get("namespace", "default")},
                "involvedObject": {
                    "kind": about["kind"],
                    "name": meta["name"],
                    **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
                },
                "type": row.get("Type", ""),
                "reason": row.get("Reason", ""),
                "message": row.get("Message", ""),
                "count": count,
                "firstTimestamp": _iso(first),
                "lastTimestamp": _iso(last),
                "source": {"component": source},
            }
        )
    return out


def _kind_of(top: dict[str, tuple[str, list[_Line]]]) -> str:
    if "Reference" in top or "Min replicas" in top or "Max replicas" in top:
        return "HorizontalPodAutoscaler"
    if "StrategyType" in top or "NewReplicaSet" in top or "OldReplicaSets" in top:
        return "Deployment"
    if "Desired Number of Nodes Scheduled" in top:
        return "DaemonSet"
    if "Schedule" in top and ("Concurrency Policy" in top or "Suspend" in top or "Job Template" in top):
        return "CronJob"
    if "Completions" in top or "Parallelism" in top or "Pods Statuses" in top or "Completion Mode" in top:
        return "Job"
    if "Update Strategy" in top or "Volume Claims" in top:
        return "StatefulSet"
    if "Pod Template" in top and "Replicas" in top:
        return "ReplicaSet" if "/" in top["Replicas"][0] else "StatefulSet"
    if "Reclaim Policy" in top or ("Claim" in top and "Source" in top):
        return "PersistentVolume"
    if "Rules" in top or "Default backend" in top or "Ingress Class" in top:
        return "Ingress"
    if "Subsets" in top:
        return "Endpoints"
    owner = top.get("Controlled By", ("", []))[0].split("/")[0]
    if (
        "Containers" in top
        or "Init Containers" in top
        or "Start Time" in top
        or (owner and owner not in _OWNED_WORKLOAD)
    ):
        return "Pod"
    if "Taints" in top or "Roles" in top or "Unschedulable" in top or "Kubelet Version" in top:
        return "Node"
    if ("StorageClass" in top or "Access Modes" in top or "VolumeMode" in top) and "Namespace" not in top:
        return "PersistentVolume"  # cut before its "Reclaim Policy"; a claim always shows its namespace
    if "StorageClass" in top or "Access Modes" in top or "VolumeMode" in top:
        return "PersistentVolumeClaim"
    if "Selector" in top and ("Type" in top or "Endpoints" in top or "IP" in top or "TargetPort" in top):
        return "Service"
    if "TargetPort" in top or "Session Affinity" in top:
        return "Service"
    kind = _kind_of_head(top)
    if kind is None:
        raise DescribeError("1: cannot tell which kind this describe output is of")
    return kind


_POD_HEAD = ("Priority", "Service Account", "Priority Class Name", "Node", "QoS Class", "Tolerations", "IPs")
_OWNED_WORKLOAD = {"Deployment": "ReplicaSet", "CronJob": "Job"}


def _kind_of_head(top: dict[str, tuple[str, list[_Line]]]) -> str | None:
    """The kind of a describe cut short after its first lines, from the keys each kind prints first and their
    order (kubectl's describers: a pod's ``Priority`` and ``Node``, a ReplicaSet's ``pod-template-hash``
    selector, a Deployment's ``CreationTimestamp`` before its labels, a Service's labels before its selector,
    the cluster-scoped kinds without ``Namespace``); None when the lines say too little."""
    keys = list(top)
    if any(k in top for k in _POD_HEAD):
        return "Pod"
    owner = top.get("Controlled By", ("", []))[0].split("/")[0]
    if owner in _OWNED_WORKLOAD:
        return _OWNED_WORKLOAD[owner]
    if "Node-Selector" in top:
        return "DaemonSet"
    selector = top.get("Selector", ("", []))[0]
    if "pod-template-hash=" in selector:
        return "ReplicaSet"
    if "controller-uid=" in selector:
        return "Job"
    if "Namespace" not in top and "Roles" not in top:
        if "Selector" in top:
            return "DaemonSet"  # the one namespaced kind whose describe has no Namespace (before kubectl 1.33)
        if "Annotations" in top or "Finalizers" in top:  # an Ingress prints Labels before its Namespace
            return "PersistentVolume"
    if "CreationTimestamp" in top:
        created = keys.index("CreationTimestamp")
        if "Labels" in top and keys.index("Labels") < created:
            return "HorizontalPodAutoscaler"
        if "Selector" in top and "Labels" in top and keys.index("Selector") < keys.index("Labels"):
            return "StatefulSet"
        return "Deployment" if "Labels" in top else None
    if "Selector" in top and "Labels" in top and keys.index("Labels") < keys.index("Selector"):
        return "Service"
    return None


def _latest_time(lines: list[_Line]) -> dt.datetime | None:
    latest = None
    for ln in lines:
        for m in re.finditer(r"\w{3}, \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", ln.text):
            t = _time(m.group(0))
            if t and (latest is None or t > latest):
                latest = t
    return latest


def _object(block: list[_Line], now: dt.datetime) -> list[Obj]:
    top = _fields(block, 0)
    name = top.get("Name", ("", []))[0]
    if not name:
        raise DescribeError(f"{block[0].no}: a describe block without a Name")
    kind = _kind_of(top)
    meta: Obj = {"name": name}
    if kind not in _CLUSTER_SCOPED:
        meta["namespace"] = top.get("Namespace", ("default", []))[0] or "default"
    labels = _labels(*top["Labels"]) if "Labels" in top and top["Labels"][0] not in ("<none>",) else {}
    if labels:
        meta["labels"] = labels
    obj: Obj = {"apiVersion": _API.get(kind, "v1"), "kind": kind, "metadata": meta}
    spec: Obj = {}
    status: Obj = {}
    if kind == "Pod":
        node = top.get("Node", ("", []))[0].split("/")[0]
        if node and node != "<none>":
            spec["nodeName"] = node
        owner = top.get("Controlled By", ("", []))[0]
        if "/" in owner:
            okind, oname = owner.split("/", 1)
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": okind, "name": oname, "controller": True}]
        for key, spec_key, status_key in (
            ("Init Containers", "initContainers", "initContainerStatuses"),
            ("Containers", "containers", "containerStatuses"),
        ):
            if key in top:
                specs, statuses = _containers(top[key][1])
                spec[spec_key] = specs
                if statuses:
                    status[status_key] = statuses
        if "Volumes" in top:
            spec["volumes"] = _volumes(top["Volumes"][1])
        for key, field in (("Status", "phase"), ("Reason", "reason"), ("Message", "message")):
            if top.get(key, ("", []))[0] and (key != "Status" or _terminating(top[key][0]) is None):
                status[field] = top[key][0]
        started = _time(top.get("Start Time", ("", []))[0])
        if started:
            status["startTime"] = _iso(started)
        grace = re.match(r"(\d+)s$", top.get("Termination Grace Period", ("", []))[0])
        if grace:
            meta["deletionGracePeriodSeconds"] = int(grace.group(1))
        if "Conditions" in top:
            status["conditions"] = _conditions(top["Conditions"][1])
    elif kind == "Node":
        taints = []
        for t in [top.get("Taints", ("", []))[0], *(ln.text for ln in top.get("Taints", ("", []))[1])]:
            m = re.match(r"([^=:\s]+)(?:=([^:]*))?:(\w+)", t)
            if m:
                taints.append(
                    {"key": m.group(1), **({"value": m.group(2)} if m.group(2) else {}), "effect": m.group(3)}
                )
        if taints:
            spec["taints"] = taints
        if top.get("Unschedulable", ("", []))[0] == "true":
            spec["unschedulable"] = True
        if "Conditions" in top:
            status["conditions"] = _conditions(top["Conditions"][1])
    elif kind == "PersistentVolumeClaim":
        sc = top.get("StorageClass", ("", []))[0]
        if sc:
            spec["storageClassName"] = sc
        if top.get("Volume", ("", []))[0]:
            spec["volumeName"] = top["Volume"][0]
        modes = top.get("Access Modes", ("", []))[0]
        if modes:
            spec["accessModes"] = [
                {"RWO": "ReadWriteOnce", "RWX": "ReadWriteMany", "ROX": "ReadOnlyMany", "RWOP": "ReadWriteOncePod"}.get(
                    m.strip(), m.strip()
                )
                for m in modes.split(",")
            ]
        if top.get("Status", ("", []))[0] and _terminating(top["Status"][0]) is None:
            status["phase"] = top["Status"][0]
        if "Conditions" in top:  # Resizing, FileSystemResizePending (Type Status LastProbeTime … Reason Message)
            status["conditions"] = _conditions(top["Conditions"][1])
    elif kind == "Service":
        selector = _labels(top["Selector"][0], []) if top.get("Selector", ("", []))[0] not in ("", "<none>") else {}
        if selector:
            spec["selector"] = selector
        spec["type"] = top.get("Type", ("ClusterIP", []))[0] or "ClusterIP"
        ports = _service_ports(block)
        if ports:
            spec["ports"] = [p for p, _ in ports]
        ingress = top.get("LoadBalancer Ingress", ("", []))[0]
        status["loadBalancer"] = {"ingress": [{"ip": ingress}]} if ingress else {}
    else:
        from .describe_workloads import fill

        fill(kind, top, meta, spec, status, _Helpers)
    deleting = _terminating(top.get("Status", ("", []))[0])
    if deleting is not None:
        # "Terminating (lasts 3h12m)": kubectl shows the age of the deletionTimestamp instead of the phase
        meta["deletionTimestamp"] = _iso(now - deleting)
    if kind == "Endpoints":
        from .describe_workloads import subsets

        obj["subsets"] = subsets(top.get("Subsets", ("", []))[1])
    if spec:
        obj["spec"] = spec
    if status:
        obj["status"] = status
    out = [obj]
    if kind == "Service" and "Endpoints" in top:
        out.append(_endpoints(name, meta["namespace"], _service_ports(block)))
    if "Events" in top:
        out += _events(top["Events"][1], obj, now)
    if kind == "Pod":
        _unscheduled(obj, out[1:])
    if kind == "Job":
        _job_finished(obj, out[1:])
    return out


_JOB_FAILED = ("BackoffLimitExceeded", "DeadlineExceeded", "PodFailurePolicy", "MaxFailedIndexesExceeded")


def _job_finished(job: Obj, events: list[Obj]) -> None:
    """A Job's describe prints no conditions (in no kubectl version); the job controller's event of the reason it
    sets on the Failed condition is that condition, and ``Completed At`` the Complete one."""
    status = job.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    failed = [e for e in events if e.get("reason") in _JOB_FAILED]
    if failed and not any(c["type"] == "Failed" for c in conditions):
        last = failed[-1]
        conditions.append(
            {
                "type": "Failed",
                "status": "True",
                "reason": last["reason"],
                "message": last["message"],
                "lastTransitionTime": last["lastTimestamp"],
            }
        )
    if status.get("completionTime") and not any(c["type"] == "Complete" for c in conditions):
        conditions.append({"type": "Complete", "status": "True", "lastTransitionTime": status["completionTime"]})
    if not conditions:
        del status["conditions"]


def _terminating(value: str) -> dt.timedelta | None:
    """How long ago deletion was asked, from ``Terminating (lasts 3h12m)`` (zero when kubectl shows no age)."""
    m = re.match(r"Terminating\b(?:\s*\(lasts\s+([^)]*)\))?", value)
    if not m:
        return None
    return _age(m.group(1) or "") or dt.timedelta()


def _unscheduled(pod: Obj, events: list[Obj]) -> None:
    """A pod with no node whose paste shows FailedScheduling but not its conditions (an Events table alone, a
    paste cut before them) is Pending with ``PodScheduled=False``, as kubectl would have shown: the scheduler's
    latest message is the condition's."""
    failed = [e for e in events if e.get("reason") == "FailedScheduling"]
    status = pod.setdefault("status", {})
    conditions = status.get("conditions") or []
    if not failed or pod.get("spec", {}).get("nodeName") or any(c["type"] == "PodScheduled" for c in conditions):
        return
    status.setdefault("phase", "Pending")
    status["conditions"] = [
        *conditions,
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": failed[-1]["message"],
            "lastTransitionTime": min(e["firstTimestamp"] for e in failed),
        },
    ]


def _service_ports(block: list[_Line]) -> list[tuple[Obj, list[str]]]:
    """Each ``Port:`` of a Service with its ``TargetPort``, ``NodePort`` and the ``Endpoints`` listed after it
    (a Service prints the three once per port, so :func:`_fields` would keep only the first)."""
    out: list[tuple[Obj, list[str]]] = []
    for ln in block:
        if ln.indent != 0:
            continue
        m = _KEY.match(ln.text)
        if not m:
            continue
        key, value = m.group(2), m.group(3) or ""
        if key == "Port":
            pm = re.search(r"(?:(\S+)\s+)?(\d+)/(\w+)", value)
            if pm:
                port: Obj = {"port": int(pm.group(2)), "protocol": pm.group(3)}
                if pm.group(1) and pm.group(1) != "<unset>":
                    port["name"] = pm.group(1)
                out.append((port, []))
        elif key == "TargetPort" and out:
            tm = re.match(r"([\w-]+)(?:/\w+)?", value)
            if tm:
                out[-1][0]["targetPort"] = int(tm.group(1)) if tm.group(1).isdigit() else tm.group(1)
        elif key == "NodePort" and out:
            nm = re.search(r"(\d+)/", value)
            if nm:
                out[-1][0]["nodePort"] = int(nm.group(1))
        elif key == "Endpoints" and out:
            out[-1][1].extend(a.strip() for a in value.split(",") if a.strip() and a.strip() not in ("<none>",))
    return out


def _endpoints(name: str, namespace: str, ports: list[tuple[Obj, list[str]]]) -> Obj:
    """The Endpoints a Service describe shows: one subset per port with the listed addresses (none: no subsets).
    kubectl lists ``ip:port`` and ``+ N more...``; the counted-but-unlisted addresses are not invented."""
    subsets = []
    for port, addresses in ports:
        ips = [a.rsplit(":", 1)[0] for a in addresses if ":" in a and not a.startswith("+")]
        if not ips:
            continue
        target = addresses[0].rsplit(":", 1)[1]
        ep_port: Obj = {"port": int(target) if target.isdigit() else port["port"], "protocol": port["protocol"]}
        if port.get("name"):
            ep_port["name"] = port["name"]
        subsets.append({"addresses": [{"ip": ip} for ip in ips], "ports": [ep_port]})
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace},
        "subsets": subsets,
    }


class _Helpers:
    """What the per-kind readers (:mod:`.describe_workloads`) share with this module."""

    Line = _Line
    fields = staticmethod(_fields)
    child_indent = staticmethod(_child_indent)
    conditions = staticmethod(_conditions)
    containers = staticmethod(_containers)
    volumes = staticmethod(_volumes)
    labels = staticmethod(_labels)
    time = staticmethod(_time)
    iso = staticmethod(_iso)


def capture_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """When the text was captured, as :func:`parse` takes it: the latest absolute time in it, moved later where an
    event's age dates something the text also shows (see :func:`_anchored`), else ``now`` (the time it is read);
    every age in the text counts back from it, and a diagnosis of it runs at it."""
    try:
        return _read(text, now)[1]
    except DescribeError:
        return now or dt.datetime.now(dt.UTC)


def parse(text: str, now: dt.datetime | None = None) -> list[Obj]:
    """The objects (and their events) of ``kubectl describe`` output, or of a fragment of it (an Events table, a
    Conditions or State block, one event message: see :mod:`.describe_fragment`)."""
    return _read(text, now)[0]


def _read(text: str, now: dt.datetime | None) -> tuple[list[Obj], dt.datetime]:
    from .describe_flat import unflatten
    from .describe_fragment import as_describe

    blocks = _split(unflatten(as_describe(normalise(text))))
    if not blocks:
        raise DescribeError("1: empty describe output")
    latest = _latest_time([ln for b in blocks for ln in b])
    captured = latest or now or dt.datetime.now(dt.UTC)
    objects = [o for block in blocks for o in _object(block, captured)]
    if latest is not None:
        later = _anchored(objects)
        if later > dt.timedelta():
            captured += later
            objects = [o for block in blocks for o in _object(block, captured)]
    return _named_validly(objects), captured


_INVALID_NAME_CHARS = re.compile(r"[^a-z0-9.-]+")


def _name_from_redacted(name: str) -> str:
    """A name as pasted text may redact it (``(node-2-ip)``, ``<my-pod>``, ``MY_NODE``) turned into a valid one, so
    the paste is still diagnosed: lower case, anything else a dash, trimmed."""
    slug = _INVALID_NAME_CHARS.sub("-", name.lower()).strip("-.")
    return slug or "redacted"


def _named_validly(objects: list[Obj]) -> list[Obj]:
    """Objects and their events under names the API would accept (see :func:`_name_from_redacted`)."""
    valid = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    renamed: dict[str, str] = {}
    for o in objects:
        name = str((o.get("metadata") or {}).get("name") or "")
        if o.get("kind") != "Event" and name and not valid.match(name):
            renamed[name] = _name_from_redacted(name)
            o["metadata"]["name"] = renamed[name]
    if renamed:
        for o in objects:
            involved = o.get("involvedObject") if o.get("kind") == "Event" else None
            if isinstance(involved, dict) and involved.get("name") in renamed:
                involved["name"] = renamed[involved["name"]]
    return objects


def _anchored(objects: list[Obj]) -> dt.timedelta:
    """How much later than its latest absolute time the text was captured. The latest absolute time (a container's
    start, a heartbeat) is only a lower bound: an event that dates a moment the text also shows absolutely gives the
    capture time as that moment plus the event's age. Such pairs: a pod's ``Scheduled`` event and its ``Start
    Time``; a ``Started container X`` event and X's latest start; a Job's first ``SuccessfulCreate`` and its ``Start
    Time``; a node's ``NodeNotReady``/``NodeReady``/``NodeHas…Pressure`` event and the matching condition's
    transition. Events of unknown age (``<unknown>``, ``<invalid>``: a skewed clock) date nothing."""
    described = {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] != "Event"}
    later = dt.timedelta()
    for event in (o for o in objects if o["kind"] == "Event"):
        about = described.get((event["involvedObject"]["kind"], event["involvedObject"]["name"]))
        moment = _dated_by(about, event) if about else None
        first = about is not None and about["kind"] == "Job"  # a Job's first pod is created when it starts
        seen = _time(event.get("firstTimestamp" if first else "lastTimestamp", ""))
        if moment and seen:  # an event of unknown age is dated at the capture time: it moves nothing
            later = max(later, moment - seen)
    return later


_NODE_EVENTS = {
    "NodeNotReady": ("Ready", ("False", "Unknown")),
    "NodeReady": ("Ready", ("True",)),
    "NodeHasDiskPressure": ("DiskPressure", ("True",)),
    "NodeHasInsufficientMemory": ("MemoryPressure", ("True",)),
    "NodeHasInsufficientPID": ("PIDPressure", ("True",)),
}


def _dated_by(obj: Obj, event: Obj) -> dt.datetime | None:
    """The absolute time in ``obj`` the event happened at, when the text shows it."""
    status = obj.get("status") or {}
    if obj["kind"] == "Pod" and event.get("reason") == "Scheduled" and status.get("startTime"):
        return _time(status["startTime"])  # the kubelet takes the pod a moment after it is bound
    if obj["kind"] == "Pod" and event.get("reason") == "Started":
        m = re.match(r"Started container (\S+)", event.get("message", ""))
        statuses = [*status.get("containerStatuses", []), *status.get("initContainerStatuses", [])]
        c = next((c for c in statuses if m and c["name"] == m.group(1)), None)
        if c is None:
            return None
        state, last = c.get("state") or {}, c.get("lastState") or {}
        started = (
            (state.get("running") or {}).get("startedAt")
            or (state.get("terminated") or {}).get("startedAt")
            or (last.get("terminated") or {}).get("startedAt")
        )
        return _time(started) if started else None
    if obj["kind"] == "Job" and event.get("reason") == "SuccessfulCreate" and status.get("startTime"):
        return _time(status["startTime"])
    if obj["kind"] == "Node" and event.get("reason") in _NODE_EVENTS:
        kind, states = _NODE_EVENTS[event["reason"]]
        cond = next((c for c in status.get("conditions", []) if c["type"] == kind), None)
        if cond and cond["status"] in states and cond.get("lastTransitionTime"):
            return _time(cond["lastTransitionTime"])
    return None


def target_of(objects: list[Obj]) -> str:
    """``kind/namespace/name`` of the first described object, preferring one kubewhy diagnoses (what ``kubewhy
    why --describe FILE`` diagnoses): a paste of Endpoints and then their Service is about the Service."""
    from .. import kinds
    from ..models.target import SHORT

    described = [o for o in objects if o["kind"] != "Event"]
    first = next((o for o in described if o["kind"] in kinds.TARGETS), described[0])
    short = SHORT.get(first["kind"], first["kind"].lower())
    meta = first["metadata"]
    return f"{short}/{meta['namespace']}/{meta['name']}" if meta.get("namespace") else f"{short}/{meta['name']}"
