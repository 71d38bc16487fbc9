"""Widening the investigation (seed 004's order): from a pod to its owner, node and (when Pending) unbound
claims, from a workload or a Service to its unhealthy pods, from an HPA to what it scales, from a CronJob to its
latest Jobs. Causes found there are linked to the target's.

The chain to the root (issue 23): a Deployment descends to its newest ReplicaSet (the highest
``deployment.kubernetes.io/revision`` it owns) and that ReplicaSet's pods come first; a workload's, Service's or
claim's unhealthy pods are followed, in turn, to their node (when it shows trouble) and to the claims a Pending pod
waits for. The workload's own condition is then the symptom and the pods' cause the root (``caused_by``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Iterable
from typing import Any

from .. import kinds, selectors
from ..adapters.cache import CachedKube
from ..errors import AdapterError
from ..models.findings import CheckResult
from .runner import Subject

MAX_PODS = 3
MAX_JOBS = 2  # a CronJob's latest Jobs examined
REVISION = "deployment.kubernetes.io/revision"


def ref_of(obj: dict[str, Any]) -> str:
    """``kind/namespace/name``; a namespaced object written without a namespace (a hand-made snapshot) is in
    ``default``, where the API server would have put it."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind", ""))
    row = kinds.BY_KIND.get(kind)
    ns = meta.get("namespace") or ("default" if row is not None and row.namespaced else None)
    return f"{kinds.short_name(kind)}/{ns}/{meta.get('name')}" if ns else f"{kinds.short_name(kind)}/{meta.get('name')}"


