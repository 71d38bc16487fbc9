"""``kubectl describe`` text as input, on real pastes from public bug reports (tests/realworld/describe)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kubewhy.adapters import describe

SAMPLES = Path(__file__).resolve().parents[1] / "realworld" / "describe"
EXPECTED = {
    "kuill-83-pod.txt": ("pod/kube-system/kuill-5b7bd6c875-lsbqc", "failed-mount"),
    "aks-engine-2064-pod.txt": ("pod/default/portforwardlinux-6252-bc95f66d9-k5mdr", "sandbox-failed"),
    "fastdfs-6-pvc.txt": ("pvc/default/storage0-data-fastdfs-group0-storage0-0", "pvc-pending"),
    "k8s-94216-init-pod.txt": ("pod/rtf/mule-app-7c8d9f-x2k4p", "init-container-failed"),
    "orc-21-node.txt": ("node/orc-worker-2", "node-pleg"),
    "tutorial-svc.txt": ("svc/default/wordpress", "lb-pending"),
}


def _why(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", *args, "--no-audit"], capture_output=True, text=True, timeout=60
    )


def test_every_sample_is_listed_with_its_source() -> None:
    listed = (SAMPLES / "SOURCES.md").read_text(encoding="utf-8")
    assert set(EXPECTED) <= {p.name for p in SAMPLES.glob("*.txt")}  # the rest are scored by tests/realworld
    for name in EXPECTED:
        assert f"`{name}` | https://github.com/" in listed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_why_describe_names_the_cause_of_a_real_paste(name: str) -> None:
    target, cause = EXPECTED[name]
    run = _why("--describe", str(SAMPLES / name), "-o", "json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    *_, name_part = target.split("/")
    assert report["target"]["name"] == name_part
    assert report["findings"][0]["id"] == cause, [f["id"] for f in report["findings"]]


def test_a_pod_describe_becomes_the_pod_and_its_events() -> None:
    objs = describe.parse((SAMPLES / "kuill-83-pod.txt").read_text(encoding="utf-8"))
    pod, *events = objs
    assert pod["metadata"]["ownerReferences"][0] == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "kuill-5b7bd6c875",
        "controller": True,
    }
    assert pod["spec"]["nodeName"] == "kube-node-120"
    assert pod["spec"]["volumes"] == [{"name": "auth-proxy-certs", "secret": {"secretName": "auth-proxy-certs"}}]
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]} == {
        "Initialized": "True",
        "Ready": "False",
        "PodScheduled": "True",
    }
    mount = next(e for e in events if e["reason"] == "FailedMount")
    assert mount["count"] == 8 and mount["type"] == "Warning" and mount["source"] == {"component": "kubelet"}
    assert mount["firstTimestamp"] < mount["lastTimestamp"]  # "1m (x8 over 2m)"


def test_states_and_times_are_read_back() -> None:
    pod = describe.parse((SAMPLES / "k8s-94216-init-pod.txt").read_text(encoding="utf-8"))[0]
    last = pod["status"]["initContainerStatuses"][0]["lastState"]["terminated"]
    assert last == {
        "reason": "Error",
        "message": "Failed to fetch /opt/mule/conf/rtfv1.yml. statusCode=403",
        "exitCode": 1,
        "startedAt": "2020-08-25T08:20:35Z",
        "finishedAt": "2020-08-25T08:20:35Z",
    }
    node = describe.parse((SAMPLES / "orc-21-node.txt").read_text(encoding="utf-8"))[0]
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "2020-12-06T17:49:40Z" and ready["reason"] == "KubeletNotReady"
    assert node["spec"]["taints"] == [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]


def test_a_paste_indented_after_its_first_line_is_read() -> None:
    objs = describe.parse((SAMPLES / "aks-engine-2064-pod.txt").read_text(encoding="utf-8"))
    assert objs[0]["metadata"]["namespace"] == "default" and objs[0]["status"]["phase"] == "Pending"
    assert objs[1]["reason"] == "FailedCreatePodSandBox"


def test_probes_requests_and_several_describes_in_one_text() -> None:
    text = """Name:         web-1
