"""The demo's user path with every kubectl on this machine (1.27 … 1.33) against the simulated workshop cluster.

What a newcomer types after `kubewhy demo`: get, describe, logs, events, explain, apply and diff with
validation, auth can-i and whoami, a typed create with --dry-run=server, and every kubectl command the demo's
diagnoses suggest as a fix, run with --dry-run=server: each suggested fix is a command the API accepts.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubesim import load
from kubesim.runner import RunningSim
from kubewhy import compose
from kubewhy.models.target import parse_target
from kubewhy.service import diagnose
from kubewhy.settings import KubeSettings, Settings
from tests.conftest import kubectl_binaries, run_kubectl

KUBECTLS = kubectl_binaries()
IDS = [Path(b).name for b in KUBECTLS]
pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(not KUBECTLS, reason="kubectl is not installed")]
MUTATING = {"patch", "set", "label", "annotate", "delete", "drain", "scale", "apply", "create", "cordon", "rollout"}
HUMAN_INPUT = re.compile(r"\bedit\b|\s-it\b|https?://")  # an editor, a terminal, the internet

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: newcomer
  namespace: q10
spec:
  replicas: 1
  selector:
    matchLabels: {app: newcomer}
  template:
    metadata:
      labels: {app: newcomer}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          limits: {cpu: 200m, memory: 128Mi}
"""


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    from kubesim.runner import run_in_thread
    from kubesim.server import SimOptions

    sim = run_in_thread(
        load("workshop"),
        SimOptions(timeline_mode="manual"),
        kubeconfig_out=tmp_path_factory.mktemp("matrix") / "workshop.kubeconfig",
    )
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def fixes(workshop: RunningSim) -> list[str]:
    """Every kubectl command the demo's diagnoses suggest (each part of an ``a && b`` chain on its own)."""
    settings = Settings(kube=KubeSettings(kubeconfig=str(workshop.kubeconfig)))

    async def collect() -> list[str]:
        commands: dict[str, None] = {}
        async with compose.opened(settings, audit=False) as deps:
            for target in dict.fromkeys(e.target for e in load("workshop").expect):
                report = await diagnose(parse_target(target), deps)
                for finding in report.findings:
                    for fix in finding.fixes:
                        for part in re.split(r"\s*(?:&&|\|)\s*", fix.command):
                            if not part.startswith("kubectl "):
                                continue
                            commands[part] = None
                            if runnable(part) is None:
                                break  # what follows depends on it (`apply -f URL && kubectl top`)
        return list(commands)

    return asyncio.run(collect())


def runnable(command: str) -> list[str] | None:
    """The arguments after ``kubectl`` with --dry-run=server added to a write; None when the command needs a
    person (an editor, a terminal, a file they write, the internet)."""
    if HUMAN_INPUT.search(command):
        return None
    args = shlex.split(command)[1:]
    if any(a.startswith("<") for a in args):  # a placeholder outside quoted JSON: a file or a pod to pick
        return None
    if "rollout" in args and "restart" in args:
        return args  # no --dry-run: the restart is made for real (a patch of the pod template's annotation)
    if MUTATING & set(args[:4]) and "--dry-run=server" not in args:
        args.append("--dry-run=server")
    return args


