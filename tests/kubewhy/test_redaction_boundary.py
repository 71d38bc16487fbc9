"""Secret values are redacted once, where objects and logs leave the adapters, so no path above can show them:
not a pod's env, not the pods behind a Service or a PVC, not a Secret read by a check, live or offline.
The write path (a fix's patch) is left alone."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kubewhy.adapters.cache import CachedKube
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.ports import KubeReader
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.redact import REDACTED
from kubewhy.render.text import to_json, to_text
from kubewhy.service import Deps, diagnose
from tests.conftest import run_kubectl

SECRET_DATA = "hunter2-in-secret-data"
SECRET_STRING = "in-string-data-xyz"
ENV_VALUE = "s3cr3t-env-value"
LAST_APPLIED = "in-last-applied-annotation"
LOG_SECRET = "log-password-9876"
SECRETS = (
    SECRET_DATA,
    base64.b64encode(SECRET_DATA.encode()).decode(),
    SECRET_STRING,
    ENV_VALUE,
    LAST_APPLIED,
    LOG_SECRET,
)

SCENARIO = f"""apiVersion: kubesim.kubewhy.io/v1
kind: Scenario
metadata: {{name: leaky}}
capturedAt: "2024-06-14T10:00:00Z"
logs:
  red/api-0/app:
    current: "connecting with password={LOG_SECRET}\\nready\\n"
    previous: "connecting with password={LOG_SECRET}\\nfatal: boom\\n"
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: red
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"stringData":{{"password":"{LAST_APPLIED}"}}}}'
type: Opaque
data: {{password: {base64.b64encode(SECRET_DATA.encode()).decode()}}}
stringData: {{token: {SECRET_STRING}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: red}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}, volumeName: pv-1}}
status: {{phase: Bound}}
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: red}}
spec:
  selector: {{app: api}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: red}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: app
        image: "api:1"
        env: [{{name: DB_PASSWORD, value: {ENV_VALUE}}}, {{name: MODE, value: plain-visible}}]
status: {{replicas: 1, readyReplicas: 0, updatedReplicas: 1, unavailableReplicas: 1}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-0
  namespace: red
  labels: {{app: api}}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"env":"{LAST_APPLIED}"}}'
spec:
  nodeName: node-1
  containers:
  - name: app
    image: "api:1"
    env:
    - {{name: DB_PASSWORD, value: {ENV_VALUE}}}
    - {{name: API_TOKEN, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}
    - {{name: MODE, value: plain-visible}}
  volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]
status:
  phase: Running
  containerStatuses:
  - name: app
    image: "api:1"
    imageID: ""
    ready: false
    restartCount: 4
    state: {{waiting: {{reason: CrashLoopBackOff}}}}
    lastState: {{terminated: {{exitCode: 1, reason: Error, startedAt: "2024-06-14T09:58:00Z",
                              finishedAt: "2024-06-14T09:59:00Z"}}}}
"""

# A user playbook that prints everything it can reach: the target, the pods behind it, a Secret, its logs.
PROBE = """apiVersion: kubewhy.io/v1
id: leak-probe
title: Shows everything it reaches
applies_to: [Pod, Service, PersistentVolumeClaim, Deployment]
stage: pod
severity: info
symptom: "true"
checks:
  - id: pods
    use: pods_for
    with: {of: "{{ target }}"}
  - id: secret
    use: object
    with: {kind: Secret, name: db, namespace: "{{ target.metadata.namespace }}"}
  - id: secrets
    use: list
    with: {kind: Secret, namespace: "{{ target.metadata.namespace }}"}
summary: "probe of {{ target.metadata.name }}"
evidence:
  - "target: {{ target }}"
  - "pods: {{ pods }}"
  - "secret: {{ secret }}"
  - "secrets: {{ secrets }}"
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "leaky.yaml").write_text(SCENARIO)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "probe.yaml").write_text(PROBE)
    return tmp_path / "leaky.yaml", tmp_path / "playbooks"


