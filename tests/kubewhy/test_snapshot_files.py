"""Snapshots are the core's own: files are read by the core's reader, served as written (nothing a server would
add is invented), in every format a post-mortem comes in, and a broken file is one line naming file and line."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubesim import load_paths
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.errors import UsageError
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.render.text import to_json
from kubewhy.service import Deps, diagnose
from tests.conftest import run_kubectl

BARE = """apiVersion: v1
kind: Pod
metadata:
  name: bare
  namespace: pm
  labels: {app: bare}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: bare-rs, controller: true}]
spec:
  containers: [{name: app, image: "app:1"}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: bare-rs, namespace: pm}
spec: {replicas: 1, selector: {matchLabels: {app: bare}}, template: {spec: {containers: [{name: app}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: half, namespace: pm, creationTimestamp: 2024-06-14T09:00:00Z}
spec:
  containers: [{name: app, image: "app:1"}]
status:
  phase: Running
  containerStatuses: [{name: app, state: {running: {}}}]
"""

PROBE = """apiVersion: kubewhy.io/v1
id: as-written
title: Prints the target's metadata and status
applies_to: [Pod]
stage: pod
severity: info
symptom: "true"
summary: "probe {{ target.metadata.name }}"
evidence:
  - "metadata: {{ target.metadata }}"
  - "status: {{ target.status }}"
"""


def test_a_post_mortem_object_is_served_and_diagnosed_as_written(tmp_path: Path) -> None:
    path = tmp_path / "pm.yaml"
    path.write_text(BARE)
    kube = SnapshotKube([path])
    bare = asyncio.run(kube.get("Pod", "pm", "bare"))
    assert bare is not None
    assert set(bare) == {"apiVersion", "kind", "metadata", "spec"}  # no status invented
    assert set(bare["metadata"]) == {"name", "namespace", "labels", "ownerReferences"}
    assert "uid" not in bare["metadata"]["ownerReferences"][0]
    half = asyncio.run(kube.get("Pod", "pm", "half"))
    assert half is not None
    assert half["metadata"]["creationTimestamp"] == "2024-06-14T09:00:00Z"  # unquoted, still the text written
    assert half["status"]["containerStatuses"] == [{"name": "app", "state": {"running": {}}}]
    assert asyncio.run(kube.list("Namespace")) == []

    # what the simulator's loader would have filled in, and so what must not be there
    filled = {(o["kind"], o["metadata"]["name"]): o for o in load_paths([path]).objects}
    assert {"uid", "creationTimestamp"} <= set(filled[("Pod", "bare")]["metadata"])
    assert "uid" in filled[("Pod", "bare")]["metadata"]["ownerReferences"][0]
    assert {"restartCount", "ready", "image"} <= set(filled[("Pod", "half")]["status"]["containerStatuses"][0])
    assert ("Namespace", "pm") in filled

    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "probe.yaml").write_text(PROBE)
    deps = Deps(kube=kube, catalog=load_dirs([tmp_path / "playbooks"]), clock=kube.clock)
    report = asyncio.run(diagnose(parse_target("pod/pm/bare"), deps))
    probe = next(f for f in report.findings if f.id == "as-written")
    # Expressions see the format's empty defaults (docs/playbooks.md), never a value the file did not hold.
    status = next(e for e in probe.evidence if e.startswith("status: "))
    assert json.loads(status.removeprefix("status: ")) == {"containerStatuses": [], "conditions": []}  # any order
    assert "uid" not in probe.evidence[0] and "creationTimestamp" not in probe.evidence[0], probe.evidence


def test_the_snapshot_reader_does_not_import_the_simulator(tmp_path: Path) -> None:
    path = tmp_path / "pm.yaml"
    path.write_text(BARE)
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from kubewhy.adapters.kube_snapshot import SnapshotKube\n"
        "from kubewhy.models.target import parse_target\n"
        "from kubewhy.playbooks.loader import load_dirs\n"
        "from kubewhy.service import Deps, diagnose\n"
        f"kube = SnapshotKube([Path({str(path)!r})])\n"
        "asyncio.run(diagnose(parse_target('pod/pm/bare'), Deps(kube=kube, catalog=load_dirs([]), clock=kube.clock)))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubesim'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


SCENARIO = """apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {name: formats}
description: simulator-only fields are read past
capturedAt: "2024-06-14T12:00:00Z"
logs:
  a/p1/app: {current: "line 1\\nline 2\\nline 3\\n", previous: "crashed\\n"}
  a/p2/app: "just current\\n"
usage: {pods: {a/p1: {app: {cpu: 10m, memory: 10Mi}}}}
timeline: [{after: 5s, log: {target: a/p1/app, text: "later"}}]
expect: [{target: pod/a/p1, findings: []}]
"""


def _pod(name: str, ns: str = "a", node: str = "n1", phase: str = "Running") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "x:1"}]},
        "status": {"phase": phase},
    }


def test_every_snapshot_format_is_read(tmp_path: Path) -> None:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "00-scenario.yaml").write_text(SCENARIO)
    # kubectl get pods -o yaml: a List
    (d / "10-pods.yml").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "metadata": {"resourceVersion": ""},
                "items": [_pod("p1"), _pod("p2", node="n2", phase="Pending")],
            }
        )
    )
    # kubectl get -o json of one object, and a PodList
    (d / "20-node.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
    (d / "30-more.json").write_text(json.dumps({"apiVersion": "v1", "kind": "PodList", "items": [_pod("p3", "b")]}))
    # multi-document YAML, with an event
    (d / "40-events.yaml").write_text("""---
apiVersion: v1
kind: Event
metadata: {name: p1.1, namespace: a}
involvedObject: {kind: Pod, name: p1, namespace: a}
reason: BackOff
type: Warning
lastTimestamp: "2024-06-14T11:59:00Z"
---
apiVersion: v1
kind: Event
metadata: {name: p2.1, namespace: a}
involvedObject: {kind: Pod, name: p2, namespace: a}
reason: FailedScheduling
type: Warning
lastTimestamp: "2024-06-14T11:58:00Z"
""")
    (d / "notes.txt").write_text("not read")
    kube = SnapshotKube([d])
    assert [p.name for p in kube.sources] == [
        "00-scenario.yaml",
        "10-pods.yml",
        "20-node.json",
        "30-more.json",
        "40-events.yaml",
    ]
    assert kube.clock().isoformat() == "2024-06-14T12:00:00+00:00"

    async def reads() -> dict[str, Any]:
        return {
            "pods": [p["metadata"]["name"] for p in await kube.list("Pod")],
            "in_a": [p["metadata"]["name"] for p in await kube.list("Pod", "a")],
            "on_n1": [p["metadata"]["name"] for p in await kube.list("Pod", field_selector="spec.nodeName=n1")],
            "pending": [
                p["metadata"]["name"] for p in await kube.list("Pod", "a", field_selector="status.phase=Pending")
            ],
            "labelled": [p["metadata"]["name"] for p in await kube.list("Pod", label_selector="app in (p1,p3)")],
            "events": [
                e["reason"]
                for e in await kube.list("Event", "a", field_selector="involvedObject.kind=Pod,involvedObject.name=p1")
            ],
            "node": (await kube.get("Node", None, "n1") or {}).get("kind"),
            "tail": await kube.logs("a", "p1", "app", tail=2),
            "previous": await kube.logs("a", "p1", "app", previous=True),
            "p2": await kube.logs("a", "p2", "app"),
            "none": await kube.logs("a", "p2", "app", previous=True),
        }

    assert asyncio.run(reads()) == {
        "pods": ["p1", "p2", "p3"],
        "in_a": ["p1", "p2"],
        "on_n1": ["p1", "p3"],
        "pending": ["p2"],
        "labelled": ["p1", "p3"],
        "events": ["BackOff"],
        "node": "Node",
        "tail": "line 2\nline 3\n",
        "previous": "crashed\n",
        "p2": "just current\n",
        "none": None,
    }
    # without a capture time, the newest event says when the snapshot was taken
    assert SnapshotKube([d / "40-events.yaml"]).clock().isoformat() == "2024-06-14T11:59:00+00:00"


POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n"


@pytest.mark.parametrize(
    "text,line,words",
    [
        (POD + "  name: q\n", 6, "duplicate key 'name' in metadata (first at line 4)"),
        (POD + "spec:\n  containers: [{name: a\n", 7, "YAML error"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: a\n", 4, "Pod has no metadata.name"),
        ("apiVersion: v1\nmetadata: {name: x}\n", 1, "object has no kind"),
        (POD + "---\n- just\n- a list\n", 7, "a Kubernetes object must be a mapping, got a list"),
        (
            POD.replace("namespace: a\n", "namespace: a\n  labels: {replicas: 3}\n"),
            6,
            "metadata.labels.replicas must be a string, got a number (quote it)",
        ),
        (POD + "spec: [1]\n", 6, "spec must be a mapping, got a list"),
        ("apiVersion: v1\nkind: List\nitems: {a: 1}\n", 3, "items of a List must be a list"),
        (
            "apiVersion: v1\nkind: List\nitems:\n- " + POD.replace("\n", "\n  ").rstrip() + "\n- {kind: Pod}\n",
            9,
            "object has no apiVersion",
        ),
        ("apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\ncolour: red\n", 3, "unknown Scenario field 'colour'"),
        (
            "apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\ncapturedAt: yesterday\n",
            3,
            "capturedAt is not an RFC 3339 time: 'yesterday'",
        ),
        (
            "apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\nlogs:\n  a/p: hello\n",
            4,
            "log key 'a/p' must be NAMESPACE/POD/CONTAINER",
        ),
        (
            "apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\nlogs:\n  a/p/c: {now: x}\n",
            4,
            "logs.a/p/c must have only 'current' and 'previous' texts",
        ),
    ],
)
def test_a_broken_snapshot_names_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        SnapshotKube([path])
    message = str(info.value)
    assert message.startswith(f"cannot read snapshot: {path}:{line}: "), message
    assert words in message and "\n" not in message


def test_missing_and_empty_snapshot_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"{tmp_path / 'nope.yaml'}: no such file or directory"):
        SnapshotKube([tmp_path / "nope.yaml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no .yaml, .yml or .json files in this directory"):
        SnapshotKube([tmp_path / "empty"])


def test_the_cli_reports_a_broken_snapshot_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(POD + "  name: q\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", "pod/a/p", "--snapshot", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert f"{path}:6: duplicate key 'name' in metadata" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_kubectl_get_output_is_a_snapshot(tmp_path: Path, start_sim: Any) -> None:
    """What a user saves during an incident (``kubectl get ... -o yaml``) diagnoses like the cluster did."""
    sim = start_sim("workshop/q01-app-crash", timeline_mode="manual")
    dump = tmp_path / "dump"
    dump.mkdir()
    for kinds in ("pods,replicasets,deployments,events", "nodes"):
        out = run_kubectl(sim, "get", kinds, "-A", "-o", "yaml").stdout
        (dump / f"{kinds.split(',')[0]}.yaml").write_text(out)
    catalog = load_dirs([])
    target = parse_target("pod/q1/app-7d4b9c6f5-x2x7k")
    kube = SnapshotKube([dump])
    offline = asyncio.run(diagnose(target, Deps(kube=kube, catalog=catalog, clock=kube.clock)))
    live = asyncio.run(diagnose(target, Deps(kube=LiveKube(build_api_client(str(sim.kubeconfig))), catalog=catalog)))
    assert "oom-killed" in [f.id for f in offline.findings], to_json(offline)
    # kubectl's dump has no container logs, so findings that need them may be missing offline; nothing else
    assert {f.id for f in offline.findings} <= {f.id for f in live.findings}


NO_NAMESPACE = """apiVersion: v1
kind: Pod
metadata: {name: loose}
spec:
  containers: [{name: app, image: "app:1"}]
status:
  phase: Running
  containerStatuses:
  - name: app
    image: "app:1"
    imageID: ""
    ready: false
    restartCount: 5
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState: {terminated: {exitCode: 1, reason: Error, startedAt: "2024-06-14T09:58:00Z",
                             finishedAt: "2024-06-14T09:59:00Z"}}
"""


def test_an_object_without_namespace_is_named_as_the_simulator_names_it(tmp_path: Path, start_sim: Any) -> None:
    path = tmp_path / "loose.yaml"
    path.write_text(NO_NAMESPACE)
    kube = SnapshotKube([path])
    pod = asyncio.run(kube.get("Pod", "default", "loose"))
    assert pod is not None and "namespace" not in pod["metadata"]  # served as written
    catalog = load_dirs([])
    target = parse_target("pod/loose")
    offline = asyncio.run(diagnose(target, Deps(kube=kube, catalog=catalog, clock=kube.clock)))
    sim = start_sim(path, timeline_mode="manual")
    live = asyncio.run(diagnose(target, Deps(kube=LiveKube(build_api_client(str(sim.kubeconfig))), catalog=catalog)))
    assert [(f.id, f.subject) for f in offline.findings] == [(f.id, f.subject) for f in live.findings]
    assert offline.findings and offline.findings[0].subject == "pod/default/loose"
