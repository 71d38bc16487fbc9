"""Regenerate tests/realworld/describe/kubectl/: real ``kubectl describe`` output (kubectl 1.27 ... 1.33) of the
objects in the simulator's "workshop" scenario, one file per kubectl version, kind and object.

Run: ``.venv/bin/python scripts/describe_fixtures.py``. Each file is ``<version>/<kind>-<namespace>-<name>.txt``;
``snapshot.json`` beside them lists each object with the top finding of ``kubewhy why TARGET --snapshot`` over
``kubectl get -o yaml`` of the same cluster, which the round-trip test compares with the describe reader's answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubesim.runner import run_in_thread  # noqa: E402
from kubesim.scenario import load  # noqa: E402
from kubesim.server import SimOptions  # noqa: E402

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


SNAPSHOT_KINDS = (
    "pods,nodes,events,services,endpoints,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,"
    "horizontalpodautoscalers,persistentvolumeclaims,persistentvolumes,ingresses,configmaps,storageclasses"
)


def _snapshot_findings(exe: str, kubeconfig: Path, targets: list[str], tmp: Path) -> dict[str, str]:
    """The top finding of ``kubewhy why TARGET --snapshot`` over ``kubectl get -o yaml`` of the whole cluster."""
    snapshot = tmp / "cluster.yaml"
    snapshot.write_text(_kubectl(exe, kubeconfig, "get", SNAPSHOT_KINDS, "-A", "-o", "yaml"), encoding="utf-8")
    out = {}
    for target in targets:
        proc = subprocess.run(
            [sys.executable, "-m", "kubewhy", "why", target, "--snapshot", str(snapshot), "-o", "json", "--no-audit"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        try:
            findings = json.loads(proc.stdout)["findings"]
        except (ValueError, KeyError):
            findings = []
        out[target] = findings[0]["id"] if findings else "unexplained"
    return out


def main() -> int:
    binaries = sorted(KUBECTL_DIR.glob("kubectl.1.*"))
    with tempfile.TemporaryDirectory() as tmp:
        sim = run_in_thread(load("workshop"), SimOptions(timeline_mode="manual"), kubeconfig_out=Path(tmp) / "kc")
        try:
            assert sim.kubeconfig is not None
            kc = sim.kubeconfig
            targets: list[str] = []
            for exe in binaries:
                version = exe.name.removeprefix("kubectl.")
                folder = OUT / version
                folder.mkdir(parents=True, exist_ok=True)
                for short in KINDS:
                    for ns, name in _names(str(exe), kc, short):
                        if not _wanted(ns):
                            continue
                        args = ["describe", KINDS[short], name, *(["-n", ns] if ns else [])]
                        text = _kubectl(str(exe), kc, *args)
                        if not text.strip():
                            continue
                        target = f"{short}/{ns}/{name}" if ns else f"{short}/{name}"
                        if target not in targets:
                            targets.append(target)
                        (folder / f"{short}-{ns or '_'}-{name}.txt").write_text(text, encoding="utf-8")
            expected = _snapshot_findings(str(binaries[-1]), kc, targets, Path(tmp))
        finally:
            sim.stop()
    (OUT / "snapshot.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(targets)} objects x {len(binaries)} kubectl versions -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
