"""CEL programs that kubewhy rewrites before compiling give the runtime's own results and errors.

``R.filter(v, P)`` is compiled as ``kubewhy_keep(R, R.map(v, P))`` (the runtime's filter is quadratic in what it
keeps), ``get(name, …)`` over a variable of the activation as ``kubewhy_at("name", …)`` and a filter over a chain
of fields of one as ``kubewhy_keep_at("name.a.b", …)`` (reading the bound value where it is, not a converted
copy). Any error of the rewritten program runs the source as written. Each case here is evaluated both ways: as
kubewhy evaluates it (with a plain activation and with a diagnosis's shared contexts) and by the runtime on the
source as written, with the same helpers.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubewhy import celrt as cel
from kubewhy.expressions import (
    FUNCTIONS,
    Bindings,
    Compiler,
    Contexts,
    Expr,
    ExpressionError,
    _linear_filters,
    _message,
    _read_in_place,
)

EVENTS = [
    {"reason": "BackOff", "message": "Back-off restarting", "count": 3},
    {"reason": "Pulled", "message": "pulled image", "count": 1},
    {"reason": "BackOff", "message": "Back-off again", "count": 7},
    {"reason": "Killing", "message": "filter(x, y) in a message", "count": 1},
]
POD = {
    "metadata": {"name": "web-1", "labels": {"app": "web", "tier": "front"}},
    "spec": {"containers": [{"name": "app", "image": "web:1"}, {"name": "side", "image": "proxy:2"}]},
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {"name": "app", "ready": False, "restartCount": 4, "lastState": {"terminated": {"exitCode": 137}}},
            {"name": "side", "ready": True, "restartCount": 0},
        ],
    },
}
ACTIVATION: dict[str, Any] = {
    "events": EVENTS,
    "target": POD,
    "pods": [POD, {**POD, "metadata": {"name": "web-2", "labels": {"app": "web"}}}],
    "labels": {"app": "web", "tier": "front", "team": "a"},
    "nums": [3, 1, 4, 1, 5, 9, 2, 6],
    "nested": [[1, 2, 3], [4, 5], [], [6]],
    "tup": (10, 20, 30),  # facts may hold tuples: the runtime reads them as lists
    "empty": [],
    "none": None,
    "word": "filter(",
}

# (source, rewritten: the program compiled is not the source as written)
RESULTS = [
    # filters over lists
    ('events.filter(e, e.reason == "BackOff")', True),
    ('size(events.filter(e, e.reason == "BackOff"))', True),
    ('take(events.filter(e, e.reason == "BackOff"), 1)', True),
    ('events.filter(e, e.reason == "BackOff").map(e, e.count)', True),
    ("nums.filter(n, n > 2)", True),
    ("nums.filter(n, n > 100)", True),
    ("empty.filter(n, n > 1)", True),
    ("tup.filter(n, n > 15)", True),
    ("[1, 2, 3].filter(n, n != 2)", True),
    ("target.status.containerStatuses.filter(s, !s.ready)", True),
    ("target.status.containerStatuses.filter(s, !s.ready).map(s, s.name)", True),
    ("pods.filter(p, p.metadata.name == 'web-2')[0].metadata.name", True),
    ("events.filter(e, e.count > 1).filter(e, e.reason == 'BackOff')", True),
    # nested filters: in the predicate, and as the receiver of a map
    ("nested.filter(l, l.filter(n, n > 2).size() > 0)", True),
    ("nested.map(l, l.filter(n, n % 2 == 0))", True),
    ("pods.filter(p, p.status.containerStatuses.filter(s, s.restartCount > 0).size() > 0).size()", True),
    # strings that look like filters or get calls are left as they are
    ('events.filter(e, e.message.contains("filter(x, y)"))', True),
    ("'a.filter(b, c)' + 'get(target, \"x\")'", False),
    ("word + 'x'", False),
    ('events.filter(e, e.message == "filter(")', True),
    # a filter over a map iterates its keys: evaluated as written
    ("labels.filter(k, k != 'team').size()", True),
    ("labels.filter(k, k == 'app')", True),
    # get over variables of the activation, read in place
    ('get(target, "metadata.labels.app")', True),
    ('get(target, "status.containerStatuses.0.lastState.terminated.exitCode", -1)', True),
    ('get(target, "status.nothing.here", "none")', True),
    ('get(target, "spec.containers.5.name")', True),
    ('get(tup, "1")', True),
    ('get(none, "a.b", 2)', True),
    ('get(word, "x")', True),
    ('get(target, "metadata")', True),
    # get over comprehension variables or fields: not rewritten
    ('pods.map(p, get(p, "metadata.name"))', False),
    ('pods.exists(target, get(target, "metadata.name") == "web-2")', False),
    ('get(target.metadata, "name")', False),
]

ERRORS = [
    "missing.filter(e, true)",  # an unbound variable
    "target.nothing.filter(e, true)",  # a missing field
    "nums.filter(n, n)",  # a predicate that is not a boolean
    "nums.filter(n, n / 0 > 1)",  # an error in the predicate
    "none.filter(n, true)",
    "target.metadata.name.filter(c, true)",  # not a list
    'get(missing, "a")',
    'get(target, "metadata.name") + 1',
    "events.filter(e, e.nothing == 1)",
]


def _runtime(source: str, activation: dict[str, Any]) -> tuple[str, Any]:
    """The source as written, on the runtime alone (every value converted)."""
    context = cel.Context()
    context.update(FUNCTIONS)
    for name, value in activation.items():
        context.add_variable(name, value)
    try:
        return "ok", cel.compile(source).execute(context)
    except Exception as exc:  # noqa: BLE001  (the runtime's errors have no common class)
        return "error", f"{source.strip()!r}: {_message(exc)}"


def _ours(source: str, activation: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", Compiler().compile(source).evaluate(activation)
    except ExpressionError as exc:
        return "error", str(exc)


def _activations() -> list[dict[str, Any]]:
    return [dict(ACTIVATION), Bindings(dict(ACTIVATION), Contexts())]


@pytest.mark.parametrize(("source", "rewritten"), RESULTS)
def test_results_are_the_runtimes(source: str, rewritten: bool) -> None:
    expected = _runtime(source, ACTIVATION)
    assert expected[0] == "ok", expected
    assert Compiler().compile(source).rewritten is rewritten
    for activation in _activations():
        assert _ours(source, activation) == expected


@pytest.mark.parametrize("source", ERRORS)
def test_errors_are_the_runtimes(source: str) -> None:
    expected = _runtime(source, ACTIVATION)
    assert expected[0] == "error", expected
    for activation in _activations():
        assert _ours(source, activation) == expected


def test_shared_contexts_agree_whatever_the_order() -> None:
    """One diagnosis's contexts serve rewritten and as-written programs over the same values."""
    sources = [s for s, _ in RESULTS] + ERRORS
    alone = [_ours(s, dict(ACTIVATION)) for s in sources]
    shared = Bindings(dict(ACTIVATION), Contexts())
    assert [_ours(s, shared) for s in sources] == alone
    assert [_ours(s, shared) for s in reversed(sources)] == list(reversed(alone))


