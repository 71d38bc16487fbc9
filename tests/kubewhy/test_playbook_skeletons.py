"""The skeleton lint over every bundled playbook and the simulator's scenarios (issue 23): no playbook
expression fails when a field of the objects it reads is missing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubesim.scenario import bundled_names, load
from kubewhy.engine.skeletons import Cluster, lint, skeletons
from kubewhy.playbooks.loader import load_dirs


@pytest.fixture(scope="module")
def clusters() -> list[Cluster]:
    out = []
    for name in bundled_names():
        scenario = load(name)
        out.append(Cluster(scenario.objects, scenario.logs, scenario.captured_at, name))
    return out


def test_skeletons_cover_the_first_two_levels_and_containers() -> None:
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "n", "labels": {"a": "b"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]},
        "status": {"phase": "Running"},
    }
    names = [d for d, _ in skeletons(pod)]
    for expected in (
        "as is",
        "without spec",
        "without status",
        "without metadata.labels",
        "without spec.nodeName",
        "with spec.containers: []",
        "without spec.containers[*].image",
        "without spec.containers[*].ports",
        "without status.phase",
    ):
        assert expected in names
    assert not any(d == "without metadata.name" for d in names)
    assert pod["spec"]["containers"][0]["image"] == "i"  # the original is left alone


def test_no_bundled_playbook_fails_on_a_skeleton(clusters: list[Cluster]) -> None:
    catalog = load_dirs([], include_bundled=True)
    problems = asyncio.run(lint(catalog.playbooks, clusters, objects_per_playbook=1))
    assert not problems, "\n".join(str(p) for p in problems[:40])


def test_playbooks_check_runs_the_lint_on_snapshot_files(tmp_path: Path) -> None:
    """A playbook that reads ``c.image`` unguarded fails the lint on a pod whose container has no image."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "image": "alpine"}]},
        "status": {"phase": "Running"},
    }
    (tmp_path / "snap.yaml").write_text(yaml.safe_dump(pod))
    books = tmp_path / "books"
    books.mkdir()
    (books / "image.yaml").write_text(
        "apiVersion: kubewhy.io/v1\nid: image-test\ntitle: t\ndescription: d\napplies_to: [Pod]\nstage: pod\n"
        "severity: info\nsymptom: 'true'\nwhen: target.spec.containers.exists(c, c.image.contains(\"alpine\"))\n"
        "summary: s\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "kubewhy", "playbooks", "check", str(books), "--skeletons", str(tmp_path / "snap.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stderr
    assert "without spec.containers[*].image" in run.stdout
    assert "skeleton lint: " in run.stderr