Namespace:    shop
Status:       Running
Containers:
  web:
    Image:          nginx
    Port:           8080/TCP
    State:          Running
      Started:      Mon, 01 Jan 2024 10:00:00 +0000
    Ready:          False
    Restart Count:  2
    Limits:
      memory:  128Mi
    Requests:
      cpu:     100m
    Liveness:       http-get http://:8080/healthz delay=3s timeout=1s period=10s #success=1 #failure=3
    Readiness:      tcp-socket :8080 delay=0s timeout=1s period=10s #success=1 #failure=3

Name:         db-claim
Namespace:    shop
StorageClass: standard
Status:       Bound
Volume:       pvc-1
Access Modes: RWO
"""
    pod, claim = describe.parse(text)
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 8080},
        "initialDelaySeconds": 3,
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["tcpSocket"] == {"port": 8080}
    assert c["resources"] == {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}}
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 2
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_text_that_is_not_describe_output_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "paste.txt"
    bad.write_text("Name:   something\nColour:  blue\n", encoding="utf-8")
    run = _why("--describe", str(bad))
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "Traceback" not in run.stderr
    assert f"{bad}:1: cannot tell which kind" in run.stderr


# ---- fragments and pasted dress (issue 23): read for what they hold, never refused ----------------------------------
EVENTS_ONLY = """Events:
  Type     Reason            Age                From               Message
  ----     ------            ----               ----               -------
  Warning  FailedScheduling  2m (x5 over 7m)    default-scheduler  0/3 nodes are available: 3 Insufficient memory.
"""
POD_HEAD = """Name:         web-1
Namespace:    prod
Status:       Pending
Containers:
  web:
    Image:      nginx
Events:
  Type     Reason            Age   From               Message
  ----     ------            ----  ----               -------
"""


def _diagnose(text: str) -> list[str]:
    import asyncio

    from kubewhy.adapters.kube_snapshot import SnapshotKube
    from kubewhy.playbooks.loader import load_dirs
    from kubewhy.service import Deps, diagnose_described

    report = asyncio.run(diagnose_described(text, Deps(kube=SnapshotKube([], objects=[]), catalog=load_dirs([]))))
    return [f.id for f in report.findings]


def test_an_events_table_alone_is_about_a_pasted_pod() -> None:
    pod, event = describe.parse(EVENTS_ONLY)
    assert (pod["kind"], pod["metadata"]["name"]) == ("Pod", describe.PLACEHOLDER)
    assert event["involvedObject"]["name"] == "pasted" and event["count"] == 5
    assert describe.target_of([pod, event]) == "pod/default/pasted"
    assert _diagnose(EVENTS_ONLY)[0] == "pending-unschedulable"


def test_a_bare_scheduler_message_is_diagnosed() -> None:
    text = "0/3 nodes are available: 3 Insufficient memory."
    pod, event = describe.parse(text)
    assert (event["reason"], event["source"]["component"], event["message"]) == (
        "FailedScheduling",
        "default-scheduler",
        text,
    )
    assert pod["status"]["conditions"][0]["type"] == "PodScheduled"
    assert _diagnose(text)[0] == "pending-unschedulable"


def test_a_conditions_block_alone() -> None:
    pod = describe.parse("Conditions:\n  Type    Status\n  Initialized  True\n  Ready   False\n")[0]
    assert pod["kind"] == "Pod"
    assert pod["status"]["conditions"] == [
        {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": "False"},
    ]
    row = "  MemoryPressure   True    Mon, 07 Dec 2026 07:00:00 +0000   Mon, 07 Dec 2026 06:00:00 +0000   KubeletHasInsufficientMemory   kubelet has insufficient memory available\n"  # noqa: E501
    node = describe.parse(row)[0]
    assert node["kind"] == "Node"
    assert node["status"]["conditions"][0]["reason"] == "KubeletHasInsufficientMemory"


def test_a_state_block_alone_is_a_pod_container() -> None:
    text = """    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
    Ready:          False
    Restart Count:  12
