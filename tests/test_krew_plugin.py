"""``kubectl why`` through krew: plugins/why.yaml has the fields krew's manifest validation requires, its version
is the package's, and its sha256 is that of the archive plugins/archive.py builds (byte for byte reproducible).
The launcher in that archive runs an installed kubewhy (tests/test_wheel.py) or says how to install it from the
repository; it never fetches a package by name from an index (uvx, pipx run), since kubewhy is not published on one
and whatever a stranger registered under that name would run."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PLUGINS = REPO / "plugins"
MANIFEST: dict[str, Any] = yaml.safe_load((PLUGINS / "why.yaml").read_text())
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
_spec = importlib.util.spec_from_file_location("krew_archive", PLUGINS / "archive.py")
assert _spec is not None and _spec.loader is not None
archive = importlib.util.module_from_spec(_spec)  # plugins/archive.py: the release script, not a package
_spec.loader.exec_module(archive)


def test_the_manifest_has_what_krew_requires() -> None:
    assert MANIFEST["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert MANIFEST["kind"] == "Plugin"
    name = MANIFEST["metadata"]["name"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) and not name.startswith("kubectl")
    spec = MANIFEST["spec"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", spec["version"])
    assert spec["homepage"].startswith("https://")
    assert 0 < len(spec["shortDescription"]) <= 50 and "\n" not in spec["shortDescription"]
    assert spec["description"].strip()
    seen = set()
    for platform in spec["platforms"]:
        labels = platform["selector"]["matchLabels"]
        key = (labels["os"], labels["arch"])
        assert key not in seen, f"two platforms for {key}"
        seen.add(key)
        assert labels["os"] in ("linux", "darwin", "windows") and labels["arch"] in ("amd64", "arm64")
        assert platform["uri"].startswith("https://") and platform["uri"].endswith(".tar.gz")
        assert re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
        assert platform["bin"] and platform["files"]
        assert all(f["from"] and f["to"] for f in platform["files"])
    assert {("linux", "amd64"), ("darwin", "arm64")} <= seen


def test_the_versions_agree() -> None:
    assert MANIFEST["spec"]["version"] == f"v{VERSION}"
    for platform in MANIFEST["spec"]["platforms"]:
        assert f"/v{VERSION}/" in platform["uri"]


def test_the_sha256_is_the_archives_and_the_archive_holds_the_bin() -> None:
    data = archive.build()
    assert data == archive.build(), "the archive must be reproducible"
    digest = hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for platform in MANIFEST["spec"]["platforms"]:
        assert platform["sha256"] == digest, "plugins/why.yaml: sha256 is not plugins/archive.py's (re-run it)"
        installed = {
            f["to"].rstrip("/") + "/" + Path(f["from"]).name if f["to"] != "." else f["from"] for f in platform["files"]
        }
        assert platform["bin"] in installed
        member = members[platform["bin"]]
        assert member.isfile() and member.mode & 0o111, "the bin must be executable"


# Stand-ins for what the launcher might call: each writes its name and arguments to calls.log and exits 3.
FETCHERS = ("uvx", "uv", "pipx", "pip", "pip3", "python", "python3")


def _path_with(tmp_path: Path, *names: str) -> tuple[dict[str, str], Path]:
    """An environment whose PATH holds only stand-ins named ``names`` (the shell's builtins do the rest)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in names:
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> {log}\nexit 3\n")
        stub.chmod(0o755)
    return {"PATH": str(bin_dir), "HOME": str(tmp_path)}, log


def _launch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(PLUGINS / "kubectl-why"), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_launcher_runs_the_installed_kubewhy(tmp_path: Path) -> None:
    env, log = _path_with(tmp_path, "kubewhy", *FETCHERS)
    proc = _launch(env, "deploy/api", "-n", "prod")
    assert proc.returncode == 3, proc  # kubewhy's own exit code passes through
    assert log.read_text() == "kubewhy why deploy/api -n prod\n"
    assert os.access(PLUGINS / "kubectl-why", os.X_OK)


def test_the_launcher_never_fetches_kubewhy_from_an_index(tmp_path: Path) -> None:
    """No kubewhy installed, every tool that could fetch it on the PATH: none is called, the error says how to
    install it from the repository, and the exit code is the shell's "command not found"."""
    env, log = _path_with(tmp_path, *FETCHERS)
    proc = _launch(env, "pod/x")
    assert not log.exists(), log.read_text()
    assert proc.returncode == 127 and proc.stdout == "", proc
    assert "kubewhy is not installed" in proc.stderr
    assert "pipx install ." in proc.stderr and "uv tool install ." in proc.stderr
    assert "python -m build && pipx install dist/kubewhy-*.whl" in proc.stderr
    assert "Traceback" not in proc.stderr and "not found" not in proc.stderr, proc.stderr  # nothing it ran was missing
    # Nor in any line of the script, whatever is on the PATH: no index tool is named outside the comments.
    code = [ln for ln in (PLUGINS / "kubectl-why").read_text().splitlines() if not ln.lstrip().startswith("#")]
    calls = [ln for ln in code if not ln.lstrip().startswith('"')]  # the message's lines are quoted strings
    for line in calls:
        assert not re.search(r"\b(uvx|uv|pipx|pip3?|python3?)\b|kubewhy==", line), line


def test_the_launcher_needs_nothing_on_the_path_to_say_so(tmp_path: Path) -> None:
    env, _ = _path_with(tmp_path)  # an empty PATH: the message is printed by the shell itself
    proc = _launch(env, "pod/x")
    assert proc.returncode == 127 and "pipx install ." in proc.stderr, proc
    assert "not found" not in proc.stderr, proc.stderr