def _outputs(kube: KubeReader, playbooks: Path, **deps: Any) -> dict[str, str]:
    catalog = load_dirs([playbooks])
    assert not catalog.errors, catalog.errors
    out = {}
    for target in ("pod/red/api-0", "svc/red/api", "pvc/red/data", "deploy/red/api"):
        report = asyncio.run(diagnose(parse_target(target), Deps(kube=kube, catalog=catalog, **deps)))
        assert "leak-probe" in [f.id for f in report.findings], (target, [f.id for f in report.findings])
        out[target] = to_text(report, verbose=True) + "\n" + to_json(report)
    return out


def _assert_clean(outputs: dict[str, str]) -> None:
    for target, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, (target, secret)
        assert "plain-visible" in text and REDACTED in text, target  # the probe did print env and Secret data
    assert "api-0" in outputs["svc/red/api"] and "api-0" in outputs["pvc/red/data"]  # their pods were shown


def test_no_secret_in_any_output_offline(files: tuple[Path, Path]) -> None:
    scenario, playbooks = files
    kube = SnapshotKube([scenario])
    _assert_clean(_outputs(kube, playbooks, clock=kube.clock))


def test_no_secret_in_any_output_live_and_the_patch_path_is_unaffected(
    files: tuple[Path, Path], start_sim: Any
) -> None:
    scenario, playbooks = files
    sim = start_sim(scenario, timeline_mode="manual")
    kube = LiveKube(build_api_client(str(sim.kubeconfig)))
    _assert_clean(_outputs(kube, playbooks))

    patched = asyncio.run(kube.patch("Deployment", "red", "api", {"spec": {"replicas": 2}}))
    assert patched["spec"]["replicas"] == 2
    raw = json.loads(run_kubectl(sim, "get", "deployment", "api", "-n", "red", "-o", "json").stdout)
    assert raw["spec"]["replicas"] == 2
    assert raw["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == ENV_VALUE  # not written back
    secret = json.loads(run_kubectl(sim, "get", "secret", "db", "-n", "red", "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["password"]).decode() == SECRET_DATA


def test_readers_return_redacted_objects_and_logs(files: tuple[Path, Path]) -> None:
    scenario, _ = files
    kube = SnapshotKube([scenario])

    async def everything() -> str:
        objs = [
            await kube.get("Secret", "red", "db"),
            await kube.get("Pod", "red", "api-0"),
            *await kube.list("Secret"),
            *await kube.list("Pod"),
            *await kube.list("Deployment"),
        ]
        logs = [await kube.logs("red", "api-0", "app"), await kube.logs("red", "api-0", "app", previous=True)]
        return json.dumps(objs) + "\n".join(text or "" for text in logs)

    text = asyncio.run(everything())
    assert "fatal: boom" in text and "plain-visible" in text
    for secret in SECRETS:
        assert secret not in text, secret


def test_an_object_seeded_by_the_caller_is_redacted_too(files: tuple[Path, Path]) -> None:
    scenario, playbooks = files
    kube = SnapshotKube([scenario])
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api-0", "namespace": "red"},
        "spec": {
            "containers": [{"name": "app", "image": "api:1", "env": [{"name": "DB_PASSWORD", "value": ENV_VALUE}]}]
        },
        "status": {"phase": "Running"},
    }
    catalog = load_dirs([playbooks])
    report = asyncio.run(
        diagnose(parse_target("pod/red/api-0"), Deps(kube=kube, catalog=catalog, clock=kube.clock), obj=raw)
    )
    assert "leak-probe" in [f.id for f in report.findings]
    assert ENV_VALUE not in to_json(report) + to_text(report, verbose=True)

    async def seeded() -> Any:
        cache = CachedKube(kube)
        cache.seed("Pod", "red", "api-0", {"kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "djE="}})
        return await cache.get("Pod", "red", "api-0")

    assert asyncio.run(seeded())["data"] == {"k": REDACTED}