"""
    pod = describe.parse(text)[0]
    status = pod["status"]["containerStatuses"][0]
    assert status["lastState"] == {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    assert status["restartCount"] == 12
    assert _diagnose(text)[0] == "oom-killed"


def test_a_fenced_quoted_paste_with_smart_quotes_and_nbsp() -> None:
    body = (
        POD_HEAD + "  Warning  FailedScheduling  5m    default-scheduler  0/3 nodes are available: 3 Insufficient cpu."
    )
    pasted = "\n".join(["```", *body.splitlines(), "```"])
    quoted = "\n".join("> " + ln.replace("  ", "\u00a0 ") for ln in pasted.splitlines())
    for text in (pasted, quoted):
        pod, event = describe.parse(text)
        assert pod["metadata"] == {"name": "web-1", "namespace": "prod"}
        assert event["message"] == "0/3 nodes are available: 3 Insufficient cpu."
        assert _diagnose(text)[0] == "pending-unschedulable"
    smart = (
        "Events:\n  Type  Reason  Age  From  Message\n  Warning\tBackOff\t3m\tkubelet\tBack-off pulling \u201capp\u201d"
    )
    assert describe.parse(smart)[1]["message"] == 'Back-off pulling "app"'


def test_a_paste_cut_mid_line_keeps_what_it_has() -> None:
    text = POD_HEAD + "  Warning  FailedScheduling  5m    default-scheduler  0/3 nodes are available: 3 Insuffic"
    pod, event = describe.parse(text)
    assert event["message"].endswith("3 Insuffic")
    assert pod["status"]["phase"] == "Pending"
    assert _diagnose(text)[0] == "pending-unschedulable"
    cut_in_a_key = "Name:  web-1\nNamespace:  prod\nStatus:  Pending\nContainers:\n  web:\n    Ima"
    assert describe.parse(cut_in_a_key)[0]["kind"] == "Pod"


def test_several_describes_the_first_is_the_target() -> None:
    folder = SAMPLES / "kubectl" / "1.33"
    text = "\n".join((folder / f).read_text(encoding="utf-8") for f in ("svc-q4-web.txt", "deploy-q4-web.txt"))
    objects = describe.parse(text)
    assert [o["kind"] for o in objects if o["kind"] != "Event"] == ["Service", "Endpoints", "Deployment"]
    assert describe.target_of(objects) == "svc/q4/web"


def test_a_service_describe_keeps_each_port_and_its_endpoints() -> None:
    text = """Name:              api
Namespace:         shop
Selector:          app=api
Type:              NodePort
Port:              http  80/TCP
TargetPort:        http/TCP
NodePort:          http  30080/TCP
Endpoints:         10.0.0.5:8080,10.0.0.6:8080
Port:              <unset>  9090/TCP
TargetPort:        9090/TCP
Endpoints:         <none>
Session Affinity:  None
"""
    svc, endpoints = describe.parse(text)
    assert svc["spec"]["ports"] == [
        {"port": 80, "protocol": "TCP", "name": "http", "targetPort": "http", "nodePort": 30080},
        {"port": 9090, "protocol": "TCP", "targetPort": 9090},
    ]
    assert endpoints["subsets"] == [
        {
            "addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}],
            "ports": [{"port": 8080, "protocol": "TCP", "name": "http"}],
        }
    ]


def test_why_describe_takes_a_file_holding_only_a_message(tmp_path: Path) -> None:
    paste = tmp_path / "paste.txt"
    paste.write_text("> 0/3 nodes are available: 3 Insufficient memory.\n", encoding="utf-8")
    run = _why("--describe", str(paste), "-o", "json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["target"]["name"] == "pasted"
    assert report["findings"][0]["id"] == "pending-unschedulable"
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", encoding="utf-8")
    assert not describe.looks_like_describe(manifest.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("message", "target", "reason"),
    [
        ("PLEG is not healthy: pleg was last seen active 3m0s ago", "node/pasted", "NodeNotReady"),
        ("waiting for first consumer to be created before binding", "pvc/default/pasted", "ProvisioningFailed"),
        ("failed to get cpu utilization: unable to get metrics for resource cpu", "hpa/default/pasted", None),
    ],
)
def test_a_bare_message_is_about_the_kind_that_reports_it(message: str, target: str, reason: str | None) -> None:
    objects = describe.parse(message)
    assert describe.target_of(objects) == target
    assert objects[-1]["message"] == message
    assert objects[-1]["reason"] == (reason or "FailedGetResourceMetric")