def test_the_demo_suggests_fixes_that_kubectl_can_run(fixes: list[str]) -> None:
    runnable_fixes = [f for f in fixes if runnable(f) is not None]
    assert len(runnable_fixes) >= 10, fixes
    assert not [f for f in fixes if "<owner>" in f], "fixes name the workload, not a placeholder"
    left = sorted(f for f in fixes if runnable(f) is None)
    # What is left needs a person: an editor, a shell in a debug copy, a manifest they write, the internet.
    assert all(HUMAN_INPUT.search(f) or "<statefulset" in f for f in left), left


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_every_suggested_fix_is_accepted_by_the_api(workshop: RunningSim, fixes: list[str], binary: str) -> None:
    before = run_kubectl(workshop, "get", "deploy", "-A", "-o", "name", binary=binary).stdout
    for command in fixes:
        args = runnable(command)
        if args is None:
            continue
        proc = run_kubectl(workshop, *args, binary=binary, check=False)
        assert proc.returncode == 0, (command, args, proc.stderr)
    assert run_kubectl(workshop, "get", "deploy", "-A", "-o", "name", binary=binary).stdout == before


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_reads_the_newcomer_types(workshop: RunningSim, binary: str) -> None:
    k: Callable[..., str] = lambda *a: run_kubectl(workshop, *a, binary=binary).stdout  # noqa: E731
    assert "server-7b6f4c9d8c-jhk7g" in k("get", "pods", "-A")
    assert re.search(r"Limits:\s+cpu:\s+100m", k("describe", "pod", "-n", "q10", "server-7b6f4c9d8c-jhk7g"))
    assert "warming product cache" in k("logs", "-n", "q1", "app-7d4b9c6f5-x2x7k", "--timestamps")
    assert "FailedAttachVolume" in k("get", "events", "-n", "q8")
    assert re.search(r"v1\.28\.10", k("version", "-o", "yaml"))  # the control plane matches its kubelets


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_explain_reads_the_served_openapi(workshop: RunningSim, binary: str) -> None:
    out = run_kubectl(workshop, "explain", "deployment.spec.replicas", binary=binary).stdout
    assert re.search(r"FIELD:\s+replicas\s+<integer>", out), out
    assert "Number of desired pods" in out


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_apply_and_diff_with_validation(workshop: RunningSim, binary: str, tmp_path: Path) -> None:
    manifest = tmp_path / "newcomer.yaml"
    manifest.write_text(MANIFEST)
    out = run_kubectl(workshop, "apply", "-f", str(manifest), "--dry-run=server", binary=binary).stdout
    assert "deployment.apps/newcomer created (server dry run)" in out
    ssa = run_kubectl(workshop, "apply", "--server-side", "-f", str(manifest), "--dry-run=server", binary=binary)
    assert "deployment.apps/newcomer serverside-applied (server dry run)" in ssa.stdout
    diff = run_kubectl(workshop, "diff", "-f", str(manifest), binary=binary, check=False)
    assert diff.returncode == 1 and "+  name: newcomer" in diff.stdout, diff.stderr  # 1: differences found
    bad = tmp_path / "bad.yaml"
    bad.write_text(MANIFEST.replace("replicas: 1", "replicas: 1\n  replicaz: 2"))
    rejected = run_kubectl(workshop, "apply", "-f", str(bad), "--dry-run=server", binary=binary, check=False)
    assert rejected.returncode != 0 and "replicaz" in rejected.stderr, rejected.stderr
    assert "newcomer" not in run_kubectl(workshop, "get", "deploy", "-n", "q10", binary=binary).stdout


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_auth_can_i_and_whoami(workshop: RunningSim, binary: str) -> None:
    assert run_kubectl(workshop, "auth", "can-i", "patch", "deployments", "-n", "q1", binary=binary).stdout == "yes\n"
    assert "kubernetes-admin" in run_kubectl(workshop, "auth", "whoami", binary=binary).stdout


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_typed_create_with_server_dry_run(workshop: RunningSim, binary: str) -> None:
    out = run_kubectl(
        workshop,
        "create",
        "deployment",
        "tried",
        "--image=nginx",
        "-n",
        "q10",
        "--dry-run=server",
        "-o",
        "yaml",
        binary=binary,
    ).stdout
    assert "name: tried" in out and re.search(r"creationTimestamp: \"\d{4}-", out), out
    cm = run_kubectl(
        workshop, "create", "configmap", "tried", "--from-literal=a=b", "-n", "q10", "--dry-run=server", binary=binary
    ).stdout
    assert "configmap/tried created (server dry run)" in cm