def test_the_rewrite_itself() -> None:
    assert _linear_filters('events.filter(e, e.reason == "x")') == (
        'kubewhy_keep(events, (events).map(e,  e.reason == "x"))'
    )
    assert _linear_filters("a.b(1).filter(x, x.filter(y, y > 1).size() > 0)") == (
        "kubewhy_keep(a.b(1), (a.b(1)).map(x,  kubewhy_keep(x, (x).map(y,  y > 1)).size() > 0))"
    )
    assert _linear_filters("'x.filter(a, b)'") == "'x.filter(a, b)'"
    assert _read_in_place('get(target, "a") + get(c, "b")') == (
        'kubewhy_at("target", "a") + kubewhy_at("c", "b")',
        frozenset({"target", "c"}),
    )
    assert _read_in_place("kubewhy_keep(target.spec.x, (target.spec.x).map(v, v))") == (
        'kubewhy_keep_at("target.spec.x", (target.spec.x).map(v, v))',
        frozenset({"target"}),
    )
    # a comprehension variable, a method, a literal, a string: left alone
    for source in ('l.all(c, get(c, "x"))', 'm.get(target, "x")', 'get(null, "x")', '"get(target, 1)"'):
        assert _read_in_place(source) == (source, frozenset())


def test_values_of_other_types_are_read_as_written() -> None:
    """A value get() cannot walk in place (not a map, list or scalar) makes the source run as written."""

    class Odd:
        pass

    source = 'get(target, "a.b", "d")'
    for activation in ({"target": {"a": Odd()}}, Bindings({"target": {"a": Odd()}}, Contexts())):
        with pytest.raises((ExpressionError, Exception)):
            Compiler().compile(source).evaluate(activation)


def test_rewritten_programs_run_without_falling_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the rewritten program can answer (a list, values of the usual types), the source as written is not
    run: the fast path is the one taken."""

    def as_written(self: Expr) -> Any:
        raise AssertionError(f"fell back: {self.source}")

    monkeypatch.setattr(Expr, "_as_written", as_written)
    for source, rewritten in RESULTS:
        if rewritten and "labels.filter" not in source:  # a map's keys fall back by design
            for activation in _activations():
                assert _ours(source, activation)[0] == "ok"
