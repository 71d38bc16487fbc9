"""Regenerate tests/realworld/describe/kubectl/: real ``kubectl describe`` output (kubectl 1.27 ... 1.33) of
simulated clusters, for the describe reader's tests and the describe round trip (issue 23).

Run: ``.venv/bin/python scripts/describe_fixtures.py`` (a few minutes: one simulator per scenario, seven kubectls).

Two sets are written:

- ``<version>/<kind>-<namespace>-<name>.txt``: every object of the workshop cluster in its ``q*`` namespaces and
  every node and PersistentVolume, broken or not (the reader's coverage of every kind kubectl describes).
- ``<version>/<scenario>/<kind>-<namespace>-<name>.txt``: the round trip's cases. For each bundled scenario
  (catalogue and workshop members) its broken objects: every expectation target that names a cause, and for a
  Deployment target also its newest ReplicaSet (the highest ``deployment.kubernetes.io/revision`` it owns), the
  next link of the chain. Beside them, once per object, ``objects/<scenario>/<kind>-<namespace>-<name>.yaml``
  holds what the same describe shows as API objects: the object, its own events, and for a Service its
  Endpoints, after a Scenario document with the time they were read (``capturedAt``); and ``cases.json``
  each case's scenario, target and the scenario's expected findings for it.
  tests/kubewhy/test_describe_roundtrip.py diagnoses both sides and compares them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubelab.evaluate import scenario_sources  # noqa: E402
from kubesim.runner import run_in_thread  # noqa: E402
from kubesim.scenario import load  # noqa: E402
from kubesim.server import SimOptions  # noqa: E402
from kubewhy import kinds  # noqa: E402

OUT = ROOT / "tests" / "realworld" / "describe" / "kubectl"
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
KINDS = {
    "deploy": "deployments",
    "rs": "replicasets",
    "sts": "statefulsets",
    "ds": "daemonsets",
    "job": "jobs",
    "cj": "cronjobs",
    "hpa": "horizontalpodautoscalers",
    "svc": "services",
    "pv": "persistentvolumes",
    "pvc": "persistentvolumeclaims",
    "node": "nodes",
    "pod": "pods",
    "ing": "ingresses",
}
CLUSTER_SCOPED = {"node", "pv"}
# Kinds `kubectl describe` shows whose round-trip case is kept (a ServiceMonitor target has no describer).
DESCRIBED = {k for k in kinds.TARGETS if k not in ("ServiceMonitor",)}


def _kubectl(exe: str, kubeconfig: Path, *args: str) -> str:
    proc = subprocess.run([exe, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=60)
    return proc.stdout if proc.returncode == 0 else ""


def _names(exe: str, kubeconfig: Path, short: str) -> list[tuple[str, str]]:
    scope = [] if short in CLUSTER_SCOPED else ["-A"]
    out = _kubectl(exe, kubeconfig, "get", KINDS[short], *scope, "-o", "json")
    items = json.loads(out or '{"items": []}')["items"]
    return [(i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items]


def _wanted(ns: str) -> bool:
    return ns == "" or ns.startswith("q")


def _file_stem(kind: str, ns: str | None, name: str) -> str:
    return f"{kinds.short_name(kind)}-{ns or '_'}-{name}"


def _get(exe: str, kc: Path, kind: str, ns: str | None, name: str) -> dict[str, Any] | None:
    row = kinds.info(kind)
    out = _kubectl(exe, kc, "get", row.plural, name, *(["-n", ns] if ns and row.namespaced else []), "-o", "json")
    return json.loads(out) if out else None


def _own_events(exe: str, kc: Path, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The events ``kubectl describe`` shows under the object: those whose involvedObject is it."""
    meta = obj["metadata"]
    fs = f"involvedObject.kind={obj['kind']},involvedObject.name={meta['name']}"
    scope = ["-n", meta["namespace"]] if meta.get("namespace") else ["-A"]
    out = _kubectl(exe, kc, "get", "events", *scope, "--field-selector", fs, "-o", "json")
    items = json.loads(out or '{"items": []}')["items"]
    uid = meta.get("uid")
    return [e for e in items if (e.get("involvedObject") or {}).get("uid") in (None, "", uid)]


def _newest_replicaset(exe: str, kc: Path, deployment: dict[str, Any]) -> dict[str, Any] | None:
    ns, name = deployment["metadata"].get("namespace"), deployment["metadata"]["name"]
    out = _kubectl(exe, kc, "get", "replicasets", "-n", ns, "-o", "json")
    owned = [
        rs
        for rs in json.loads(out or '{"items": []}')["items"]
        if any(
            r.get("kind") == "Deployment" and r.get("name") == name for r in rs["metadata"].get("ownerReferences") or []
        )
    ]

    def revision(rs: dict[str, Any]) -> int:
        try:
            return int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
        except ValueError:
            return 0

    return max(owned, key=revision) if owned else None


