"""Safe expressions for playbooks: CEL (as Kubernetes admission policies use), never ``eval``.

Evaluation uses ``common-expression-language`` (compiled Rust, over plain Python values): a diagnosis evaluates
hundreds of expressions, and an interpreter in Python made that the slowest part of a diagnosis.

Templates are plain strings with ``{{ cel-expression }}`` holes. A string that is exactly one hole yields the
raw value (a list stays a list), so check parameters can pass objects around.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import celrt as cel
from .quantity import parse_quantity

_HOLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# The clock ``since()`` reads: set per diagnosis (a snapshot is judged at its capture time), so compiled
# playbooks can be shared by every diagnosis.
CLOCK: contextvars.ContextVar[Callable[[], datetime]] = contextvars.ContextVar(
    "kubewhy_clock", default=lambda: datetime.now(UTC)
)


class ExpressionError(ValueError):
    pass


# ---- helper functions available in every expression (documented in docs/playbooks.md) ----------------------


def _quantity(value: Any) -> float:
    try:
        return float(parse_quantity(str(value)))
    except (ValueError, TypeError, ArithmeticError):
        return 0.0


def _parse_ts(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _since(ts: Any) -> float:
    """Seconds from a timestamp to now (negative when it lies in the future)."""
    parsed = _parse_ts(ts)
    return (CLOCK.get()() - parsed).total_seconds() if parsed else 0.0


def _human(seconds: Any) -> str:
    s = int(float(seconds))
    sign = "-" if s < 0 else ""
    s = abs(s)
    text = f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h" if s < 172800 else f"{s // 86400}d"
    return sign + text


def _humanbytes(value: Any) -> str:
    n = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(value)


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.0f}%"


def _get(obj: Any, path: Any, default: Any = None) -> Any:
    """``get(obj, "a.b.0.c", default)``: a nested field, or the default when any part is missing."""
    current = obj
    for part in str(path).split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default if default is not None else ""
    return current


def _q(value: Any) -> str:
    """A PromQL string literal: quoted and escaped, so a label value can never change the query."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _join(items: Any, sep: Any = ", ") -> str:
    return str(sep).join(format_value(i) for i in items or [])


def _pick(mapping: Any, keys: Any) -> dict[str, Any]:
    """The entries of a map whose keys are in a list (CEL cannot build maps itself)."""
    wanted = {str(k) for k in keys or []}
    return {k: v for k, v in (mapping or {}).items() if str(k) in wanted}


def _omit(mapping: Any, keys: Any) -> dict[str, Any]:
    unwanted = {str(k) for k in keys or []}
    return {k: v for k, v in (mapping or {}).items() if str(k) not in unwanted}