TYPED_CREATES = [  # every `kubectl create` subcommand, and the other commands that send a typed object
    "create job j1 --image=busybox",
    "create cronjob cj1 --image=busybox --schedule=*/5_*_*_*_*",
    "create role r1 --verb=get --resource=pods",
    "create clusterrole cr1 --verb=get --resource=pods",
    "create rolebinding rb1 --role=r1 --user=bob",
    "create clusterrolebinding crb1 --clusterrole=cr1 --user=bob",
    "create quota q1 --hard=pods=3,requests.cpu=1",
    "create pdb p1 --selector=app=x --min-available=1",
    "create priorityclass pc1 --value=10",
    "create ingress i1 --rule=foo.com/=svc:80",
    "create namespace n1",
    "create serviceaccount sa1",
    "create deployment d1 --image=nginx --replicas=2",
    "create configmap c1 --from-literal=a=b",
    "create secret generic s1 --from-literal=a=b",
    "create secret docker-registry d1 --docker-server=x --docker-username=u --docker-password=p",
    "create service clusterip sv1 --tcp=80:8080",
    "create service nodeport sv2 --tcp=80:80",
    "create service loadbalancer sv3 --tcp=80:80",
    "create service externalname sv4 --external-name=x.com",
    "run p1 --image=nginx --env=A=1 --port=80",
    "expose deployment app --port=80 --name=exposed",
    "create job j2 --image=busybox -- sh -c true",
]


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_every_typed_create_is_decoded(workshop: RunningSim, binary: str) -> None:
    """kubectl 1.32+ sends these as protobuf and never falls back to JSON: the simulator decodes every kind."""
    for command in TYPED_CREATES:
        args = [a.replace("_", " ") for a in command.split()]
        if "--" in args:
            at = args.index("--")
            args[at:at] = ["-n", "q1", "--dry-run=server"]
        else:
            args += ["-n", "q1", "--dry-run=server"]
        proc = run_kubectl(workshop, *args, binary=binary, check=False)
        assert proc.returncode == 0 and "(server dry run)" in proc.stdout, (command, proc.stderr)


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_typed_creates_store_what_was_sent(workshop: RunningSim, binary: str) -> None:
    import json

    ns = "typed-" + Path(binary).name.replace(".", "-")
    k: Callable[..., str] = lambda *a: run_kubectl(workshop, *a, binary=binary).stdout  # noqa: E731
    get: Callable[..., dict[str, object]] = lambda *a: json.loads(k("get", *a, "-n", ns, "-o", "json"))  # noqa: E731
    k("create", "namespace", ns)
    k("create", "job", "j", "--image=busybox:1.36", "-n", ns, "--", "echo", "hi")
    job = get("job", "j")
    container = job["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert (container["image"], container["command"]) == ("busybox:1.36", ["echo", "hi"])
    k("create", "role", "r", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=a", "-n", ns)
    assert get("role", "r")["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["a"], "verbs": ["get", "list"]},
    ]
    k("create", "pdb", "pct", "--selector=app=x", "--min-available=50%", "-n", ns)
    k("create", "pdb", "num", "--selector=app=x", "--max-unavailable=2", "-n", ns)
    assert get("pdb", "pct")["spec"]["minAvailable"] == "50%"  # type: ignore[index]
    assert get("pdb", "num")["spec"]["maxUnavailable"] == 2  # type: ignore[index]
    k("create", "ingress", "i", "--rule=foo.com/x*=svc:http", "-n", ns)
    backend = get("ingress", "i")["spec"]["rules"][0]["http"]["paths"][0]["backend"]  # type: ignore[index]
    assert backend == {"service": {"name": "svc", "port": {"name": "http"}}}


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_autoscale_and_read_back_in_both_versions(workshop: RunningSim, binary: str) -> None:
    """kubectl 1.27-1.32 autoscale with autoscaling/v1, 1.33 with v2: one stored object, served as both."""
    import json

    k: Callable[..., str] = lambda *a: run_kubectl(workshop, *a, "-n", "q1", binary=binary).stdout  # noqa: E731
    name = "hpa-" + Path(binary).name.replace(".", "-")
    dry = k("autoscale", "deploy/app", "--max=3", "--cpu-percent=80", f"--name={name}", "--dry-run=server")
    assert f"horizontalpodautoscaler.autoscaling/{name} autoscaled (server dry run)" in dry
    assert k("autoscale", "deploy/app", "--max=3", "--cpu-percent=80", f"--name={name}")
    assert re.search(rf"{name}\s+Deployment/app\s+cpu: <unknown>/80%\s+1\s+3\b", k("get", "hpa")) or re.search(
        rf"{name}\s+Deployment/app\s+<unknown>/80%\s+1\s+3\b", k("get", "hpa")
    ), k("get", "hpa")
    v1 = json.loads(k("get", "horizontalpodautoscalers.v1.autoscaling", name, "-o", "json"))
    v2 = json.loads(k("get", "horizontalpodautoscalers.v2.autoscaling", name, "-o", "json"))
    assert (v1["apiVersion"], v1["spec"]["targetCPUUtilizationPercentage"], v1["spec"]["maxReplicas"]) == (
        "autoscaling/v1",
        80,
        3,
    )
    assert v2["apiVersion"] == "autoscaling/v2" and v2["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]
    assert "v1" in run_kubectl(workshop, "explain", "hpa", "--api-version=autoscaling/v1", binary=binary).stdout


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_create_token(workshop: RunningSim, binary: str) -> None:
    import base64
    import json
    from datetime import UTC, datetime

    k = lambda *a, **kw: run_kubectl(workshop, *a, "-n", "q1", binary=binary, **kw)  # noqa: E731
    token = k("create", "token", "default", "--duration=2h", "--audience=vault").stdout.strip()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "system:serviceaccount:q1:default" and claims["aud"] == ["vault"]
    assert claims["kubernetes.io"]["namespace"] == "q1"
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "default"
    assert claims["exp"] - claims["iat"] == 7200 and signature
    answer = json.loads(k("create", "token", "default", "-o", "json").stdout)
    assert answer["kind"] == "TokenRequest" and answer["spec"]["expirationSeconds"] == 3600
    expires = datetime.fromisoformat(answer["status"]["expirationTimestamp"].replace("Z", "+00:00"))
    assert 3500 < (expires - datetime.now(UTC)).total_seconds() <= 3600
    missing = k("create", "token", "nobody", check=False)
    assert missing.returncode != 0 and 'serviceaccounts "nobody" not found' in missing.stderr
    denied = k("create", "token", "default", "--as=newcomer", check=False)
    assert denied.returncode != 0 and 'cannot create resource "serviceaccounts/token"' in denied.stderr
    assert "serviceaccounts/token" in run_kubectl(workshop, "get", "--raw", "/api/v1", binary=binary).stdout


AGGREGATED = [b for b in KUBECTLS if not re.search(r"kubectl\.1\.2\d$", b)]  # 1.30+ ask for apidiscovery v2
DISCOVERY_PATH = re.compile(r"^/api/v1$|^/apis/[^/]+/[^/]+$")
URL = re.compile(r"https?://[^/\s\"]+(/[^?\s\"]*)")
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget, categories: [all]}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
---
apiVersion: {group}/v1
kind: Widget
metadata: {{name: gizmo, namespace: q1}}
"""


@pytest.mark.parametrize("binary", AGGREGATED, ids=[Path(b).name for b in AGGREGATED])
def test_aggregated_discovery_is_all_kubectl_asks(workshop: RunningSim, binary: str, tmp_path: Path) -> None:
    cache = f"--cache-dir={tmp_path / 'cache'}"
    proc = run_kubectl(workshop, "get", "deploy", "-n", "q1", "-v=6", cache, binary=binary)
    paths = [m.group(1) for m in URL.finditer(proc.stderr)]
    assert paths[:2] == ["/api", "/apis"], paths
    assert not [p for p in paths if DISCOVERY_PATH.match(p)], paths
    doc = run_kubectl(workshop, "get", "--raw", "/apis", binary=binary).stdout  # plain JSON asks get APIGroupList
    assert '"kind":"APIGroupList"' in doc


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_get_all_follows_the_categories(workshop: RunningSim, binary: str, tmp_path: Path) -> None:
    group = Path(binary).name.replace(".", "-") + ".kubesim.test"
    cache = f"--cache-dir={tmp_path / 'cache'}"
    for i, doc in enumerate(CRD.format(group=group).split("---\n")):  # the CRD first, as on a real cluster
        (tmp_path / f"{i}.yaml").write_text(doc)
        run_kubectl(workshop, "apply", "-f", str(tmp_path / f"{i}.yaml"), cache, binary=binary)
    proc = run_kubectl(workshop, "get", "all", "-n", "q1", "-v=6", cache, binary=binary)
    listed = set(re.findall(r"^(\S+)/", proc.stdout, re.M))
    # The Widget is "all" only through its CRD's categories: kubectl's built-in fallback list never has it.
    assert {"pod", "deployment.apps", "replicaset.apps", f"widget.{group}"} <= listed, proc.stdout
    assert "service" in set(
        re.findall(r"^(\S+)/", run_kubectl(workshop, "get", "all", "-n", "q10", cache, binary=binary).stdout, re.M)
    )
    assert not [p for p in (m.group(1) for m in URL.finditer(proc.stderr)) if DISCOVERY_PATH.match(p)]


@pytest.mark.parametrize("binary", KUBECTLS, ids=IDS)
def test_fixes_for_bare_static_daemonset_and_job_pods(binary: str, tmp_path: Path) -> None:
    """An OOM kill under each owner kind: every kubectl accepts the fix with --dry-run=server, and the fix names
    the owner that keeps the pod (a bare pod, a static pod and a lone Job get recreate advice)."""
    from kubesim.runner import run_in_thread
    from kubesim.server import SimOptions
    from tests.kubesim.test_fixes_dry_run import owner_kind_fixes

    sim = run_in_thread(load("healthy"), SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "kc")
    try:
        by_pod, refused = owner_kind_fixes(sim, binary)
    finally:
        sim.stop()
    assert not refused, refused
    assert {"agent-x7k2p", "nightly-28600000-abcde", "bare", "once-q2w3e"} <= set(by_pod)  # static: a file edit
