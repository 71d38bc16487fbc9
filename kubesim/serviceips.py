"""What a real API server's Service registry allocates on create, so a created Service reads as on a cluster:
a cluster IP from the service CIDR (``clusterIP``, ``clusterIPs``, ``ipFamilies: [IPv4]``,
``ipFamilyPolicy: SingleStack``) and a node port for each port of a NodePort or LoadBalancer Service.

Upstream: k8s.io/kubernetes pkg/registry/core/service/storage/alloc.go (a single-stack IPv4 cluster with
kubeadm's default service CIDR 10.96.0.0/12 and node-port range 30000-32767). On update the registry keeps what
it allocated when the new body leaves it out (``patchAllocatedValues``).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]
CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy")


def allocate(svc: Obj, existing: Iterable[Obj]) -> None:
    """Fill in the cluster IP and node ports of a Service being created (in place)."""
    spec = svc.setdefault("spec", {})
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        return
    others = [o.get("spec") or {} for o in existing]
    if not spec.get("clusterIP"):
        taken = {s.get("clusterIP") for s in others}
        ip = ""
        while not ip or ip in taken:
            ip = str(CIDR[random.randrange(1, CIDR.num_addresses - 1)])
        spec["clusterIP"] = ip
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    if kind in ("NodePort", "LoadBalancer"):
        used = {p.get("nodePort") for s in others for p in s.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                port["nodePort"] = random.choice([n for n in NODE_PORTS if n not in used])
                used.add(port["nodePort"])


def keep_allocated(old: Obj, new: Obj) -> None:
    """An update that leaves out what the registry allocated keeps it (in place)."""
    old_spec, spec = old.get("spec") or {}, new.get("spec")
    if not isinstance(spec, dict) or spec.get("type", "ClusterIP") != old_spec.get("type", "ClusterIP"):
        return
    for key in _ALLOCATED:
        if not spec.get(key) and old_spec.get(key):
            spec[key] = old_spec[key]
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        if not port.get("nodePort") and old_ports.get((port.get("port"), port.get("protocol", "TCP"))):
            port["nodePort"] = old_ports[(port.get("port"), port.get("protocol", "TCP"))]


__all__ = ["allocate", "keep_allocated"]
