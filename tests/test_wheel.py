"""The built wheel works on its own: installed into a fresh venv outside the checkout (and by pipx and by uv tool
install), it diagnoses a snapshot, migrates an audit database, runs the demo, and every console script it declares
runs (``kubewhy``, ``kubectl-why``, ``k8sbot``; ``k8stui`` once the TUI has an entry point). The image's ENTRYPOINT
and the chart's command name one of those scripts.

This is the only test that sees the package as a user does. Everything else imports the editable checkout, where
``playbooks/``, ``migrations/`` and the scenarios would be found even if the wheel left them out.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What `kubectl get pod -o yaml` gives for a container the kernel OOM-killed and the kubelet restarted.
OOM_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: api-6f7c9d8b4-q2w3e
  namespace: shop
  uid: 0b3f7f7e-3a51-4d1a-9a53-2f6c1c2d9e01
  creationTimestamp: "2024-06-14T09:00:00Z"
spec:
  nodeName: node-1
  containers:
  - name: api
    image: shop/api:1.4.2
    resources:
      limits: {memory: 256Mi}
      requests: {memory: 128Mi}
status:
  phase: Running
  conditions:
  - {type: Ready, status: "False", lastTransitionTime: "2024-06-14T09:58:00Z"}
  containerStatuses:
  - name: api
    image: shop/api:1.4.2
    ready: false
    restartCount: 7
    state:
      waiting: {reason: CrashLoopBackOff}
    lastState:
      terminated: {reason: OOMKilled, exitCode: 137, startedAt: "2024-06-14T09:57:00Z",
                   finishedAt: "2024-06-14T09:58:00Z"}
"""


