"""An Events table pasted alone names no kind; what its events say does (kubewhy/reasons/infer.py): a node's
pressure events make it a node, a load balancer's a Service, a controller's FailedCreate a workload. The CLI's
``why --describe`` of one paste reads it as the bot does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.models.findings import Report
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose_described

HEADER = "Events:\n  Type     Reason   Age   From   Message\n  ----     ------   ----  ----   -------\n"
NODE = HEADER + (
    "  Normal   NodeHasDiskPressure   12m   kubelet   Node worker-7 status is now: NodeHasDiskPressure\n"
    "  Warning  EvictionThresholdMet  9m (x15 over 12m)  kubelet  Attempting to reclaim ephemeral-storage\n"
)
SERVICE = HEADER + (
    "  Warning  SyncLoadBalancerFailed  7m  service-controller  Error syncing load balancer: failed to ensure "
    "load balancer: quota exceeded for resource 'loadbalancers'\n"
)


def _why(text: str) -> Report:
    kube = SnapshotKube([], objects=[], endpoint="none")
    deps = Deps(kube=kube, catalog=load_dirs([]), clock=lambda: datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    return asyncio.run(diagnose_described(text, deps))


@pytest.mark.parametrize(
    ("text", "kind", "finding"),
    [(NODE, "Node", "node-disk-pressure"), (SERVICE, "Service", "lb-pending")],
    ids=["node", "service"],
)
def test_an_events_table_alone_is_about_the_kind_its_words_are_written_on(text: str, kind: str, finding: str) -> None:
    report = _why(text)
    assert report.target.kind == kind
    assert report.findings and report.findings[0].id == finding, report.findings


def test_a_pod_events_table_stays_a_pod() -> None:
    text = HEADER + '  Warning  Failed  1m  kubelet  Error: secret "db-credentials" not found\n'
    report = _why(text)
    assert report.target.kind == "Pod" and report.findings[0].id == "config-missing"


def test_the_cli_reads_one_paste_as_the_bot_does(tmp_path: Path) -> None:
    paste = tmp_path / "events.txt"
    paste.write_text(NODE, encoding="utf-8")
    env = {"KUBEWHY_NO_AUDIT": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", "--describe", str(paste)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "node/pasted" in run.stdout and "node-disk-pressure" in run.stdout


def test_a_redacted_name_and_a_prompt_line_do_not_stop_a_paste() -> None:
    text = (
        "$ kubectl describe node (node-2-ip)\n"
        "Name:               (node-2-ip)\n"
        "Roles:              worker\n"
        "Taints:             node.kubernetes.io/unreachable:NoExecute\n"
        "Unschedulable:      false\n"
    )
    report = _why(text)
    assert str(report.target) == "node/node-2-ip"
    assert report.findings and report.findings[0].id == "node-not-ready", report.findings
