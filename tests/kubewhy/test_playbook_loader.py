"""Playbook validation: every error names its file and line, and a broken playbook never stops the others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubewhy.playbooks.loader import bundled_dir, load_dirs

GOOD = """apiVersion: kubewhy.io/v1
id: custom-thing
title: A custom cause
applies_to: [Pod]
stage: pod
severity: warning
symptom: target.metadata.name.startsWith("web")
when: "true"
summary: "custom for {{ target.metadata.name }}"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bundled_playbooks_are_valid() -> None:
    catalog = load_dirs([], include_bundled=True)
    assert not catalog.errors, [str(e) for e in catalog.errors]
    assert len(catalog.playbooks) >= 13


@pytest.mark.parametrize(
    "text,line,words",
    [
        (GOOD.replace("stage: pod", "stage: kitchen"), 5, "stage"),
        (GOOD.replace("severity: warning\n", "severity: warning\ncolour: red\n"), 7, "unknown field 'colour'"),
        (GOOD.replace("title: A custom cause\n", ""), 1, "missing required field 'title'"),
        (
            GOOD.replace('symptom: target.metadata.name.startsWith("web")', "symptom: target.metadata.(("),
            7,
            "invalid CEL",
        ),
        (GOOD + "checks:\n  - id: x\n    use: teleport\n", 12, "unknown check 'teleport'"),
        (GOOD + "checks:\n  - id: x\n    use: events\n    with: {offf: 1}\n", 13, "has no parameter 'offf'"),
        (
            GOOD.replace('summary: "custom for {{ target.metadata.name }}"', 'summary: "{{ target.( }}"'),
            9,
            "invalid CEL",
        ),
        (GOOD.replace("applies_to: [Pod]", "applies_to: [Pod\n"), 4, "YAML error"),
        (GOOD + "severity: critical\n", 10, "duplicate key 'severity' (first at line 6)"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert not catalog.playbooks
    assert catalog.errors, "expected an error"
    err = catalog.errors[0]
    assert err.location == f"{path}:{line}", (err.location, str(err))
    assert words in err.detail


def test_broken_user_playbook_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "broken.yaml", GOOD.replace("custom-thing", "other").replace("stage: pod", "stage: ?"))
    catalog = load_dirs([tmp_path])
    ids = {p.id for p in catalog.playbooks}
    assert "custom-thing" in ids and "oom-killed" in ids and "other" not in ids
    assert [e.location.split(":")[0] for e in catalog.errors] == [str(tmp_path / "broken.yaml")]


def test_playbooks_check_command_exits_non_zero_with_locations(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", GOOD)
    bad = write(
        tmp_path, "bad.yaml", GOOD.replace("custom-thing", "bad-one").replace("severity: warning", "severity: 9")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "playbooks", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert f"{bad}:6: error:" in proc.stdout
    ok = subprocess.run(
        [sys.executable, "-m", "kubewhy", "playbooks", "check", str(bundled_dir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout


@pytest.mark.parametrize(
    "text,line,words",
    [
        (
            GOOD.replace("apiVersion: kubewhy.io/v1\n", ""),
            1,
            "missing apiVersion; add 'apiVersion: kubewhy.io/v1' (known versions: kubewhy.io/v1)",
        ),
        (
            GOOD.replace("apiVersion: kubewhy.io/v1\n", "title2: x\napiVersion: kubewhy.io/v9\n"),
            2,
            "unknown apiVersion 'kubewhy.io/v9'; known versions: kubewhy.io/v1",
        ),
    ],
)
def test_the_format_version_is_required_and_known(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, "old.yaml", text)
    catalog = load_dirs([tmp_path], include_bundled=False)
    assert not catalog.playbooks
    assert [(e.location, e.detail) for e in catalog.errors] == [(f"{path}:{line}", words)]


def test_every_bundled_playbook_names_the_current_version() -> None:
    for path in sorted(bundled_dir().glob("*.yaml")):
        assert path.read_text().startswith("apiVersion: kubewhy.io/v1\n"), path


def test_a_configmap_mounted_directory_gives_each_playbook_once(tmp_path: Path) -> None:
    # What the kubelet makes of a ConfigMap volume: the files in a hidden timestamped directory, ``..data`` linking
    # to it, and one link per key at the top (the Helm chart's ``playbooks`` value is mounted like this).
    from kubewhy.playbooks.loader import playbook_files

    data = tmp_path / "..2026_12_04_10_00_00.123456789"
    data.mkdir()
    text = (bundled_dir() / "oom-killed.yaml").read_text().replace("id: oom-killed", "id: team-oom", 1)
    (data / "team-oom.yaml").write_text(text)
    (tmp_path / "..data").symlink_to(data.name)
    (tmp_path / "team-oom.yaml").symlink_to("..data/team-oom.yaml")
    assert playbook_files(tmp_path) == [tmp_path / "team-oom.yaml"]
    catalog = load_dirs([tmp_path])
    assert not catalog.errors and "team-oom" in {p.id for p in catalog.playbooks}
