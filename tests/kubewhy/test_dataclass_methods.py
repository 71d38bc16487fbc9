"""The ``why`` entry points keep the code of the methods ``dataclasses`` generates (``kubewhy.cli``), as a ``.pyc``
keeps a module's: a second process reads it instead of parsing the same text again, and the classes behave the
same either way. Each run is a fresh interpreter with its own bytecode directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, sys
import kubewhy.cli as cli
cli._compiled_dataclass_methods()
import dataclasses
from dataclasses import dataclass, field

@dataclass(frozen=True, order=True)
class Point:
    x: int
    y: int = 2
    tags: tuple[str, ...] = ()

@dataclass
class Box:
    items: list[int] = field(default_factory=list)
    label: "str" = "box"

    def __post_init__(self) -> None:
        self.items = sorted(self.items)

p, q = Point(1), Point(1, 3, ("a",))
b = Box([3, 1])
try:
    p.x = 5
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
print(json.dumps({
    "repr": [repr(p), repr(q), repr(b)],
    "eq": [p == Point(1, 2), p < q, hash(p) == hash(Point(1))],
    "frozen": frozen,
    "box": [b.items, b.label, Box() == Box([])],
    "annotations": {k: str(v) for k, v in Point.__init__.__annotations__.items()},
    "installed": "exec" in vars(dataclasses),
}))
"""


def _run(tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _plain() -> dict[str, object]:
    """The same probe without the kept methods."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.replace("cli._compiled_dataclass_methods()", "")],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_kept_methods_behave_as_generated(tmp_path: Path) -> None:
    first = _run(tmp_path)  # compiles and writes the file
    kept = list((tmp_path / "pycache").rglob("_dataclass_methods.*"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    second = _run(tmp_path)  # reads it
    plain = _plain()
    assert first["installed"] is True and second["installed"] is True and plain["installed"] is False
    for result in (first, second):
        assert {k: v for k, v in result.items() if k != "installed"} == {
            k: v for k, v in plain.items() if k != "installed"
        }


def test_a_damaged_file_is_parsed_again(tmp_path: Path) -> None:
    _run(tmp_path)
    (kept,) = list((tmp_path / "pycache").rglob("_dataclass_methods.*"))
    kept.write_bytes(kept.read_bytes()[:40])
    assert _run(tmp_path)["frozen"] is True
    kept.write_bytes(b"not marshal data")
    assert _run(tmp_path)["eq"] == [True, True, True]
