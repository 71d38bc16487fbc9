"""``kubectl why`` through krew: plugins/why.yaml has the fields krew's manifest validation requires, its version
is the package's, and its sha256 is that of the archive plugins/archive.py builds (byte for byte reproducible).
The launcher in that archive runs an installed kubewhy (tests/test_wheel.py) or says how to install it."""

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
    launcher = (PLUGINS / "kubectl-why").read_text()
    assert f"KUBEWHY_VERSION={VERSION}\n" in launcher
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


def test_the_launcher_without_kubewhy_says_how_to_install_it(tmp_path: Path) -> None:
    # Only the shell's own tools on the PATH: no kubewhy, uvx or pipx.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["/bin/sh", str(PLUGINS / "kubectl-why"), "pod/x"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1 and "pipx install kubewhy" in proc.stderr, proc
    assert os.access(PLUGINS / "kubectl-why", os.X_OK)
