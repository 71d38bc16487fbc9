"""What pastes do to ``kubectl describe`` output, case by case (the fuzz test runs the same over every fixture):
terminal wraps, Slack's escapes, prompts and separators, describes cut after their first lines, and fragments."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubewhy.adapters import describe
from kubewhy.adapters.describe_paste import normalise, unwrap
from kubewhy.errors import UsageError

SOURCE = Path(__file__).resolve().parents[1] / "realworld" / "describe" / "source"

POD = """Name:         api-0
Namespace:    shop
Priority:     0
Node:         worker-2/10.0.1.12
Labels:       app=api
Status:       Running
Containers:
  api:
    Image:          registry.example.com/shop/api:2.3.1
    State:          Waiting
      Reason:       CrashLoopBackOff
    Ready:          False
    Restart Count:  7
Events:
  Type     Reason     Age                 From     Message
  ----     ------     ----                ----     -------
  Warning  Unhealthy  2m (x9 over 10m)    kubelet  Liveness probe failed: Get "http://10.244.2.17:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)
  Warning  BackOff    1m (x31 over 10m)   kubelet  Back-off restarting failed container api in pod api-0_shop(4c1f0e8f-5b2a-4d7c-8e6b-1a0f9e8d7c6b)
"""  # noqa: E501


def _events(objects: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(o["reason"], o["message"]) for o in objects if o["kind"] == "Event"]


def _wrap(text: str, width: int) -> str:
    return "\n".join(ln[i : i + width] for ln in text.splitlines() for i in range(0, max(len(ln), 1), width))


def test_one_event_message_wrapped_by_an_80_column_terminal() -> None:
    """One row longer than the terminal: no two lines end at the width, so it is not seen, but the rest of the
    row sits at the left margin, where kubectl starts nothing but a ``Key:``, and is joined back."""
    one = "\n".join(ln for ln in POD.splitlines() if "Unhealthy" not in ln)
    wrapped = _wrap(one, 80)
    assert sum(len(ln) == 80 for ln in wrapped.splitlines()) == 1
    assert _events(describe.parse(wrapped)) == _events(describe.parse(one))
    both = _wrap(POD, 80)
    assert _events(describe.parse(both)) == _events(describe.parse(POD))
    assert [e[0] for e in _events(describe.parse(_wrap(POD, 60)))] == ["Unhealthy", "BackOff"]


def test_a_wrapped_label_list_and_node_conditions_of_equal_length() -> None:
    """A node's condition rows end at the same column without being wrapped: they are not joined with what
    follows; a label line wrapped at that width is."""
    text = (SOURCE / "1.19" / "node-_-worker-3.txt").read_text(encoding="utf-8")
    node = describe.parse(text)[0]
    assert [c["message"] for c in node["status"]["conditions"]] == ["Kubelet stopped posting node status."] * 4
    width = max(len(ln) for ln in text.splitlines())
    lines = unwrap(["Labels:  " + "x" * (width - 9), "yz", "Annotations:  <none>"])
    assert lines == ["Labels:  " + "x" * (width - 9) + "yz", "Annotations:  <none>"]


def test_slack_escapes_and_links_are_undone() -> None:
    slack = (
        POD.replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"http://10.244.2.17:8080/healthz"', '"<http://10.244.2.17:8080/healthz>"')
    )
    assert "&lt;" not in normalise(slack + "Selector: &lt;none&gt;") and "<none>" in normalise("Selector: &lt;none&gt;")
    assert _events(describe.parse(slack)) == _events(describe.parse(POD))
    labelled = normalise("Message: see <https://kubernetes.io/docs|the docs> for &lt;none&gt; &amp; retry")
    assert labelled == "Message: see the docs for <none> & retry"
    assert normalise("Endpoints:  <none>") == "Endpoints:  <none>"  # plain kubectl text keeps its brackets


def test_a_prompt_and_separators_around_several_kinds() -> None:
    svc = (SOURCE / "1.19" / "svc-shop-api.txt").read_text(encoding="utf-8")
    text = f"Here is what I get:\n$ kubectl describe pod,svc\n```\n{POD}\n---\n{svc}```"
    objects = describe.parse(text)
    assert [o["kind"] for o in objects if o["kind"] != "Event"] == ["Pod", "Service", "Endpoints"]
    assert describe.target_of(objects) == "pod/shop/api-0"
    assert _events(objects) == _events(describe.parse(POD))


@pytest.mark.parametrize(
    ("file", "lines", "kind"),
    [
        ("1.19/rs-shop-worker-6d8f7c9b5.txt", 9, "ReplicaSet"),  # through "Controlled By: Deployment/worker"
        ("1.19/job-batch-report-1604995200.txt", 7, "Job"),  # through "Controlled By: CronJob/report"
        ("1.19/pv-_-pv-nfs-logs.txt", 6, "PersistentVolume"),  # through "StorageClass", no Namespace
        ("1.19/ds-kube-system-fluentd.txt", 2, "DaemonSet"),  # "Name", "Selector" and no Namespace
        ("1.19/sts-shop-postgres.txt", 5, "StatefulSet"),  # CreationTimestamp, then Selector before Labels
        ("1.19/deploy-shop-checkout.txt", 4, "Deployment"),  # CreationTimestamp before Labels
        ("1.19/hpa-shop-web.txt", 5, "HorizontalPodAutoscaler"),  # Labels before CreationTimestamp
        ("1.19/svc-shop-api.txt", 5, "Service"),  # Labels, then Selector
        ("1.25/pod-pay-ledger-config.txt", 4, "Pod"),  # Priority, Service Account
    ],
)
def test_a_describe_cut_after_its_first_lines_is_told_by_its_keys(file: str, lines: int, kind: str) -> None:
    head = "\n".join((SOURCE / file).read_text(encoding="utf-8").splitlines()[:lines])
    assert describe.parse(head)[0]["kind"] == kind


def test_a_head_that_says_too_little_is_a_clear_error() -> None:
    with pytest.raises(describe.DescribeError, match=r"^1: cannot tell which kind"):
        describe.parse("Name:         api\nNamespace:    shop\nLabels:       app=api\n")


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        (
            'Liveness probe failed: Get "http://10.0.0.5:8080/healthz": dial tcp 10.0.0.5:8080: connect: refused',
            "Pod",
            "Unhealthy",
        ),
        ("Back-off restarting failed container api in pod api-0_shop(4c1f0e8f)", "Pod", "BackOff"),
        ('MountVolume.SetUp failed for volume "config" : configmap "app-config" not found', "Pod", "FailedMount"),
        ('Multi-Attach error for volume "pvc-1" Volume is already used by pod(s) web-0', "Pod", "FailedAttachVolume"),
    ],
)
def test_one_kubelet_message_alone(text: str, kind: str, reason: str) -> None:
    first, event = describe.parse(text)
    assert (first["kind"], first["metadata"]["name"]) == (kind, describe.PLACEHOLDER)
    assert (event["type"], event["reason"], event["message"]) == ("Warning", reason, text)


def test_a_last_state_block_cut_mid_line() -> None:
    text = "    Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    13"
    status = describe.parse(text)[0]["status"]["containerStatuses"][0]
    assert status["lastState"] == {"terminated": {"reason": "OOMKilled", "exitCode": 13}}


def test_endpoints_pasted_before_their_service_target_the_service() -> None:
    ep = (SOURCE / "1.19" / "ep-shop-api.txt").read_text(encoding="utf-8")
    svc = (SOURCE / "1.19" / "svc-shop-api.txt").read_text(encoding="utf-8")
    assert describe.target_of(describe.parse(ep + "\n" + svc)) == "svc/shop/api"
    assert describe.target_of(describe.parse(ep)) == "endpoints/shop/api"  # kubewhy why names the kinds it takes
    assert issubclass(describe.DescribeError, UsageError)  # one line on every front-end, never a traceback


def test_a_bot_paste_of_what_is_not_a_describe_is_one_usage_error() -> None:
    import asyncio

    from kubewhy.adapters.kube_snapshot import SnapshotKube
    from kubewhy.playbooks.loader import load_dirs
    from kubewhy.service import Deps, diagnose_described

    deps = Deps(kube=SnapshotKube([], objects=[]), catalog=load_dirs([]))
    with pytest.raises(UsageError, match="cannot tell which kind"):
        asyncio.run(diagnose_described("Name:   something\nColour:  blue\n", deps))


def test_a_describe_that_lost_its_indentation() -> None:
    """Copied from a rendered issue page: every line at the left margin. The container's ``Reason`` stays the
    container's (not the pod's), the events stay events, and a ConfigMap volume's ``Name:`` starts no describe."""
    text = POD.replace("Events:", "Volumes:\n  config:\n    Type:  ConfigMap\n    Name:  api-config\nEvents:")
    flat = "\n".join(ln.lstrip() for ln in text.splitlines())
    pod, *events = describe.parse(flat)
    assert "reason" not in pod["status"]
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "CrashLoopBackOff"}}
    assert pod["spec"]["volumes"] == [{"name": "config", "configMap": {"name": "api-config"}}]
    assert _events(events) == _events(describe.parse(POD))


