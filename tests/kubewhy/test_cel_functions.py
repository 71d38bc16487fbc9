"""Every function a bundled playbook calls is callable in the pinned CEL runtime for the argument types it can
meet (issue 23): the runtime's own ``string()`` knows int, uint, double and string only, so a ``string(c.ready)``
failed with "Undefined variable or function: 'string'" and left a diagnosis incomplete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubewhy.expressions import FUNCTIONS, Compiler, ExpressionError
from kubewhy.playbooks.loader import bundled_dir, playbook_files

_HOLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_CALL = re.compile(r"(\.?)\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_RAW_KEYS = {"symptom", "when", "expression", "each"}  # fields that hold a bare expression, not a template

# One value of every CEL type an expression can meet in Kubernetes objects and facts.
SAMPLES: dict[str, Any] = {
    "bool": True,
    "int": -3,
    "uint": "3u",  # a literal: Python ints reach CEL as int
    "double": 2.5,
    "string": "x",
    "null": None,
    "list": [1, "a"],
    "map": {"a": 1},
}

# Built-in functions and macros: the argument types each one is meant for (calling size() on a bool is a
# playbook bug the skeleton lint finds, not a missing function).
BUILTINS: dict[str, list[str]] = {
    "size": ["size('ab')", "size([1])", "size({'a': 1})"],
    "int": ["int(2.5)", "int('3')", "int(3u)", "int(-1)"],
    "uint": ["uint(3)", "uint(2.5)"],
    "double": ["double(3)", "double('2.5')", "double(3u)", "double(2.5)"],
    "has": ["has(m.a)", "has(m.b)"],
    "exists": ["[1].exists(v, v > 0)"],
    "exists_one": ["[1].exists_one(v, v > 0)"],
    "all": ["[1].all(v, v > 0)"],
    "map": ["[1].map(v, v + 1)"],
    "filter": ["[1].filter(v, v > 0)"],
    "contains": ["'abc'.contains('b')"],
    "startsWith": ["'abc'.startsWith('a')"],
    "endsWith": ["'abc'.endsWith('c')"],
    "matches": ["'abc'.matches('^a')"],
    "type": ["type(1)"],
    "duration": ["duration('1s')"],
    "timestamp": ["timestamp('2024-01-01T00:00:00Z')"],
}
# kubewhy's helpers: typical arguments (each helper must also accept null or missing pieces where it says so).
HELPERS: dict[str, list[str]] = {
    "terminations": ["terminations(m)", "terminations(null)"],
    "terminated": ["terminated(m)", "terminated(null)"],
    "crashed": ["crashed(m)", "crashed(null)"],
    "oomkilled": ["oomkilled(m)", "oomkilled(null)"],
    "q": ["q('a\"b')", "q(1)", "q(true)"],
    "quantity": ["quantity('1Gi')", "quantity(2)", "quantity(2.5)", "quantity(null)", "quantity('')"],
    "since": ["since('2024-01-01T00:00:00+00:00')", "since('')", "since(null)"],
    "human": ["human(90)", "human(90.5)", "human(-5)"],
    "humanbytes": ["humanbytes(2048)", "humanbytes(2048.0)"],
    "pct": ["pct(0.5)", "pct(1)"],
    "join": ["join(['a', 1, true], ',')", "join([])", "join(null)"],
    "lower": ["lower('A')", "lower(true)", "lower(null)"],
    "get": ["get(m, 'a', 0)", "get(m, 'x.y', [])", "get(null, 'a', '')", "get([1], '0', 0)"],
    "take": ["take([1, 2], 1)", "take(null, 1)"],
    "pick": ["pick(m, ['a'])", "pick(null, [])"],
    "omit": ["omit(m, ['a'])", "omit(null, [])"],
    "toquantity": ["toquantity(1073741824)", "toquantity(1.5)"],
    "total": ["total([1, 2.5])", "total([])", "total(null)"],
    "extract": ["extract('a=1', 'a=(\\\\d)')", "extract(null, 'x')"],
    "closest": ["closest([{'metadata': {'labels': {'a': 'b'}}}], {'a': 'b'})", "closest(null, null)"],
    "kv": ["kv(m)", "kv(null)"],
    "sorted": ["sorted(['b', 'a', 1])", "sorted(null)"],
}


def _expressions(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _expressions(v, str(k))]
    if isinstance(value, list):
        return [e for v in value for e in _expressions(v, key)]
    if not isinstance(value, str):
        return []
    if key in _RAW_KEYS and "{{" not in value:
        return [value]
    return [m.group(1) for m in _HOLE.finditer(value)]


def called_functions(paths: list[Path]) -> dict[str, str]:
    """Every function (or macro, or method) name called in the playbooks' expressions: name -> first file."""
    found: dict[str, str] = {}
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            for source in _expressions(doc):
                for m in _CALL.finditer(_STRING.sub('""', source)):
                    found.setdefault(m.group(2), path.name)
    return found


def _run(source: str) -> Any:
    return Compiler().compile(source).evaluate({"m": {"a": 1, "lastState": {"terminated": {"exitCode": 1}}}})


CALLED = called_functions(playbook_files(bundled_dir()))


def test_the_playbooks_call_functions() -> None:
    assert {"string", "get", "has", "size"} <= set(CALLED)


@pytest.mark.parametrize("name", sorted(CALLED))
def test_every_called_function_is_known_and_callable(name: str) -> None:
    if name == "string":
        return  # every type: the next test
    calls = BUILTINS.get(name) or HELPERS.get(name)
    assert calls, f"{name}() (first in {CALLED[name]}) is neither a CEL built-in listed here nor a kubewhy helper"
    if name in HELPERS:
        assert name in FUNCTIONS
    for call in calls:
        try:
            _run(call)
        except ExpressionError as exc:
            pytest.fail(f"{call} fails in the pinned runtime: {exc}")


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_string_takes_every_type(kind: str) -> None:
    value = SAMPLES[kind]
    if kind == "uint":
        result = _run("string(3u)")
    else:
        result = Compiler().compile("string(v)").evaluate({"v": value})
        literal = Compiler().compile("string(m)").evaluate({"m": value})
        assert literal == result
    assert isinstance(result, str)


def test_string_renders_like_templates() -> None:
    assert _run("string(true) + '/' + string(false)") == "true/false"
    assert _run("string(null)") == ""
    assert _run("string(3) + string(2.5) + string('s')") == "32.5s"
    assert _run("string([1, true])") == "[1,true]"
    assert _run("string({'b': 1, 'a': null})") == '{"a":null,"b":1}'
    assert _run("string(m.a == 1)") == "true"
