"""The playbook compile cache: a warm load gives exactly the catalogue a fresh parse gives, and no cache state
(changed file, corrupt or foreign entry, another registry, an unwritable directory) can give a different one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubewhy import compose
from kubewhy.checks import Param, check, default_registry
from kubewhy.playbooks import loader
from kubewhy.playbooks.loader import Catalog, load_dirs
from kubewhy.settings import load

GOOD = """apiVersion: kubewhy.io/v1
id: custom-thing
title: A custom cause
applies_to: [Pod]
stage: pod
severity: warning
symptom: target.metadata.name.startsWith("web")
checks:
  - id: ev
    use: events
    with: {of: "{{ target }}", reason: "BackOff"}
when: 'size(ev) > 0 && {"a": 1}["a"] == 1'
summary: "custom for {{ target.metadata.name }}"
evidence:
  - "{{ size(ev) }} events"
  - each: ev
    as: e
    text: "{{ e.message }}"
fixes:
  - title: "Restart {{ target.metadata.name }}"
    command: "kubectl delete pod {{ target.metadata.name }}"
    risk: low
    when: "true"
    patch: {target: "pod/{{ target.metadata.name }}", type: merge, body: {"$t": "x", spec: ["{{ 1 + 1 }}", 2.5]}}
"""


def signature(catalog: Catalog) -> list[tuple[Any, ...]]:
    return [(p, p.source) for p in catalog.playbooks]


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    parsed: list[Path] = []
    real = loader._parse

    def spy(path: Path, *args: Any) -> Any:
        parsed.append(path)
        return real(path, *args)

    monkeypatch.setattr(loader, "_parse", spy)
    return parsed


def test_a_warm_load_equals_a_fresh_parse_and_parses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "custom.yaml").write_text(GOOD)
    fresh = load_dirs([tmp_path / "mine"])
    assert not fresh.errors and len(fresh.playbooks) > 40
    cold = load_dirs([tmp_path / "mine"], cache_dir=tmp_path / "cache")
    parsed = no_parsing(monkeypatch)
    warm = load_dirs([tmp_path / "mine"], cache_dir=tmp_path / "cache")
    assert parsed == []
    assert signature(warm) == signature(cold) == signature(fresh)  # Expr and Template compare by source
    # and the lazily compiled expressions evaluate as the eagerly compiled ones do
    a, b = fresh.by_id("custom-thing"), warm.by_id("custom-thing")
    assert a is not None and b is not None
    target = {"metadata": {"name": "web-1"}}
    assert b.symptom.program is None
    assert b.symptom.evaluate({"target": target}) is a.symptom.evaluate({"target": target}) is True
    assert b.summary.render_text({"target": target}) == a.summary.render_text({"target": target}) == "custom for web-1"
    assert b.checks[0].definition is not None and b.checks[0].definition.name == "events"


def test_a_changed_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(GOOD)
    load_dirs([tmp_path], include_bundled=False, cache_dir=tmp_path / "cache")
    path.write_text(GOOD.replace("A custom cause", "Another cause"))
    parsed = no_parsing(monkeypatch)
    catalog = load_dirs([tmp_path], include_bundled=False, cache_dir=tmp_path / "cache")
    assert parsed == [path]
    assert [p.title for p in catalog.playbooks] == ["Another cause"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other-key", "unknown-check", "empty"])
def test_a_corrupt_entry_falls_back_to_parsing(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(GOOD)
    cache = tmp_path / "cache"
    fresh = load_dirs([tmp_path], include_bundled=False)
    load_dirs([tmp_path], include_bundled=False, cache_dir=cache)
    [entry] = list((cache / "playbooks").glob("*.json"))
    text = entry.read_text()
    data = json.loads(text)
    if damage == "garbage":
        entry.write_bytes(b"\x00\xffnot json")
    elif damage == "truncated":
        entry.write_text(text[: len(text) // 2])
    elif damage == "other-key":
        data["key"] = "0" * 64
        entry.write_text(json.dumps(data))
    elif damage == "unknown-check":
        data["playbooks"][0]["checks"][0][1] = "teleport"
        entry.write_text(json.dumps(data))
    else:
        entry.write_text("")
    again = load_dirs([tmp_path], include_bundled=False, cache_dir=cache)
    assert signature(again) == signature(fresh) and not again.errors
    assert json.loads(entry.read_text()) == json.loads(text)  # rewritten from the parse


def test_broken_playbooks_keep_their_file_and_line_errors_and_are_never_cached(tmp_path: Path) -> None:
    good = tmp_path / "a-good.yaml"
    good.write_text(GOOD)
    bad = tmp_path / "b-bad.yaml"
    bad.write_text(GOOD.replace("custom-thing", "other-thing").replace("use: events", "use: teleport"))
    cache = tmp_path / "cache"
    first = load_dirs([tmp_path], include_bundled=False, cache_dir=cache)
    second = load_dirs([tmp_path], include_bundled=False, cache_dir=cache)
    for catalog in (first, second):
        assert [p.id for p in catalog.playbooks] == ["custom-thing"]
        assert [e.location for e in catalog.errors] == [f"{bad}:10"]
        assert "unknown check 'teleport'" in catalog.errors[0].detail
    assert len(list((cache / "playbooks").glob("*.json"))) == 1  # only the good file


def test_another_registry_never_reuses_an_entry(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        GOOD.replace('use: events\n    with: {of: "{{ target }}", reason: "BackOff"}', "use: mine\n    with: {n: 3}")
    )
    cache = tmp_path / "cache"
    registry = default_registry()

    @check("mine", registry=registry, params={"n": Param("int")})
    async def mine(ctx: Any, n: int) -> list[Any]:
        return []

    with_mine = load_dirs([tmp_path], include_bundled=False, cache_dir=cache, registry=registry)
    assert [p.id for p in with_mine.playbooks] == ["custom-thing"] and not with_mine.errors
    assert with_mine.playbooks[0].checks[0].definition is registry.get("mine")
    without = load_dirs([tmp_path], include_bundled=False, cache_dir=cache)
    assert not without.playbooks and "unknown check 'mine'" in without.errors[0].detail


def test_an_unwritable_cache_directory_only_means_parsing(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(GOOD)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    catalog = load_dirs([tmp_path], include_bundled=False, cache_dir=blocker)
    assert [p.id for p in catalog.playbooks] == ["custom-thing"] and not catalog.errors


def test_the_cache_directory_comes_from_the_settings(tmp_path: Path) -> None:
    settings = load({"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")})
    assert settings.cache_dir == tmp_path / "xdg" / "kubewhy"
    assert load({"HOME": str(tmp_path / "home")}).cache_dir == tmp_path / "home" / ".cache" / "kubewhy"
    catalog = compose.build_catalog(settings, [])
    assert len(list((tmp_path / "xdg" / "kubewhy" / "playbooks").glob("*.json"))) == len(
        {p.source for p in catalog.playbooks}
    )


def test_the_cache_format_carries_every_field_of_a_compiled_playbook() -> None:
    """A field added to Playbook and forgotten by the cache's codec would be silently lost on a warm run."""
    import dataclasses

    from kubewhy.models.playbook import Playbook
    from kubewhy.playbooks import cache

    catalog = load_dirs([])
    for pb in catalog.playbooks:
        encoded = cache._encode(pb)
        assert set(encoded) | {"source"} == {f.name for f in dataclasses.fields(Playbook)}, pb.id
    severe = next(p for p in catalog.playbooks if p.severity_if)
    assert cache._decode(cache._encode(severe), severe.source, default_registry()) == severe