def _docker_context(dest: Path) -> Path:
    """A copy of what .dockerignore lets into the image's build stage, so this wheel is the image's wheel.

    .dockerignore excludes everything (``*``) and names what goes in (``!entry``); copying into a fresh folder also
    keeps out setuptools' build/ directory, whose stale files would otherwise end up in the wheel.
    """
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore should start by excluding everything"
    dest.mkdir()
    for entry in (p[1:].rstrip("/") for p in patterns if p.startswith("!")):
        src = REPO / entry
        if src.is_dir():
            shutil.copytree(src, dest / entry, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / entry)
    return dest


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the venv's kubewhy, a working directory outside the repo, the environment to run it in)."""
    root = tmp_path_factory.mktemp("wheel")
    assert REPO not in root.parents, "the test must run outside the checkout"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("KUBEWHY_")
    }
    dist = root / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(_docker_context(root / "src"))],
        cwd=root,
        env=env,
    )
    (wheel,) = dist.glob("kubewhy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("tests/")], "the wheel must not ship the test suite"
    assert "kubewhy/playbooks/bundled/oom-killed.yaml" in names
    assert "kubewhy/audit/migrations/env.py" in names
    assert "kubesim/scenarios/workshop/_cluster.yaml" in names
    assert "kubewhy/watch/rules.yaml" in names
    assert "kubewhy/catalogue/CATALOGUE.md" in names
    assert "kubewhy/audit/migrations/script.py.mako" in names
    assert any(n.startswith("kubesim/scenarios/catalogue/") and n.endswith(".yaml") for n in names)

    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    # From the configured index, as a user would; --no-compile only skips writing .pyc files up front.
    _run([str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], cwd=root, env=env, timeout=600)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    (root / "entry_points.txt").write_bytes(zipfile.ZipFile(wheel).read(entry_points))
    work = root / "work"
    work.mkdir()
    env["KUBEWHY_DATABASE_URL"] = f"sqlite:///{root / 'demo-audit.db'}"
    env["HOME"] = str(root)  # the default data directory and the demo's kubeconfig stay in the tmp folder
    return root / "venv" / "bin" / "kubewhy", work, env


def test_wheel_diagnoses_a_snapshot(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    (work / "pod.yaml").write_text(OOM_POD)
    out = _run(
        [str(kubewhy), "why", "pod/shop/api-6f7c9d8b4-q2w3e", "--snapshot", "pod.yaml", "--no-audit"], cwd=work, env=env
    ).stdout
    assert "oom-killed" in out and "OOMKilled" in out, out


def test_wheel_migrates_a_database(installed: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    kubewhy, work, env = installed
    url = f"sqlite:///{tmp_path / 'a.db'}"
    _run([str(kubewhy), "db", "upgrade", "--database-url", url], cwd=work, env=env)
    current = _run([str(kubewhy), "db", "current", "--database-url", url], cwd=work, env=env).stdout
    assert "up to date" in current, current


def test_wheel_runs_the_demo(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    out = _run([str(kubewhy), "demo", "--once"], cwd=work, env=env).stdout
    for expected in (
        "node-not-ready",
        "clock-skew",
        "service-no-endpoints",
        "statefulset-pvc-full",
        "rwo-multi-attach",
    ):
        assert expected in out, out


def _console_scripts(kubewhy: Path) -> dict[str, str]:
    """The wheel's ``[console_scripts]`` (name → module:function)."""
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the names' case
    parser.read(kubewhy.parents[2] / "entry_points.txt")
    return dict(parser["console_scripts"])


def test_wheel_declares_the_console_scripts_and_installs_them(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, _, _ = installed
    scripts = _console_scripts(kubewhy)
    expected = {"kubewhy", "kubectl-why", "k8sbot"}
    if (REPO / "tui" / "__main__.py").exists() or (REPO / "tui" / "app.py").exists():
        expected.add("k8stui")  # the TUI, once it exists, ships its console script too
    assert set(scripts) == expected, scripts
    for name in scripts:
        assert (kubewhy.parent / name).is_file(), f"{name} not installed in {kubewhy.parent}"


def test_kubectl_why_runs_as_a_kubectl_plugin(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    (work / "pod.yaml").write_text(OOM_POD)
    plugin = kubewhy.parent / "kubectl-why"
    out = _run(
        [str(plugin), "pod/shop/api-6f7c9d8b4-q2w3e", "--snapshot", "pod.yaml", "--no-audit"], cwd=work, env=env
    ).stdout
    assert "oom-killed" in out and "OOMKilled" in out, out


def test_k8sbot_without_slack_settings_exits_with_the_reason(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    proc = subprocess.run(
        [str(kubewhy.parent / "k8sbot")], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc
    assert proc.stderr.strip() == "k8sbot: SLACK_BOT_TOKEN is not set (the xoxb- token of the Slack app)", proc.stderr


def test_the_watchers_default_rules_are_packaged(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    out = _run([str(kubewhy), "watch", "--print-default-rules"], cwd=work, env=env).stdout
    assert out == (REPO / "kubewhy" / "watch" / "rules.yaml").read_text()
    assert "detect: node-not-ready" in out


def test_wheel_eval_covers_the_packaged_catalogue(installed: tuple[Path, Path, dict[str, str]]) -> None:
    """``kubewhy eval --coverage`` without ``--catalogue`` reads the catalogue the wheel ships, not a checkout's."""
    from kubelab.evaluate import parse_catalogue

    kubewhy, work, env = installed
    scenario = work / "evicted.yaml"
    shutil.copy2(REPO / "kubesim" / "scenarios" / "catalogue" / "evicted.yaml", scenario)
    cmd = [str(kubewhy), "eval", str(scenario), "--mode", "snapshot", "--prometheus", "off", "--coverage", "cov.md"]
    _run(cmd, cwd=work, env=env)
    coverage = (work / "cov.md").read_text(encoding="utf-8")
    ids = [e.id for e in parse_catalogue(REPO / "kubewhy" / "catalogue" / "CATALOGUE.md")]
    assert len(ids) >= 40 and [i for i in ids if f"| {i} |" not in coverage] == [], coverage
    assert "| evicted | `playbooks/evicted.yaml` | `evicted` |" in coverage, coverage


def test_the_image_and_the_chart_run_an_installed_console_script(installed: tuple[Path, Path, dict[str, str]]) -> None:
    from tests.test_dockerfile import instruction_args
    from tests.test_helm_chart import FULL, render

    kubewhy, _, _ = installed
    scripts = _console_scripts(kubewhy)
    (entrypoint,) = instruction_args("ENTRYPOINT")
    assert entrypoint[0] == "k8sbot" and entrypoint[0] in scripts, entrypoint
    for values in ({}, FULL):
        (deploy,) = [d for d in render(values) if d["kind"] == "Deployment"]
        (container,) = deploy["spec"]["template"]["spec"]["containers"]
        command = container.get("command") or entrypoint
        assert command[0] in scripts and command[0] == "k8sbot", command
        assert (kubewhy.parent / command[0]).is_file()


def test_the_krew_launcher_runs_the_installed_kubewhy(installed: tuple[Path, Path, dict[str, str]]) -> None:
    kubewhy, work, env = installed
    (work / "pod.yaml").write_text(OOM_POD)
    env = {**env, "PATH": f"{kubewhy.parent}:/usr/bin:/bin"}
    out = _run(
        [
            "/bin/sh",
            str(REPO / "plugins" / "kubectl-why"),
            "pod/shop/api-6f7c9d8b4-q2w3e",
            "--snapshot",
            "pod.yaml",
            "--no-audit",
        ],
        cwd=work,
        env=env,
    ).stdout
    assert "oom-killed" in out and "OOMKilled" in out, out


@pytest.mark.parametrize("tool", ["pipx", "uv"])
def test_pipx_and_uv_tool_install_the_wheel(
    installed: tuple[Path, Path, dict[str, str]], tool: str, tmp_path: Path
) -> None:
    kubewhy, work, env = installed
    (wheel,) = (kubewhy.parents[2] / "dist").glob("kubewhy-*.whl")
    found = shutil.which(tool, path=str(Path(sys.executable).parent))
    assert found, f"{tool} comes with the test extra: run scripts/install"
    bin_dir = tmp_path / "bin"
    env = {
        **env,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(bin_dir),
        "UV_TOOL_DIR": str(tmp_path / "uv"),
        "UV_TOOL_BIN_DIR": str(bin_dir),
    }
    command = [found, "install", str(wheel)] if tool == "pipx" else [found, "tool", "install", str(wheel)]
    _run(command, cwd=work, env=env, timeout=600)
    assert {p.name for p in bin_dir.iterdir()} >= set(_console_scripts(kubewhy))
    (work / "pod.yaml").write_text(OOM_POD)
    out = _run(
        [str(bin_dir / "kubectl-why"), "pod/shop/api-6f7c9d8b4-q2w3e", "--snapshot", "pod.yaml", "--no-audit"],
        cwd=work,
        env=env,
    ).stdout
    assert "oom-killed" in out, out
