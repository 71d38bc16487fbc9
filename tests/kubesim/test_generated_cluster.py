"""A generated cluster (benchmarks, `kubewhy sim serve --generate`) is self-consistent: ages, restarts, events,
owners and addresses agree as they would on a real cluster."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from pathlib import Path

from kubesim import runner
from kubesim.cluster import Cluster
from kubesim.generate import large_scenario
from kubesim.server import SimOptions
from tests.conftest import run_kubectl


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_times_owners_events_and_addresses_agree() -> None:
    cluster = Cluster(large_scenario(pods=200, nodes=10, events=400, namespaces=3))
    now = datetime.now(UTC)
    nodes = {n["metadata"]["name"]: n for n in cluster.store.all_objects(("", "nodes"))}
    pods = cluster.store.all_objects(("", "pods"))
    replicasets = {rs["metadata"]["uid"] for rs in cluster.store.all_objects(("apps", "replicasets"))}
    by_uid = {p["metadata"]["uid"]: p for p in pods}
    assert len({p["status"]["podIP"] for p in pods}) == len(pods), "pod IPs are unique"
    for pod in pods:
        meta, status = pod["metadata"], pod["status"]
        created = when(meta["creationTimestamp"])
        assert created == when(status["startTime"]) and 2 * 3600 < (now - created).total_seconds() < 4 * 3600
        node = nodes[pod["spec"]["nodeName"]]
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        ip = ipaddress.ip_address(status["podIP"])
        assert ip in cidr and ip not in (cidr.network_address, cidr.broadcast_address), status["podIP"]
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        assert status["hostIP"] == node["status"]["addresses"][0]["address"]
        assert not ipaddress.ip_address(status["hostIP"]).packed.endswith(b"\x00")
        assert meta["ownerReferences"][0]["uid"] in replicasets
        cs = status["containerStatuses"][0]
        if cs["restartCount"]:
            last = cs["lastState"]["terminated"]
            assert created < when(last["startedAt"]) < when(last["finishedAt"]) < now
    events = cluster.store.all_objects(("", "events"))
    assert len(events) == 400
    for ev in events:
        pod = by_uid[ev["involvedObject"]["uid"]]
        assert ev["involvedObject"]["name"] == pod["metadata"]["name"]
        crashing = pod["status"]["containerStatuses"][0]["restartCount"] > 0
        assert (ev["reason"], ev["type"]) == ("BackOff", "Warning") if crashing else ev["type"] == "Normal"
        assert (
            when(pod["metadata"]["creationTimestamp"]) <= when(ev["firstTimestamp"]) <= when(ev["lastTimestamp"]) <= now
        )


def test_kubectl_shows_ages_and_restarts_that_agree(tmp_path: Path) -> None:
    sim = runner.run_in_thread(
        large_scenario(pods=100, nodes=5, events=200, namespaces=2),
        SimOptions(timeline_mode="manual"),
        kubeconfig_out=tmp_path / "gen.kubeconfig",
    )
    try:
        out = run_kubectl(sim, "get", "pods", "-A").stdout
        crashing = next(line for line in out.splitlines() if "CrashLoopBackOff" in line)
        assert re.search(r"CrashLoopBackOff\s+7 \(5m\d*s? ago\)\s+3h\d*m?$", crashing.strip()), crashing
        healthy = next(line for line in out.splitlines() if "Running" in line)
        assert re.search(r"Running\s+0\s+3h\d*m?$", healthy.strip()), healthy
    finally:
        sim.stop()