def pod_unhealthy(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") not in ("Running", "Succeeded"):
        return True
    for cs in status.get("containerStatuses") or []:
        if not cs.get("ready") and status.get("phase") == "Running":
            return True
        if (cs.get("restartCount") or 0) > 0:
            return True
    return False


def object_troubled(obj: dict[str, Any], now_ts: float | None = None) -> bool:
    """Whether a related object shows trouble of its own; playbooks run on related objects only then.

    The target always gets every playbook; a healthy node or a fully available Deployment next to it adds no
    API requests and no noise.
    """
    import time
    from datetime import datetime

    kind = obj.get("kind")
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    if kind == "Pod":
        return pod_unhealthy(obj) or status.get("reason") == "Evicted"
    if kind == "Node":
        now_ts = now_ts or time.time()
        if (obj.get("spec") or {}).get("unschedulable") or (obj.get("spec") or {}).get("taints"):
            return True
        for c in conditions:
            bad = (c.get("type") == "Ready" and c.get("status") != "True") or (
                c.get("type") != "Ready" and c.get("status") == "True"
            )
            if bad:
                return True
            if c.get("type") == "Ready" and c.get("lastTransitionTime"):
                try:
                    changed = datetime.fromisoformat(str(c["lastTransitionTime"]))
                except ValueError:
                    continue
                if now_ts - changed.timestamp() < 3600:  # flapping within the last hour
                    return True
        return not conditions
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
        want = (
            (obj.get("spec") or {}).get("replicas", 1)
            if kind != "DaemonSet"
            else status.get("desiredNumberScheduled", 0)
        )
        ready = status.get("readyReplicas", 0) if kind != "DaemonSet" else status.get("numberReady", 0)
        failing = any(
            (c.get("type") in ("Available", "Progressing") and c.get("status") == "False")
            or (c.get("type") == "ReplicaFailure" and c.get("status") == "True")
            for c in conditions
        )
        rolling = status.get("updatedReplicas", want) < want or status.get("unavailableReplicas", 0) > 0
        return ready < want or failing or rolling or status.get("currentRevision") != status.get("updateRevision")
    if kind == "HorizontalPodAutoscaler":
        return any(c.get("status") == "False" for c in conditions)
    return True  # Services, ServiceMonitors, Jobs ...: no cheap health signal, let their symptoms decide


async def _selected_pods(kube: CachedKube, namespace: str | None, selector: Any) -> list[dict[str, Any]]:
    """The pods a workload's LabelSelector or a Service's label map picks; none for an empty or unreadable one
    (a selector the API server accepted is always readable; a hand-written snapshot may hold anything)."""
    try:
        text = selectors.to_text(selector)
        selectors.parse(text)  # a value no API server would hold (a mis-read paste) selects nothing
    except selectors.SelectorError:
        return []
    return await kube.list("Pod", namespace, label_selector=text) if text else []


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    """Whether a ServiceMonitor's selector picks these labels; an absent or empty one is not taken to pick all."""
    if not selector or not isinstance(selector, dict):
        return False
    try:
        return selectors.selector_matches(selector, labels)
    except selectors.SelectorError:
        return False


async def _services_in_logs(kube: CachedKube, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Services a client pod's recent log lines name (by DNS name or cluster IP): where its errors point."""
    meta = pod.get("metadata") or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    running = [c["name"] for c in statuses if "running" in (c.get("state") or {})]
    if not running:
        return []
    text = await kube.logs(meta.get("namespace", ""), meta.get("name", ""), running[0], tail=50) or ""
    if not text:
        return []
    services = await kube.list("Service", meta.get("namespace"))
    hits = []
    for svc in services:
        name = svc["metadata"]["name"]
        ip = (svc.get("spec") or {}).get("clusterIP")
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?:\.|:|/|\b)", text) or (ip and ip != "None" and ip in text):
            hits.append(svc)
    return hits[:2]


async def _node(kube: CachedKube, pod: dict[str, Any]) -> dict[str, Any] | None:
    name = (pod.get("spec") or {}).get("nodeName")
    return await kube.get("Node", None, name) if name else None


async def _top_owner(kube: CachedKube, pod: dict[str, Any]) -> dict[str, Any] | None:
    """The pod's controller, or the Deployment above its ReplicaSet.

    A Deployment names its ReplicaSets ``<deployment>-<pod-template-hash>`` and labels their pods with that hash,
    so the Deployment's GET goes out with the ReplicaSet's instead of after it (one round trip less on the
    diagnosis's critical path). It is used only if the ReplicaSet's ``ownerReferences`` name that Deployment, as
    before; otherwise it is the one extra request of a ReplicaSet so named without a Deployment above it."""
    meta = pod.get("metadata") or {}
    ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if not ref or ref.get("kind") not in kinds.CONTROLLERS:
        return None
    namespace = meta.get("namespace")
    guess = _deployment_named(ref, meta)
    early = asyncio.ensure_future(kube.get("Deployment", namespace, guess)) if guess else None
    if early is not None:
        early.add_done_callback(_consumed)
    owner = await kube.get(ref["kind"], namespace, ref.get("name", ""))
    if owner and ref["kind"] == "ReplicaSet":
        top = next(
            (
                r
                for r in (owner.get("metadata") or {}).get("ownerReferences") or []
                if r.get("controller") and r.get("kind") == "Deployment"
            ),
            None,
        )
        if top and early is not None and top.get("name") == guess:
            return await early
        owner = await kube.get("Deployment", namespace, top["name"]) if top else owner
    return owner


def _deployment_named(ref: dict[str, Any], pod_meta: dict[str, Any]) -> str | None:
    """The Deployment a pod's ReplicaSet was made by, going by the names the Deployment controller gives."""
    hash_ = ((pod_meta.get("labels") or {}).get("pod-template-hash")) or ""
    name = str(ref.get("name") or "")
    if ref.get("kind") != "ReplicaSet" or not hash_ or not name.endswith(f"-{hash_}"):
        return None
    return name[: -len(hash_) - 1] or None


def _consumed(fut: asyncio.Future[Any]) -> None:
    """An early request nobody went on to need may fail unseen (its error is the ReplicaSet path's to report)."""
    if not fut.cancelled():
        fut.exception()


async def _pending_claims(kube: CachedKube, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The unbound PersistentVolumeClaims a Pending pod waits for (they explain why it is not scheduled)."""
    if (pod.get("status") or {}).get("phase") != "Pending":
        return []
    ns = (pod.get("metadata") or {}).get("namespace")
    volumes = (pod.get("spec") or {}).get("volumes") or []
    claims = [(v.get("persistentVolumeClaim") or {}).get("claimName") for v in volumes]
    found = await asyncio.gather(*(kube.get("PersistentVolumeClaim", ns, c) for c in claims if c))
    return [c for c in found if c and (c.get("status") or {}).get("phase") != "Bound"]


POD_RELATIONS = ("node", "owner", "calls", "volume")


def pod_relations(kube: CachedKube, pod: dict[str, Any]) -> list[Any]:
    """The independent lookups around a pod, in the order of POD_RELATIONS, as awaitables, so a caller can
    start on each as soon as it arrives."""
    return [_node(kube, pod), _top_owner(kube, pod), _services_in_logs(kube, pod), _pending_claims(kube, pod)]


async def readable(
    lookup: Awaitable[Any], relation: str, unread: list[CheckResult], default: Any, what: str = ""
) -> Any:
    """A related object's lookup; one the caller may not read (RBAC) or that failed is noted in ``unread`` and
    the investigation goes on without it: the diagnosis is then incomplete, not wrong."""
    t0 = time.perf_counter()
    try:
        return await lookup
    except AdapterError as exc:
        unread.append(
            CheckResult(
                f"related.{relation}",
                "error",
                (time.perf_counter() - t0) * 1000,
                f"could not read the {what or relation}: {exc}",
                "backend-error",
            )
        )
        return default


def _revision(obj: dict[str, Any]) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except (TypeError, ValueError):
        return 0


def controlled_by(obj: dict[str, Any], owner: dict[str, Any], kind: str) -> bool:
    """Whether ``owner`` (of ``kind``) is in ``obj``'s ownerReferences: by uid when both carry one, else by kind and
    name (a hand-made snapshot may omit uids and the ``controller`` flag)."""
    ometa = owner.get("metadata") or {}
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if not isinstance(ref, dict) or ref.get("kind") != kind or ref.get("name") != ometa.get("name"):
            continue
        if ref.get("uid") and ometa.get("uid") and ref["uid"] != ometa["uid"]:
            continue
        return True
    return False


async def newest_replicaset(kube: CachedKube, deployment: dict[str, Any]) -> dict[str, Any] | None:
    """The Deployment's newest ReplicaSet: of those it owns, the one with the highest revision annotation (ties:
    the latest created). One LIST by the Deployment's selector, the request recent-change makes too (cached)."""
    meta = deployment.get("metadata") or {}
    try:
        text = selectors.to_text((deployment.get("spec") or {}).get("selector"))
        selectors.parse(text)
    except selectors.SelectorError:
        return None
    if not text:
        return None
    owned = [
        rs
        for rs in await kube.list("ReplicaSet", meta.get("namespace"), label_selector=text)
        if controlled_by(rs, deployment, "Deployment")
    ]
    if not owned:
        return None
    return max(owned, key=lambda rs: (_revision(rs), str((rs.get("metadata") or {}).get("creationTimestamp") or "")))


async def latest_jobs(kube: CachedKube, cronjob: dict[str, Any]) -> list[dict[str, Any]]:
    """A CronJob's latest Jobs (at most MAX_JOBS), newest first: one LIST of the namespace's Jobs."""
    ns = (cronjob.get("metadata") or {}).get("namespace")
    jobs = [j for j in await kube.list("Job", ns) if controlled_by(j, cronjob, "CronJob")]

    def started(job: dict[str, Any]) -> str:
        status = job.get("status") or {}
        return str(status.get("startTime") or (job.get("metadata") or {}).get("creationTimestamp") or "")

    return sorted(jobs, key=started, reverse=True)[:MAX_JOBS]


async def _surroundings(
    kube: CachedKube, target: dict[str, Any], pods: list[dict[str, Any]], unread: list[CheckResult]
) -> list[Subject]:
    """A pod's cause follows to its node and claims, for the pods a workload, Service or claim was followed to:
    the nodes of the unhealthy ones, kept when they show trouble of their own, and the unbound claims a Pending one
    waits for. The nodes come from one LIST (the one single-point and statefulset-stuck make: cached), not a GET
    per node."""
    bad = [p for p in pods if pod_unhealthy(p)]
    names = {str(n) for p in bad if (n := (p.get("spec") or {}).get("nodeName"))}
    nodes, claims = await asyncio.gather(
        readable(kube.list("Node"), "node", unread, [], "pods' nodes") if names else _nothing(),
        asyncio.gather(*(readable(_pending_claims(kube, p), "volume", unread, [], "pod's claims") for p in bad)),
    )
    out = [
        Subject(ref_of({**n, "kind": "Node"}), {**n, "kind": "Node"}, "node")
        for n in nodes
        if (n.get("metadata") or {}).get("name") in names and object_troubled({**n, "kind": "Node"})
    ]
    seen = {ref_of(target)}
    for claim in (c for group in claims for c in group):
        ref = ref_of({**claim, "kind": "PersistentVolumeClaim"})
        if ref not in seen:
            seen.add(ref)
            out.append(Subject(ref, claim, "volume"))
    return out


def _owners(pods: Iterable[dict[str, Any]]) -> set[str]:
    """The names of the ReplicaSets controlling these pods."""
    return {
        str(ref.get("name"))
        for p in pods
        for ref in (p.get("metadata") or {}).get("ownerReferences") or []
        if isinstance(ref, dict) and ref.get("kind") == "ReplicaSet"
    }


async def _nothing() -> list[dict[str, Any]]:
    return []


async def related_subjects(kube: CachedKube, target: dict[str, Any], unread: list[CheckResult]) -> list[Subject]:
    """What to examine besides a workload, Service, PVC, HPA or CronJob target (a pod's relations:
    ``pod_relations``): its pods, unhealthy first (a Deployment's newest ReplicaSet's first), and their nodes and
    claims; a CronJob's latest Jobs and their pods; an HPA's scale target."""
    kind = target.get("kind")
    meta = target.get("metadata") or {}
    ns = meta.get("namespace")
    out: list[Subject] = []
    pods: list[dict[str, Any]] = []
    newest: dict[str, Any] | None = None
    if kind in kinds.POD_SELECTING:
        pods_task = asyncio.ensure_future(
            readable(_selected_pods(kube, ns, (target.get("spec") or {}).get("selector")), "pods", unread, [])
        )
        scalers_task = asyncio.ensure_future(
            readable(kube.list("HorizontalPodAutoscaler", ns), "autoscalers", unread, [], "HorizontalPodAutoscalers")
        )
        scalers: list[dict[str, Any]] = await scalers_task
        selected: list[dict[str, Any]] = await pods_task
        pods = selected
        if kind == "Deployment" and len(_owners(p for p in pods if pod_unhealthy(p))) > 1:
            # Unhealthy pods of several ReplicaSets (a stuck rollout next to a sick old revision): the newest
            # revision's come first. One LIST, shared with recent-change's; not made when there is no choice.
            newest = await readable(newest_replicaset(kube, target), "replicasets", unread, None, "ReplicaSets")
        for hpa in scalers:
            ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if ref.get("kind") == kind and ref.get("name") == meta.get("name"):
                out.append(Subject(ref_of(hpa), hpa, "scaler"))
    elif kind == "CronJob":
        jobs = await readable(latest_jobs(kube, target), "jobs", unread, [], "Jobs")
        out += [Subject(ref_of({**j, "kind": "Job"}), {**j, "kind": "Job"}, "job") for j in jobs]
        found = await asyncio.gather(
            *(
                readable(_selected_pods(kube, ns, (j.get("spec") or {}).get("selector")), "pods", unread, [])
                for j in jobs
            )
        )
        pods = [p for group in found for p in group]
    elif kind == "Service":
        pods = await readable(_selected_pods(kube, ns, (target.get("spec") or {}).get("selector")), "pods", unread, [])
        labels = meta.get("labels") or {}
        for sm in await readable(kube.list("ServiceMonitor", ns), "servicemonitors", unread, [], "ServiceMonitors"):
            if _selects((sm.get("spec") or {}).get("selector"), labels):
                out.append(Subject(ref_of(sm), sm, "monitor"))
    elif kind == "PersistentVolumeClaim":
        pods = [
            p
            for p in await readable(kube.list("Pod", ns), "pods", unread, [])
            if any(
                (v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name")
                for v in (p.get("spec") or {}).get("volumes") or []
            )
        ]
    elif kind == "HorizontalPodAutoscaler":
        ref = (target.get("spec") or {}).get("scaleTargetRef") or {}
        scaled = (
            await readable(
                kube.get(ref.get("kind", "Deployment"), ns, ref.get("name", "")),
                "scale-target",
                unread,
                None,
                "object it scales",
            )
            if ref.get("name")
            else None
        )
        if scaled:
            out.append(Subject(ref_of(scaled), scaled, "owner"))
        return out

    # Unhealthy pods first, the newest ReplicaSet's before an older one's; a healthy pod still carries latent
    # causes (subPath mounts, throttling).
    def order(p: dict[str, Any]) -> tuple[bool, bool, str]:
        mine = newest is None or controlled_by(p, newest, "ReplicaSet")
        return (not pod_unhealthy(p), not mine, str(p["metadata"]["name"]))

    chosen = sorted(pods, key=order)[:MAX_PODS]
    out += [Subject(ref_of(pod), pod, "pod") for pod in chosen]
    out += await _surroundings(kube, target, chosen, unread)
    return out


def beyond_the_text(kind: str, obj: dict[str, Any]) -> str:
    """What a pasted ``kubectl describe`` of ``obj`` cannot hold, and how to read it: the note under a diagnosis of
    pasted text, where a cause that needs more (a workload's pods, a pod's logs, metrics) is named as a symptom at
    most. Empty for a fragment without a kind."""
    meta = obj.get("metadata") or {}
    name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "default")
    spec = obj.get("spec") or {}
    try:
        selector = selectors.to_text(spec.get("selector")) or ""
    except selectors.SelectorError:
        selector = ""
    pods = f"its pods (kubectl -n {ns} describe pods" + (f" -l {selector})" if selector else ")")
    missing = {
        "Pod": f"its container logs (kubectl -n {ns} logs {name} --all-containers --previous --tail=50), "
        + (f"its node (kubectl describe node {spec['nodeName']}) " if spec.get("nodeName") else "its node ")
        + "and its metrics",
        "Node": f"its pods (kubectl get pods -A --field-selector spec.nodeName={name}) and its metrics",
        "Service": pods,
        "PersistentVolumeClaim": f"the pods that mount it (kubectl -n {ns} get pods -o wide) and its volume's usage",
        "HorizontalPodAutoscaler": "the metrics API (kubectl get apiservice v1beta1.metrics.k8s.io) and the object "
        "it scales",
        "Ingress": "the other Ingresses and the Services it routes to (kubectl get ingress -A)",
        "CronJob": f"its Jobs and their pods (kubectl -n {ns} get jobs)",
    }
    what = missing.get(kind) or (pods if kind in kinds.POD_SELECTING else "")
    if not what or not name:
        return ""
    return (
        f"Not in the pasted text: {what}. A cause that lives there is named here as its symptom at most; "
        f"kubewhy why {kinds.short_name(kind)}/{ns + '/' if kinds.is_namespaced(kind) else ''}{name} against the "
        "cluster reads them."
    )