def _toquantity(value: Any) -> str:
    """Bytes as a Kubernetes quantity (``2Gi``, ``1536Mi``), rounded up to a whole MiB."""
    mib = -(-int(float(value)) // 2**20)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _take(items: Any, n: Any) -> list[Any]:
    return list(items or [])[: int(n)]


def _closest(objects: Any, selector: Any) -> list[Any]:
    """Objects whose labels best match a selector map (exact values first, then similar values such as a typo
    ``webb`` for ``web``); objects sharing no selector key are left out."""

    import difflib  # only here: closest() is rare

    def score(obj: Any) -> float:
        labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
        total = 0.0
        for key, value in (selector or {}).items():
            if key in labels:
                have = str(labels[key])
                total += 1.0 if have == str(value) else difflib.SequenceMatcher(None, have, str(value)).ratio()
        return total

    scored = [(score(o), i, o) for i, o in enumerate(objects or [])]
    return [o for s, _, o in sorted(scored, key=lambda t: (-t[0], t[1])) if s > 0]


def _total(items: Any) -> float:
    """The sum of a list of numbers (CEL has no fold)."""
    return float(sum(float(i) for i in items or []))


def _extract(text: Any, pattern: Any) -> str:
    """The first capture group (or the whole match) of a regular expression in a text, else ``""``."""
    try:
        m = re.search(str(pattern), str(text))
    except re.error:
        return ""
    if not m:
        return ""
    return m.group(1) if m.groups() and m.group(1) is not None else m.group(0)


def _kv(mapping: Any, sep: Any = ",") -> str:
    """``k=v`` pairs of a map, sorted by key (CEL's map iteration order is unspecified, evidence must not be)."""
    return str(sep).join(f"{k}={format_value(v)}" for k, v in sorted((mapping or {}).items()))


def _string(value: Any) -> str:
    """``string(x)`` for the types the pinned runtime's own ``string()`` lacks (it knows int, uint, double and
    string only): bool is ``true``/``false``, null ``""``, a list or map JSON. The runtime tries its built-in
    first, so this is called only for the other types."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(to_py(value), separators=(",", ":"), sort_keys=True, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return format_value(value) if isinstance(value, float) else str(value)


def _sorted(items: Any) -> list[Any]:
    return sorted(items or [], key=lambda v: format_value(v))


# ---- container status helpers: the fragments every crash playbook needs -------------------------------------

# Terminations that are someone else's cause: out of memory, a command that could not start, a lost status.
# An image that could not be pulled is recorded by some runtimes as a termination with the pull's reason.
_NOT_APP_EXITS = {
    "OOMKilled",
    "StartError",
    "ContainerCannotRun",
    "ContainerStatusUnknown",
    "ImagePullBackOff",
    "ErrImagePull",
}
_EXEC_EXIT_CODES = {126, 127}  # the shell's "not executable" and "not found"


def _terminations(status: Any) -> list[dict[str, Any]]:
    """A container status's termination records, the last (previous) one first, then the current one."""
    if not isinstance(status, dict):
        return []
    found = []
    for state in ("lastState", "state"):
        record = (status.get(state) or {}).get("terminated") if isinstance(status.get(state), dict) else None
        if isinstance(record, dict):
            found.append(record)
    return found


def _terminated(status: Any) -> dict[str, Any]:
    """The termination that explains a restart: ``lastState.terminated``, else ``state.terminated``, else ``{}``."""
    found = _terminations(status)
    return found[0] if found else {}


def _crashed(status: Any) -> bool:
    """The container's process exited by itself with an error (not OOMKilled, not a command that could not
    start, exit codes 126/127), in its previous or its current run."""
    return any(
        t.get("exitCode", 0) != 0
        and t.get("reason", "") not in _NOT_APP_EXITS
        and t.get("exitCode") not in _EXEC_EXIT_CODES
        for t in _terminations(status)
    )


def _oomkilled(status: Any) -> bool:
    """The container was killed for running out of memory, in its previous or its current run."""
    return any(t.get("reason") == "OOMKilled" for t in _terminations(status))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "terminations": _terminations,
    "terminated": _terminated,
    "crashed": _crashed,
    "oomkilled": _oomkilled,
    "q": _q,
    "quantity": _quantity,
    "since": _since,
    "human": _human,
    "humanbytes": _humanbytes,
    "pct": _pct,
    "join": _join,
    "lower": lambda v: str(v).lower(),
    "get": _get,
    "take": _take,
    "pick": _pick,
    "omit": _omit,
    "toquantity": _toquantity,
    "total": _total,
    "extract": _extract,
    "closest": _closest,
    "kv": _kv,
    "sorted": _sorted,
    "string": _string,
}


# ---- linear filters ----------------------------------------------------------------------------------------------
#
# The pinned runtime builds a ``filter`` result by list concatenation, copying every kept element (deeply) at each
# step: keeping 115 events took 21 ms, 400 small maps 150–300 ms, while ``exists`` over 400 takes 0.3 ms. So
# ``R.filter(v, P)`` is evaluated as ``kubewhy_keep(R, R.map(v, P))``: ``map`` accumulates booleans, cheap to
# copy, and the kept elements are picked in Python, once each. The rewrite is all or nothing, on the tokens of the
# source (strings included), and only where the receiver is a plain chain (names, calls, indexes, fields); a
# filter over a map (its keys, in no fixed order), or a predicate that is not a boolean, makes ``kubewhy_keep``
# raise, and the expression is then evaluated as written (:meth:`Expr.evaluate`), so results and errors are the
# runtime's own.

_TOKEN = re.compile(
    r"""(?P<str>[rRbB]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))"""
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>[0-9][0-9A-Za-z_.]*)|(?P<space>\s+)"
    r"|(?P<op>[()\[\]{}.,]|[^\w\s()\[\]{}.,'\"]+|.)",
    re.DOTALL,
)
_OPEN = {")": "(", "]": "[", "}": "{"}
_KEEP = "kubewhy_keep"


class _NotRewritten(Exception):
    pass


