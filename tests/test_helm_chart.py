"""The Helm chart, rendered by Helm's own engine (helm-python-sdk embeds Helm v4: no binary), linted, and every
manifest validated against the Kubernetes OpenAPI schemas (kubernetes-validate), for the default and for full values.

Its RBAC is checked against what the code calls: the flows that run in the cluster (a diagnosis of every target of
every bundled scenario and of every kind ``kubewhy why`` takes, with the Slack buttons' reads and each proposed fix's
patch in dry run, Prometheus discovery, the watchers with their Lease) run against the simulator, which counts the
requests it serves per verb and resource (``/kubesim/v1/stats``). The chart grants exactly those: nothing that is
never called, nothing called that is not granted.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from kubesim.runner import run_in_thread
from kubesim.scenario import bundled_names
from kubesim.server import SimOptions
from kubewhy import inspect as kube_inspect
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kubelet import KubeletStats
from kubewhy.adapters.prom import discover
from kubewhy.fixes import apply_patch
from kubewhy.kinds import TABLE, TARGETS, is_namespaced
from kubewhy.models.target import Target, parse_target
from kubewhy.playbooks.loader import load_dirs
from kubewhy.service import Deps, diagnose
from kubewhy.settings import load as load_settings
from kubewhy.watch.notify import StdoutNotifier
from kubewhy.watch.run import run_watchers
from tests.scenarios import scenario_copy
from tests.waiting import until

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "kubewhy"
RELEASE, NAMESPACE = "kw", "ops"
KUBE_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())  # the chart's kubeVersion floor .. today

# Every knob turned: HA on Postgres, HTTP mode with the chart's own Secret, rules, playbooks, fixes, monitoring.
FULL: dict[str, Any] = {
    "replicas": 2,
    "image": {"repository": "registry.example/kubewhy", "tag": "0.1.0", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "regcred"}],
    "slack": {
        "mode": "http",
        "existingSecret": "",
        "botToken": "xoxb-1-2-abc",
        "signingSecret": "s3cr3t",
        "port": 3000,
        "allow": "*=S0SRE;prod=U123",
        "namespaces": "prod,staging",
        "alertChannel": "#ops",
    },
    "prometheus": {"url": "http://prometheus-operated.monitoring:9090"},
    "watch": {
        "rules": (REPO / "kubewhy" / "watch" / "rules.yaml").read_text(),
        "leaderElection": True,
        "leaseDurationSeconds": 10,
        "changes": {"key": {"existingSecret": "kubewhy-change-key"}},
    },
    "playbooks": {"team-oom.yaml": (REPO / "playbooks" / "oom-killed.yaml").read_text()},
    "settings": {"KUBEWHY_KUBE_TIMEOUT": "20", "KUBEWHY_AUDIT_RETENTION_DAYS": 30},
    "audit": {"postgres": {"existingSecret": "kubewhy-db", "key": "url"}},
    "rbac": {"create": True, "applyFixes": True},
    "serviceAccount": {"create": True, "name": "kubewhy-bot", "annotations": {"example.com/role": "kubewhy"}},
    "health": {"port": 9090},
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    "podDisruptionBudget": {"enabled": True},
    "serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prometheus"}},
    "podAnnotations": {"example.com/team": "sre"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kubewhy"}},
                    },
                }
            ]
        }
    },
    "extraEnv": [{"name": "KUBEWHY_CHECK_TIMEOUT", "value": "8"}],
}
CASES = {"default": {}, "full": FULL}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifests a ``helm install kw -n ops`` would apply."""
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return [
        doc for path, text in sorted(out.items()) if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc
    ]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (c,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(c, dict)
    return c


def settings_of(docs: list[dict[str, Any]]) -> dict[str, str]:
    """What the container's environment holds: the settings ConfigMap, then ``env`` values (downward API: ``*``)."""
    cm = [d for d in docs if d["kind"] == "ConfigMap" and "KUBEWHY_IN_CLUSTER" in d.get("data", {})]
    env = dict(cm[0]["data"])
    for e in container(docs).get("env", []):
        env[e["name"]] = e.get("value", "*")
    return env


# ---- Helm: render, lint, schema ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_helm_lint_is_clean(case: str) -> None:
    result = helm.lint(str(CHART), CASES[case], strict=True, namespace=NAMESPACE)
    assert result["errors"] == [] and result["messages"] == [], result


@pytest.mark.parametrize("case", CASES)
def test_every_manifest_is_valid_kubernetes(case: str) -> None:
    docs = render(CASES[case])
    kinds = sorted(d["kind"] for d in docs)
    assert {
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Service",
        "PodDisruptionBudget",
    } <= set(kinds), kinds
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":  # a CRD, not in the Kubernetes schemas: checked below
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{doc['kind']} {doc['metadata']['name']} on {version}: {exc}") from None


def test_validation_catches_a_broken_manifest() -> None:
    deploy = one(render({}), "Deployment")
    deploy["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deploy, KUBE_VERSIONS[-1], strict=True)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"replicas": "two"}, "/replicas"),
        ({"replicas": 0}, "/replicas"),
        ({"slack": {"mode": "rtm"}}, "/slack/mode"),
        ({"slack": {"botToken": "xoxp-user-token"}}, "/slack/botToken"),
        ({"prometheus": {"url": "prometheus:9090"}}, "/prometheus/url"),
        ({"settings": {"SLACK_BOT_TOKEN": "xoxb-in-a-configmap"}}, "'SLACK_BOT_TOKEN' does not match"),
        ({"replica": 2}, "replica"),
        ({"replicas": 2}, "needs a shared database"),
        (
            {"replicas": 2, "audit": {"postgres": {"existingSecret": "db"}}, "watch": {"leaderElection": False}},
            "needs watch.leaderElection",
        ),
        ({"slack": {"existingSecret": ""}}, "slack.botToken"),
        ({"slack": {"identities": {"alice": {"user": "alice"}}}}, "invalid propertyName 'alice'"),
        ({"slack": {"identities": {"U0ALICE": {"user": "*"}}}}, "/slack/identities/U0ALICE/user"),
        ({"slack": {"identities": {"U0ALICE": {"groups": ["system:masters"]}}}}, "/slack/identities/U0ALICE/groups"),
    ],
)
def test_bad_values_fail_at_install(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as failure:
        render(values)
    assert message in str(failure.value), failure.value


def test_the_service_monitor_scrapes_the_metrics_port() -> None:
    docs = render(FULL)
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    port = {p["name"]: p for p in service["spec"]["ports"]}[endpoint["port"]]
    assert endpoint["path"] == "/metrics" and port["port"] == FULL["health"]["port"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert not [d for d in render({}) if d["kind"] == "ServiceMonitor"]


# ---- what the pod runs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_the_pod_is_hardened_and_probed(case: str) -> None:
    docs = render(CASES[case])
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    c = container(docs)
    assert c["command"] == ["k8sbot"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["allowPrivilegeEscalation"] is False
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    env = settings_of(docs)
    health = {p["name"]: p["containerPort"] for p in c["ports"]}["health"]
    assert env["KUBEWHY_HEALTH_PORT"] == str(health)
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    # A read-only root: everything kubewhy writes (SQLite, its fallback file, the playbook cache) is on a volume.
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert set(mounts) == {"/data", "/tmp"}
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME"):
        assert any(env[name] == m or env[name].startswith(m + "/") for m in mounts), (name, env[name])
    # The Lease identity and namespace come from the downward API.
    fields = {
        e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"]
        for e in c["env"]
        if "valueFrom" in e and "fieldRef" in e["valueFrom"]
    }
    assert fields == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}


def test_every_setting_the_chart_sets_is_one_kubewhy_reads() -> None:
    settings_py = (REPO / "kubewhy" / "settings.py").read_text()
    read = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', settings_py))
    for values in CASES.values():
        names = set(settings_of(render(values)))
        assert names and names <= read, names - read
    secret = one(render(FULL), "Secret")
    assert set(secret["stringData"]) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= read


def test_the_configured_files_are_where_the_settings_point() -> None:
    docs = render(FULL)
    env, c = settings_of(docs), container(docs)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    rules_map = maps[volumes["rules"]["configMap"]["name"]]
    assert env["KUBEWHY_WATCH_RULES"] == f"{mounts['rules']}/rules.yaml" and "rules.yaml" in rules_map
    assert yaml.safe_load(rules_map["rules.yaml"]) == yaml.safe_load(FULL["watch"]["rules"])
    assert env["KUBEWHY_PLAYBOOKS"] == mounts["playbooks"]
    assert maps[volumes["playbooks"]["configMap"]["name"]] == FULL["playbooks"]
    assert env["KUBEWHY_KUBE_TIMEOUT"] == "20" and env["KUBEWHY_AUDIT_RETENTION_DAYS"] == "30"
    # The settings parse as kubewhy reads them (the downward API's values filled in).
    filled = {k: ("kw-kubewhy-0" if v == "*" else v) for k, v in env.items()}
    settings = load_settings({**filled, "KUBEWHY_DATABASE_URL": "postgresql://kubewhy@db/kubewhy"})
    assert settings.slack.mode == "http" and settings.watch.rules == Path("/etc/kubewhy/rules/rules.yaml")
    assert settings.health_port == FULL["health"]["port"] and settings.kube.in_cluster


def test_two_replicas_share_postgres_and_elect_a_leader() -> None:
    docs = render(FULL)
    deploy, c = one(docs, "Deployment"), container(docs)
    assert deploy["spec"]["replicas"] == 2 and deploy["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]  # the data is in Postgres
    (db,) = [e for e in c["env"] if e["name"] == "KUBEWHY_DATABASE_URL"]
    assert db["valueFrom"]["secretKeyRef"] == {"name": "kubewhy-db", "key": "url"}
    (key,) = [e for e in c["env"] if e["name"] == "KUBEWHY_CHANGE_KEY"]  # one change-log key for both replicas
    assert key["valueFrom"]["secretKeyRef"] == {"name": "kubewhy-change-key", "key": "key"}
    assert not [e for e in container(render({})).get("env", []) if e["name"] == "KUBEWHY_CHANGE_KEY"]
    env = settings_of(docs)
    assert env["KUBEWHY_WATCH_LEADER_ELECTION"] == "true"
    role = one(docs, "Role")
    assert role["metadata"]["namespace"] == NAMESPACE  # the Lease is in the release's namespace (POD_NAMESPACE)
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert named and all(r["resourceNames"] == [env["KUBEWHY_WATCH_LEASE_NAME"]] for r in named)
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"]


def test_one_replica_keeps_sqlite_on_its_volume() -> None:
    docs = render({})
    deploy = one(docs, "Deployment")
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    claim = one(docs, "PersistentVolumeClaim")["metadata"]["name"]
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim
    assert "KUBEWHY_DATABASE_URL" not in settings_of(docs)  # SQLite in $XDG_DATA_HOME/kubewhy, on /data


# ---- RBAC against the code's calls ------------------------------------------------------------------------------

Access = tuple[str, str, str]  # (API group, resource, verb)
GROUP_OF = {k.plural: k.group for k in TABLE}


def _as_access(counted: str) -> Access:
    """The simulator's ``verb resource[/sub]`` as (group, resource[/sub], verb)."""
    verb, resource = counted.split(" ", 1)
    resource = "/".join(resource.split("/")[:2])  # nodes/proxy/metrics/cadvisor is the subresource nodes/proxy
    group = GROUP_OF.get(resource.split("/")[0])
    assert group is not None, f"the code called {counted!r}, a resource kubewhy.kinds does not know"
    return group, resource, verb


async def _diagnoses_buttons_fixes_discovery(catalog: Any, diagnosed: set[str]) -> set[Access]:
    """Each scenario's expected targets, then one object of each kind ``kubewhy why`` takes that no scenario
    expects (``diagnosed`` collects the kinds)."""
    calls: set[Access] = set()
    for name in bundled_names():
        scenario = scenario_copy(name)
        with tempfile.TemporaryDirectory() as tmp:
            sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=Path(tmp) / "kc")
            try:
                kube = LiveKube(build_api_client(str(sim.kubeconfig)))
                targets = [parse_target(e.target) for e in scenario.expect]
                for kind in (k for k in TARGETS if k not in diagnosed | {t.kind for t in targets}):
                    found = await kube.list(kind)
                    if found:
                        meta = found[0]["metadata"]
                        targets.append(
                            Target(kind, meta["name"], meta.get("namespace") if is_namespaced(kind) else None)
                        )
                sim.reset_stats()  # the test's own LISTs above are not kubewhy's calls
                for target in targets:
                    diagnosed.add(target.kind)
                    # Wired as in the cluster without Prometheus: metric evidence from the kubelets.
                    report = await diagnose(target, Deps(kube=kube, catalog=catalog, kubelet=KubeletStats(kube)))
                    for fix in (fx for f in report.findings for fx in f.fixes if fx.patch is not None):
                        assert fix.patch is not None
                        await apply_patch(kube.capabilities.writer, fix.patch, dry_run=True)
                    await kube_inspect.describe_lines(kube, target)
                    await kube_inspect.events_lines(kube, target)
                    if target.kind == "Pod":
                        await kube_inspect.logs_lines(kube, target)
                if targets:
                    await discover(kube)
                stats = sim.stats()
            finally:
                sim.stop()
        calls |= {_as_access(k) for k, n in stats.items() if n and k != "get discovery"}
    return calls


async def lead_and_watch(settings: Any) -> None:
    """Run the watchers until they hold the Lease and watch nodes, pods and events, then stop them."""
    stop = asyncio.Event()
    started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_watchers(settings, StdoutNotifier(stream=io.StringIO()), stop=stop, on_ready=started.set_result)
    )
    watcher = await asyncio.wait_for(started, 60)
    informers = (watcher.nodes, watcher.pods, watcher.events)
    # the change log's informers too (on by default): each watches, or stopped on a kind the RBAC refuses
    changes = watcher.changes.informers if watcher.changes is not None else []
    await until(
        lambda: (
            watcher.elector.is_leader
            and all(i.stats.watches for i in informers)
            and len(watcher.changes.skipped if watcher.changes is not None else ())
            + sum(bool(i.stats.watches) for i in changes)
            == len(changes)
        ),
        timeout=60,
        what="the watchers to lead and watch",
    )
    stop.set()  # releases the Lease on the way out
    await asyncio.wait_for(task, 60)


async def _watchers_with_their_lease(tmp: Path) -> set[Access]:
    sim = run_in_thread(scenario_copy("workshop"), SimOptions(timeline_mode="manual"), kubeconfig_out=tmp / "kc")
    try:
        settings = load_settings(
            {
                "KUBECONFIG": str(sim.kubeconfig),
                "HOME": str(tmp),
                "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp / 'audit.db'}",
                "KUBEWHY_AUDIT_FALLBACK": str(tmp / "fallback.jsonl"),
                "KUBEWHY_WATCH_LEASE_DURATION": "3",
                "POD_NAMESPACE": "default",
                "POD_NAME": "kw-kubewhy-0",
                "KUBEWHY_WATCH_GRACE": "0s",
            }
        )
        await lead_and_watch(settings)
        stats = sim.stats()
    finally:
        sim.stop()
    return {_as_access(k) for k, n in stats.items() if n and k != "get discovery"}


DIAGNOSED: set[str] = set()  # the kinds the recorded flows diagnosed


@pytest.fixture(scope="module")
def api_calls(tmp_path_factory: pytest.TempPathFactory) -> set[Access]:
    """Every (group, resource, verb) the in-cluster flows call, as the simulator served them."""
    catalog = load_dirs([])
    assert not catalog.errors, catalog.errors

    async def record() -> set[Access]:
        return (await _diagnoses_buttons_fixes_discovery(catalog, DIAGNOSED)) | (
            await _watchers_with_their_lease(tmp_path_factory.mktemp("watch"))
        )

    return asyncio.run(record())


def granted(docs: list[dict[str, Any]]) -> set[Access]:
    """What the release's ServiceAccount may do: the rules of the roles bound to it."""
    account = one(docs, "ServiceAccount")["metadata"]["name"]
    roles = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"] in ("Role", "ClusterRole")}
    out: set[Access] = set()
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE} in binding["subjects"]
        role = roles[(binding["roleRef"]["kind"], binding["roleRef"]["name"])]
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
            out |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return out


