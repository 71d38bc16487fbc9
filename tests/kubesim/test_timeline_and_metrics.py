"""Scripted changes over time, the control API, and the cAdvisor-style /metrics for Prometheus."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from kubernetes import client, config, watch

from kubesim.runner import RunningSim

TIMELINE = """
apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: flapping}
description: node-2 goes NotReady after 5 s, then a pod is evicted
timeline:
- after: 5s
  patch:
    target: {kind: Node, name: node-2}
    merge:
      status:
        conditions:
        - {type: Ready, status: "Unknown", reason: NodeStatusUnknown, message: Kubelet stopped posting node status.}
- after: 10s
  evict: {namespace: default, name: web-1}
---
apiVersion: v1
kind: Node
metadata: {name: node-2}
status:
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1}
spec:
  nodeName: node-2
  containers: [{name: app, image: nginx}]
status:
  phase: Running
  containerStatuses:
  - {name: app, ready: true, restartCount: 0, image: nginx, imageID: "",
     state: {running: {startedAt: "2024-06-14T09:00:00Z"}}}
"""


def test_manual_timeline_steps_reach_watchers(start_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "flap.yaml").write_text(TIMELINE)
    sim: RunningSim = start_sim(tmp_path / "flap.yaml", timeline_mode="manual")
    v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(sim.kubeconfig)))
    rv = v1.list_node().metadata.resource_version
    assert sim.control("timeline/advance", {"seconds": 4})["applied"] == 0
    assert sim.control("timeline/advance", {"seconds": 1})["applied"] == 1
    events = list(watch.Watch().stream(v1.list_node, resource_version=rv, timeout_seconds=1))
    assert [(e["type"], e["object"].status.conditions[0].status) for e in events] == [("MODIFIED", "Unknown")]
    sim.control("timeline/advance", {"seconds": 5})
    pod = v1.read_namespaced_pod("web-1", "default")
    assert pod.status.phase == "Failed" and pod.status.reason == "Evicted"
    evicted = v1.list_namespaced_event("default", field_selector="involvedObject.name=web-1,reason=Evicted")
    assert len(evicted.items) == 1 and evicted.items[0].type == "Warning"


def test_control_api_applies_changes_now(mini: RunningSim) -> None:
    mini.control(
        "apply",
        {
            "steps": [
                {
                    "evict": {
                        "namespace": "default",
                        "name": "web-2",
                        "message": "The node was low on resource: ephemeral-storage.",
                    }
                }
            ]
        },
    )
    v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(mini.kubeconfig)))
    pod = v1.read_namespaced_pod("web-2", "default")
    assert pod.status.reason == "Evicted" and "ephemeral-storage" in pod.status.message


def test_metrics_endpoint_speaks_prometheus_text(mini: RunningSim) -> None:
    text = urllib.request.urlopen(mini.url + "/metrics", timeout=5).read().decode()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    web2 = [ln for ln in lines if 'pod="web-2"' in ln]
    assert any(ln.startswith("container_memory_working_set_bytes{") for ln in web2)
    assert any(ln.startswith("container_cpu_cfs_periods_total{") for ln in web2)
    assert any(ln.startswith("kube_pod_container_resource_limits{") and 'resource="memory"' in ln for ln in web2)
    # Every sample line is NAME{labels} VALUE with a float value.
    for ln in lines:
        name_labels, value = ln.rsplit(" ", 1)
        float(value)
        assert name_labels.endswith("}")
