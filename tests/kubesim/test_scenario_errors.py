"""Broken scenario files fail to load with the file, the document index and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim import ScenarioError, bundled_names, load, load_paths

POD = """apiVersion: v1
kind: Pod
metadata:
  name: ok
spec:
  containers: [{name: a, image: busybox}]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,doc,line,words",
    [
        (POD + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", 2, 11, "YAML error"),
        (POD + "---\napiVersion: v1\nmetadata:\n  name: x\n", 2, 8, "no kind"),
        (POD + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n", 2, 11, "no metadata.name"),
        (
            POD + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n  - a\n",
            2,
            13,
            "labels must be a mapping",
        ),
        (POD + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    version: 2\n", 2, 13, "quote it"),
        (
            POD + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: nginx\n",
            2,
            13,
            "spec.containers must be a list",
        ),
        (
            "apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\nmetadata: {name: s}\n"
            "timeline:\n- after: soon\n  evict: {name: x}\n",
            1,
            5,
            "not a duration",
        ),
        (POD + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n", 2, 12, "duplicate key 'name'"),
        (
            "apiVersion: kubesim.kubewhy.io/v1\nkind: Scenario\nmetadata: {name: s}\nlogz: {}\n",
            1,
            4,
            "unknown Scenario field",
        ),
    ],
)
def test_error_names_file_document_and_line(tmp_path: Path, text: str, doc: int, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_paths([path])
    message = str(err.value)
    assert str(path) in message
    assert f"document {doc}" in message
    assert f"line {line}" in message, message
    assert words in message


def test_unknown_bundled_scenario_lists_the_bundled_ones() -> None:
    with pytest.raises(ScenarioError) as err:
        load("no-such-scenario")
    assert "bundled:" in str(err.value)


def test_every_bundled_scenario_loads() -> None:
    names = bundled_names()
    assert "healthy" in names and "workshop" in names
    assert len([n for n in names if n.startswith("workshop/")]) >= 10
    for name in names:
        scenario = load(name)
        assert scenario.objects, name
        assert scenario.description, f"{name} has no description"


def test_server_fills_uids_owner_refs_and_event_targets() -> None:
    scenario = load_paths([Path(__file__).parent / "data" / "mini.yaml"])
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in scenario.objects}
    pod_uid = by_name[("Pod", "web-1")]["metadata"]["uid"]
    assert by_name[("Event", "web-1.123")]["involvedObject"]["uid"] == pod_uid
    assert ("Namespace", "jobs") in by_name  # namespaces are created as the API server requires


def test_directory_member_includes_the_shared_base() -> None:
    scenario = load("workshop/q01-app-crash")
    assert [s.rsplit("/", 1)[-1] for s in scenario.sources] == ["_cluster.yaml", "q01-app-crash.yaml"]
    assert any(o["kind"] == "Node" for o in scenario.objects)