def test_the_flows_call_what_the_chart_should_grant(api_calls: set[Access]) -> None:
    # The recording itself: reads, the watchers' WATCHes, the Lease, the fixes' patches, the logs.
    assert DIAGNOSED == set(TARGETS), f"no bundled scenario has a {set(TARGETS) - DIAGNOSED} to diagnose"
    verbs = {v for _, _, v in api_calls}
    assert {"get", "list", "watch", "create", "update", "patch"} <= verbs, api_calls
    assert ("", "pods/log", "get") in api_calls and ("coordination.k8s.io", "leases", "create") in api_calls
    assert not [a for a in api_calls if a[1] == "secrets"], "kubewhy must never read Secrets"


def test_read_only_rbac_is_exactly_the_calls_without_the_fixes(api_calls: set[Access]) -> None:
    calls = {a for a in api_calls if a[2] != "patch"}
    rbac = granted(render({}))
    assert not rbac - calls, f"granted but never called: {sorted(rbac - calls)}"
    assert not calls - rbac, f"called but not granted: {sorted(calls - rbac)}"


KUBELET_CALLS = {("", "nodes/proxy", "get")}  # made only without Prometheus; FULL configures one


def test_with_everything_set_the_rbac_is_exactly_the_calls_but_the_fixes(api_calls: set[Access]) -> None:
    """Issue 27: the fixes' patches are the approving person's rights (impersonated), never the bot's: no value
    grants the service account a patch, not even the old ``rbac.applyFixes`` (FULL sets it)."""
    assert KUBELET_CALLS <= api_calls and FULL["rbac"]["applyFixes"] is True
    calls = {a for a in api_calls - KUBELET_CALLS if a[2] != "patch"}
    rbac = granted(render(FULL))
    assert not rbac - calls, f"granted but never called: {sorted(rbac - calls)}"
    assert not calls - rbac, f"called but not granted: {sorted(calls - rbac)}"
    assert not [a for a in rbac if a[2] == "patch"], "the service account may patch nothing itself"