def test_bare_rows_of_kubectl_1_19_and_markdown_emphasis() -> None:
    """Event rows pasted without their table: before kubectl 1.20 the From column reads ``kubelet, node``. A row
    quoted as inline code, or a message in Markdown bold, is read without the marks."""
    row = "Warning  BackOff  1m (x131 over 31m)  kubelet, worker-2  Back-off restarting failed container"
    for text in (
        row,
        f"`{row}`",
        row.replace("Back-off restarting failed container", "**Back-off restarting failed container**"),
    ):
        event = describe.parse(text)[1]
        assert (event["source"], event["count"], event["message"]) == (
            {"component": "kubelet"},
            131,
            "Back-off restarting failed container",
        ), text


@pytest.mark.parametrize(
    ("text", "kind", "field", "value"),
    [
        (
            "Taints:             node.kubernetes.io/not-ready:NoExecute\n"
            "                    node.kubernetes.io/not-ready:NoSchedule\nUnschedulable:      false\n",
            "Node",
            "taints",
            [
                {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            ],
        ),
        (
            "StorageClass:  fast\nStatus:        Pending\nAccess Modes:  RWO\n",
            "PersistentVolumeClaim",
            "storageClassName",
            "fast",
        ),
    ],
)
def test_a_headless_block_keeps_its_own_keys(text: str, kind: str, field: str, value: object) -> None:
    """A describe whose head was cut off is read under a placeholder; the key that tells its kind is the
    fragment's own, not a default put before it."""
    obj = describe.parse(text)[0]
    assert (obj["kind"], obj["metadata"]["name"], obj["spec"][field]) == (kind, describe.PLACEHOLDER, value)


def test_line_ends_of_every_system() -> None:
    for end in ("\r\n", "\r"):
        assert _events(describe.parse(POD.replace("\n", end))) == _events(describe.parse(POD)), repr(end)