def _keep(items: Any, flags: Any) -> list[Any]:
    """The elements of a list whose flag is ``true`` (``R.filter(v, P)`` run as ``kubewhy_keep(R, R.map(v, P))``)."""
    if not isinstance(items, list) or not isinstance(flags, list) or len(items) != len(flags):
        raise TypeError("kubewhy_keep: not a list")  # a map's keys: evaluated as written instead
    if not all(f is True or f is False for f in flags):
        raise TypeError("kubewhy_keep: a predicate that is not a boolean")
    return [item for item, flag in zip(items, flags, strict=True) if flag]


def _tokens(source: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) of each token but whitespace."""
    return [
        (m.lastgroup or "op", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(source) if m.lastgroup != "space"
    ]


def _match_open(toks: list[tuple[str, str, int, int]], j: int) -> int:
    """The index of the bracket opening the one that closes at ``j``."""
    depth = 0
    for i in range(j, -1, -1):
        kind, text = toks[i][0], toks[i][1]
        if kind != "op":
            continue
        if text in _OPEN:
            depth += 1
        elif text in "([{":
            depth -= 1
            if depth == 0:
                return i
    raise _NotRewritten


def _match_close(toks: list[tuple[str, str, int, int]], j: int) -> int:
    depth = 0
    for i in range(j, len(toks)):
        kind, text = toks[i][0], toks[i][1]
        if kind != "op":
            continue
        if text in "([{":
            depth += 1
        elif text in _OPEN:
            depth -= 1
            if depth == 0:
                return i
    raise _NotRewritten


def _receiver_start(toks: list[tuple[str, str, int, int]], dot: int) -> int:
    """The first token of the member chain ending just before ``toks[dot]`` (names, calls, indexes, fields)."""
    j = dot - 1
    while j >= 0:
        kind, text = toks[j][0], toks[j][1]
        if kind == "op" and text in _OPEN:
            j = _match_open(toks, j)
            before = toks[j - 1] if j > 0 else None
            if before is not None and (
                (before[0] == "name" and before[1] != "in") or (before[0] == "op" and before[1] in ")]")
            ):
                j -= 1  # a call or an index: its callee or base is part of the chain
                continue
        elif kind in ("name", "str", "num") and text != "in":
            pass
        else:
            raise _NotRewritten
        if j > 0 and toks[j - 1][:2] == ("op", "."):
            j -= 2
            continue
        return j
    raise _NotRewritten


def _linear_filters(source: str) -> str:
    """``source`` with every ``R.filter(v, P)`` written ``kubewhy_keep(R, R.map(v, P))``; raises
    :class:`_NotRewritten` when one of them cannot be."""
    if "filter" not in source:  # most receivers and predicates: nothing to tokenize
        return source
    while True:
        toks = _tokens(source)
        at = [
            i
            for i in range(1, len(toks) - 4)
            if toks[i][:2] == ("name", "filter")
            and toks[i - 1][:2] == ("op", ".")
            and toks[i + 1][:2] == ("op", "(")
            and toks[i + 2][0] == "name"
            and toks[i + 3][:2] == ("op", ",")
        ]
        if not at:
            return source
        i = at[-1]  # the last one: its receiver holds any filter before it in the chain
        start = _receiver_start(toks, i - 1)
        close = _match_close(toks, i + 1)
        receiver = _linear_filters(source[toks[start][2] : toks[i - 1][2]])
        predicate = _linear_filters(source[toks[i + 3][3] : toks[close][2]])
        var = toks[i + 2][1]
        rewritten = f"{_KEEP}({receiver}, ({receiver}).map({var}, {predicate}))"
        source = source[: toks[start][2]] + rewritten + source[toks[close][3] :]


# ---- reading bound values where they are -------------------------------------------------------------------
#
# A helper called from CEL receives its arguments converted back to Python: ``get(target, "a.b", D)`` converted the
# whole pod at each of its calls, and ``kubewhy_keep(events, …)`` the whole list. Where that argument is a variable
# of the activation (or a chain of fields of one), the rewritten program names it instead, in a string, and the
# helper reads the value the activation holds, unconverted: ``get(target, …)`` is run as ``kubewhy_at("target",
# …)`` and ``kubewhy_keep(events.x, …)`` as ``kubewhy_keep_at("events.x", …)``. Anything these cannot read as the
# runtime would (an unbound name, a missing field, a value of another type) raises, and the source is then
# evaluated as written, as for the linear filters.

_AT = "kubewhy_at"
_KEEP_AT = "kubewhy_keep_at"
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_LITERAL_NAMES = frozenset({"true", "false", "null", "in"})
# ``get(name,`` or ``kubewhy_keep(name.a.b,`` (a call, not a method: no dot or name character before it)
_IN_PLACE = re.compile(  # (no dot or name character before it: checked apart, a look-behind slows the search)
    r"(?P<fn>get|kubewhy_keep)\s*\(\s*(?P<name>[A-Za-z_]\w*)(?P<chain>(?:\s*\.\s*[A-Za-z_]\w*)*)\s*,"
)
_STRING = re.compile(r"""'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*\"""")
_COMPREHENSION = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_SPACE = re.compile(r"\s+")