IDENTITIES = {
    "U0ALICE": {"user": "alice@example.com", "groups": ["sre"]},
    "U0BOB": {"user": "bob@example.com"},
    "S0ONCALL": {"groups": ["oncall", "sre"]},
}


def test_impersonation_is_granted_for_exactly_the_mapped_subjects() -> None:
    """Issue 27: the bot may impersonate the users and groups of slack.identities, by name and nothing else; the
    map reaches kubewhy as the file its setting names, and reads as kubewhy.identity reads it."""
    from kubewhy.identity import parse_identities

    assert not [d for d in render({}) if d["metadata"]["name"].endswith("-impersonate")]  # no map: no grant
    docs = render({"slack": {"identities": IDENTITIES}})
    role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-impersonate"))
    rules = {tuple(r["resources"]): r for r in role["rules"]}
    assert set(rules) == {("users",), ("groups",)}
    assert all(r["verbs"] == ["impersonate"] and r["apiGroups"] == [""] for r in rules.values())
    users, groups = rules[("users",)]["resourceNames"], rules[("groups",)]["resourceNames"]
    assert "*" not in users + groups
    env, c = settings_of(docs), container(docs)
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert env["KUBEWHY_SLACK_IDENTITIES"] == f"{mounts['identities']}/identities.yaml"
    held = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-identities"))
    mapped = parse_identities(held["data"]["identities.yaml"])
    assert (tuple(users), tuple(groups)) == mapped.subjects()
    assert mapped.resolve("U0ALICE", ["S0ONCALL"]) is not None
    binding = next(
        d for d in docs if d["kind"] == "ClusterRoleBinding" and d["metadata"]["name"] == role["metadata"]["name"]
    )
    assert binding["subjects"][0]["name"] == one(docs, "ServiceAccount")["metadata"]["name"]
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(role, version, strict=True)