def _cases(scenario: str) -> list[tuple[str, list[str]]]:
    """(target, expected findings, the primary cause first) for each expectation of the scenario that names one."""
    loaded = load(scenario)
    return [(e.target, list(e.findings)) for e in loaded.expect if e.findings]


def _round_trip(binaries: list[Path], cases: dict[str, dict[str, Any]]) -> None:
    latest = str(binaries[-1])
    for scenario in scenario_sources([]):
        wanted = _cases(scenario)
        if not wanted:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            sim = run_in_thread(load(scenario), SimOptions(timeline_mode="manual"), kubeconfig_out=Path(tmp) / "kc")
            try:
                assert sim.kubeconfig is not None
                kc = sim.kubeconfig
                for target, findings in wanted:
                    short, *rest = target.split("/")
                    kind = kinds.kind_named(short) or ""
                    if kind not in DESCRIBED:
                        continue
                    ns, name = (None, rest[0]) if len(rest) == 1 else (rest[0], rest[1])
                    obj = _get(latest, kc, kind, ns, name)
                    if obj is None:
                        continue
                    objects = [obj]
                    if kind == "Deployment":
                        rs = _newest_replicaset(latest, kc, obj)
                        if rs is not None:
                            objects.append(rs)
                    for o in objects:
                        o.setdefault("kind", kind)
                        _write_case(binaries, kc, scenario, target, findings, o, cases)
            finally:
                sim.stop()


def _write_case(
    binaries: list[Path],
    kc: Path,
    scenario: str,
    target: str,
    findings: list[str],
    obj: dict[str, Any],
    cases: dict[str, dict[str, Any]],
) -> None:
    kind, meta = obj["kind"], obj["metadata"]
    ns, name = meta.get("namespace"), meta["name"]
    stem = _file_stem(kind, ns, name)
    # When it was read, as `kubewhy why --snapshot` takes it from a Scenario document (kubectl prints the
    # describe's ages against the same clock): without it the latest event would be the snapshot's "now".
    taken = {
        "apiVersion": "kubesim.kubewhy.io/v1",
        "kind": "Scenario",
        "capturedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    shown = [taken, obj, *_own_events(str(binaries[-1]), kc, obj)]
    if kind == "Service":  # kubectl describe svc prints its Endpoints
        endpoints = _get(str(binaries[-1]), kc, "Endpoints", ns, name)
        if endpoints is not None:
            shown.append({**endpoints, "kind": "Endpoints"})
    folder = OUT / "objects" / scenario
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.yaml").write_text(yaml.safe_dump_all(shown, sort_keys=True), encoding="utf-8")
    for exe in binaries:
        version = exe.name.removeprefix("kubectl.")
        args = ["describe", kinds.info(kind).plural, name, *(["-n", ns] if ns else [])]
        text = _kubectl(str(exe), kc, *args)
        if text.strip():
            out = OUT / version / scenario
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{stem}.txt").write_text(text, encoding="utf-8")
    ref = f"{kinds.short_name(kind)}/{ns}/{name}" if ns else f"{kinds.short_name(kind)}/{name}"
    cases[f"{scenario}/{stem}"] = {
        "scenario": scenario,
        "object": ref,
        "target": target,
        "primary": findings[0],
        "findings": findings,
    }


def _workshop(binaries: list[Path]) -> int:
    """Every object of the workshop cluster, for the reader's tests (``<version>/<kind>-<ns>-<name>.txt``)."""
    with tempfile.TemporaryDirectory() as tmp:
        sim = run_in_thread(load("workshop"), SimOptions(timeline_mode="manual"), kubeconfig_out=Path(tmp) / "kc")
        try:
            assert sim.kubeconfig is not None
            kc = sim.kubeconfig
            count = 0
            for exe in binaries:
                folder = OUT / exe.name.removeprefix("kubectl.")
                folder.mkdir(parents=True, exist_ok=True)
                for short in KINDS:
                    for ns, name in _names(str(exe), kc, short):
                        if not _wanted(ns):
                            continue
                        text = _kubectl(str(exe), kc, "describe", KINDS[short], name, *(["-n", ns] if ns else []))
                        if text.strip():
                            (folder / f"{short}-{ns or '_'}-{name}.txt").write_text(text, encoding="utf-8")
                            count += 1
        finally:
            sim.stop()
    return count


def main() -> int:
    binaries = sorted(KUBECTL_DIR.glob("kubectl.1.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    count = _workshop(binaries)
    cases: dict[str, dict[str, Any]] = {}
    _round_trip(binaries, cases)
    (OUT / "cases.json").write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{count} workshop describes; {len(cases)} round-trip objects x {len(binaries)} kubectl versions -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