def _native_get(values: dict[str, Any], name: Any, path: Any, default: Any = None) -> Any:
    """``get(values[name], path, default)`` on the value as bound (lists may be tuples there)."""
    current = values[name]
    for part in str(path).split("."):
        if isinstance(current, dict):
            if part in current:
                current = current[part]
                continue
        elif isinstance(current, (list, tuple)):
            if part.isdigit() and int(part) < len(current):
                current = current[int(part)]
                continue
        elif current is not None and not isinstance(current, (str, int, float, bytes)):
            raise TypeError(f"{_AT}: a value of type {type(current).__name__}")  # evaluated as written instead
        return default if default is not None else ""
    return current


def _native_keep(values: dict[str, Any], chain: Any, flags: Any) -> list[Any]:
    """``kubewhy_keep`` of the list at a chain of fields (``name.a.b``) of a bound value."""
    name, *fields = str(chain).split(".")
    items = values[name]
    for part in fields:
        if not isinstance(items, dict) or part not in items:
            raise KeyError(part)  # the runtime's error, from the source as written
        items = items[part]
    if isinstance(items, tuple):
        items = list(items)
    return _keep(items, flags)


def _natives(values: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """The helpers reading ``values`` (one context's bound values) where they are."""
    return {
        _AT: lambda name, path, default=None: _native_get(values, name, path, default),
        _KEEP_AT: lambda chain, flags: _native_keep(values, chain, flags),
    }


def _read_in_place(source: str) -> tuple[str, frozenset[str]]:
    """``source`` with ``get(name, …)`` and ``kubewhy_keep(name.a.b, …)`` over variables of the activation
    rewritten to read them in place (see above), and the names so read. Found with regular expressions, not by
    tokenizing (which cost as much as the conversions saved): a match inside a string literal is left alone, and
    so is a name that is a comprehension variable anywhere in the source (over-approximated: also in strings)."""
    calls = [
        m
        for m in _IN_PLACE.finditer(source)
        if m.group("name") not in _LITERAL_NAMES
        and not (m.start() and (source[m.start() - 1].isalnum() or source[m.start() - 1] in "._"))
    ]
    if not calls:
        return source, frozenset()
    strings = [(m.start(), m.end()) for m in _STRING.finditer(source)]
    local = set(_COMPREHENSION.findall(source))
    edits: list[tuple[int, int, str]] = []
    read: set[str] = set()
    for m in calls:
        name, chain = m.group("name"), _SPACE.sub("", m.group("chain"))
        if name in local or any(a <= m.start() < b for a, b in strings):
            continue
        if m.group("fn") == "get":
            if chain:
                continue  # get(name.field, …): not matched (the chain is kubewhy_keep's receiver only)
            edits.append((m.start(), m.end("chain"), f'{_AT}("{name}"'))
        else:
            edits.append((m.start(), m.end("chain"), f'{_KEEP_AT}("{name}{chain}"'))
        read.add(name)
    for start, end, text in reversed(edits):
        source = source[:start] + text + source[end:]
    return source, frozenset(read)


# ---- compiled expressions and templates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A compiled expression. ``program`` None means "compile on first use": playbooks read from the compile
    cache (:mod:`kubewhy.playbooks.cache`) were compiled and checked when the cache entry was written, and a
    diagnosis evaluates only a few of their expressions, so each is compiled when it is first evaluated."""

    source: str
    program: Any = field(default=None, compare=False)
    names: frozenset[str] = field(default=frozenset(), compare=False)  # the variables the expression refers to
    functions: tuple[str, ...] = field(default=(), compare=False)  # the helpers of FUNCTIONS it calls
    # ``program`` runs the source with its filters made linear (see ``_linear_filters``), or reads some variables
    # in place (``_read_in_place``): on an error the source is run as written, whose result or error counts
    rewritten: bool = field(default=False, compare=False)
    # the variables ``program`` reads in CEL, converted into its context (``names`` less those read in place only)
    converted: frozenset[str] = field(default=frozenset(), compare=False)

    def _compiled(self) -> Any:
        program = self.program
        if program is None:
            compiled = Compiler().compile(self.source)
            program = compiled.program
            object.__setattr__(self, "program", program)
            object.__setattr__(self, "names", compiled.names)
            object.__setattr__(self, "functions", compiled.functions)
            object.__setattr__(self, "rewritten", compiled.rewritten)
            object.__setattr__(self, "converted", compiled.converted)
        return program

    def _as_written(self) -> Any:
        """The source compiled as written (for a rewritten program that ran into an error)."""
        original = _AS_WRITTEN.get(self.source)
        if original is None:
            original = _AS_WRITTEN[self.source] = cel.compile(self.source)
        return original

    def evaluate(self, activation: dict[str, Any]) -> Any:
        program = self._compiled()
        bindings = activation if isinstance(activation, Bindings) else None
        context = bindings.context(self) if bindings is not None else _context(self, activation, self.converted)
        try:
            return program.execute(context)
        except Exception as exc:  # noqa: BLE001  (the library raises KeyError, TypeError, IndexError, ValueError ...)
            if not self.rewritten:
                raise ExpressionError(f"{self.source.strip()!r}: {_message(exc)}") from None
        if self.converted != self.names:  # the source as written reads in CEL what the rewrite read in place
            context = bindings.context(self, whole=True) if bindings is not None else _context(self, activation)
        try:
            return self._as_written().execute(context)
        except Exception as exc:  # noqa: BLE001
            raise ExpressionError(f"{self.source.strip()!r}: {_message(exc)}") from None


_UNBOUND = object()
_AS_WRITTEN: dict[str, Any] = {}  # source → compiled as written, for the rewritten programs that fell back


def _context(expr: Expr, activation: dict[str, Any], converted: frozenset[str] | None = None) -> Any:
    """A context for one evaluation of ``expr`` (no :class:`Contexts`): only what it reads is converted to CEL,
    facts can be large (a node's pods, events)."""
    context = cel.Context()
    if expr.rewritten:  # every helper: the source as written may call one the rewrite no longer does (``get``)
        context.update(FUNCTIONS)
        context.add_function(_KEEP, _keep)
        context.update(_natives({n: activation[n] for n in expr.names if n in activation}))
    else:
        for fn in expr.functions:
            context.add_function(fn, FUNCTIONS[fn])
    for name in expr.names if converted is None else converted:
        if name in activation:
            context.add_variable(name, activation[name])
    return context


class Contexts:
    """CEL contexts kept for the expressions of one diagnosis, one per set of values they read.

    Converting a value to CEL (``Context.add_variable``) costs about 0.1 µs a byte of its JSON (27 ms for 200
    pods) and, once a context has run, changing it rebuilds its environment, copying every value in it. So a
    context is never changed after it is built: the expressions that read the same values (the same names bound
    to the same objects) share one, and each other set gets its own. Values are never mutated in place during a
    diagnosis (facts and objects are shared between playbooks), which is what makes object identity a sound
    key; the values are kept referenced here, so an identity cannot be reused while its context lives."""

    __slots__ = ("_built",)

    def __init__(self) -> None:
        self._built: dict[tuple[tuple[str, int, bool], ...], tuple[Any, tuple[Any, ...]]] = {}

    def get(self, expr: Expr, activation: dict[str, Any], whole: bool = False) -> Any:
        """The context for ``expr``: its variables bound, those it reads in CEL converted (all, ``whole``)."""
        names = [name for name in expr.names if name in activation]
        names.sort()
        values = tuple(activation[name] for name in names)
        converted = expr.names if whole else expr.converted
        key = tuple((name, id(value), name in converted) for name, value in zip(names, values, strict=True))
        built = self._built.get(key)
        if built is None:
            context = cel.Context()
            context.update(FUNCTIONS)
            context.add_function(_KEEP, _keep)
            context.update(_natives(dict(zip(names, values, strict=True))))
            for name, value in zip(names, values, strict=True):
                if name in converted:
                    context.add_variable(name, value)
            built = self._built[key] = (context, values)
        return built[0]

    def __len__(self) -> int:
        """How many contexts were built."""
        return len(self._built)


class Bindings(dict[str, Any]):
    """An activation whose expressions take their CEL context from a :class:`Contexts` (one per diagnosis, shared
    by every playbook), instead of converting what they read again at each evaluation."""

    __slots__ = ("contexts",)

    def __init__(self, values: dict[str, Any], contexts: Contexts) -> None:
        super().__init__(values)
        self.contexts = contexts

    def context(self, expr: Expr, whole: bool = False) -> Any:
        return self.contexts.get(expr, self, whole)

    def with_(self, name: str, value: Any) -> Bindings:
        """A copy with one more entry (an ``each`` element), sharing the contexts."""
        return Bindings({**self, name: value}, self.contexts)


def _message(exc: BaseException) -> str:
    text = str(exc).strip("'\"")
    if isinstance(exc, KeyError):
        text = f"no such key: {text}"
    return text.split("\n")[0][:300]


_COMPILED: dict[str, Expr] = {}  # source → compiled: playbooks repeat fragments (``c.name``, the target's name)
_COMPILED_MAX = 8192


class Compiler:
    """Compiles CEL once (at playbook load, or at first evaluation); the same source only once per process."""

    def compile(self, source: str) -> Expr:
        done = _COMPILED.get(source)
        if done is not None:
            return done
        program, rewritten, in_place = None, False, frozenset[str]()
        if "filter" in source or "get" in source:  # (``get(`` or ``target``: _read_in_place looks closer)
            try:
                rewrite, in_place = _read_in_place(_linear_filters(source))
                if rewrite != source:
                    # the source as written is compiled only if this runs into an error (Expr.evaluate)
                    program, rewritten = cel.compile(rewrite), True
            except Exception:  # noqa: BLE001  (a receiver it cannot delimit, or a rewrite the parser refuses)
                program, rewritten, in_place = None, False, frozenset()
        if program is None:
            try:
                program = cel.compile(source)
            except Exception as exc:  # noqa: BLE001  (the library's parse errors have no common class)
                detail = str(exc).split("ERROR: <input>:", 1)[-1].split("\n")[0]
                raise ExpressionError(f"invalid CEL {source.strip()!r}: {detail}") from None
        refs = program.variables() if callable(program.variables) else program.variables
        calls = program.functions() if callable(program.functions) else program.functions
        functions = tuple(sorted(set(calls or ()) & FUNCTIONS.keys()))
        converted = frozenset(refs or ())
        done = Expr(source, program, converted | in_place, functions, rewritten, converted)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[source] = done
        return done


@dataclass(frozen=True)
class Template:
    """A string with ``{{ cel }}`` holes. Built from source alone (``compile_template(None, …)``, the compile
    cache's way), it is split into its parts when first rendered: a diagnosis renders the templates of the few
    playbooks that fire, and splitting the catalogue's 900 at every start took a fifth of its load."""

    source: str
    split: tuple[str | Expr, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def parts(self) -> tuple[str | Expr, ...]:
        parts = self.split
        if parts is None:
            parts = _split(None, self.source)
            object.__setattr__(self, "split", parts)
        return parts

    @property
    def is_single(self) -> bool:
        parts = self.parts
        return len(parts) == 1 and isinstance(parts[0], Expr)

    def render(self, activation: dict[str, Any]) -> Any:
        if self.is_single:
            return self.parts[0].evaluate(activation)  # type: ignore[union-attr]
        return "".join(p if isinstance(p, str) else format_value(p.evaluate(activation)) for p in self.parts)

    def render_text(self, activation: dict[str, Any]) -> str:
        if self.is_single:
            return format_value(self.render(activation))
        return str(self.render(activation))


def compile_template(compiler: Compiler | None, source: str) -> Template:
    """``compiler`` None: the template is split, and its holes compiled, on first use (see :class:`Expr`)."""
    return Template(source) if compiler is None else Template(source, _split(compiler, source))


def _split(compiler: Compiler | None, source: str) -> tuple[str | Expr, ...]:
    parts: list[str | Expr] = []
    pos = 0
    for m in _HOLE.finditer(source):
        if m.start() > pos:
            parts.append(source[pos : m.start()])
        parts.append(compiler.compile(m.group(1)) if compiler is not None else Expr(m.group(1)))
        pos = m.end()
    if pos < len(source):
        parts.append(source[pos:])
    return tuple(parts)


def has_holes(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def to_cel(value: Any) -> Any:
    """Facts are handed to CEL as plain Python values (kept for callers written for a converting engine)."""
    return value


def to_py(value: Any) -> Any:
    if isinstance(value, tuple):
        return [to_py(v) for v in value]
    return value


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        # sorted: the CEL runtime hands maps back in no fixed order (a new order at each evaluation), and the
        # same evidence must read the same every time
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return "" if value is None else str(value)


def truthy(value: Any) -> bool:
    return bool(value)
