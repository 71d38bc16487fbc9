"""Safe expressions for playbooks: CEL (as Kubernetes admission policies use), never ``eval``.

Templates are plain strings with ``{{ cel-expression }}`` holes. A string that is exactly one hole yields the
raw value (a list stays a list), so check parameters can pass objects around.
"""

from __future__ import annotations

import contextvars
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import celpy
from celpy import celtypes
from kubernetes.utils.quantity import parse_quantity

_HOLE = re.compile(r"\{\{(.*?)\}\}", re.S)
# The clock ``since()`` reads: set per diagnosis (a snapshot is judged at its capture time), so compiled
# playbooks can be shared by every diagnosis.
CLOCK: contextvars.ContextVar[Callable[[], datetime]] = contextvars.ContextVar(
    "kubewhy_clock", default=lambda: datetime.now(timezone.utc))
_ENV = celpy.Environment()


class ExpressionError(ValueError):
    pass


def _quantity(value: Any) -> celtypes.DoubleType:
    try:
        return celtypes.DoubleType(float(parse_quantity(str(value))))
    except (ValueError, TypeError, ArithmeticError):
        return celtypes.DoubleType(0.0)


def _parse_ts(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _join(items: Any, sep: Any = ", ") -> celtypes.StringType:
    return celtypes.StringType(str(sep).join(format_value(i) for i in items))


def _functions() -> dict[str, Callable[..., Any]]:
    def since(ts: Any) -> celtypes.DoubleType:
        """Seconds from a timestamp to now (negative when it lies in the future)."""
        parsed = _parse_ts(ts)
        return celtypes.DoubleType((CLOCK.get()() - parsed).total_seconds() if parsed else 0.0)

    def human(seconds: Any) -> celtypes.StringType:
        s = int(float(seconds))
        sign = "-" if s < 0 else ""
        s = abs(s)
        text = f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h" if s < 172800 else \
            f"{s // 86400}d"
        return celtypes.StringType(sign + text)

    def bytes_h(value: Any) -> celtypes.StringType:
        n = float(value)
        for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(n) < 1024 or unit == "TiB":
                return celtypes.StringType(f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}")
            n /= 1024
        return celtypes.StringType(str(value))

    def pct(value: Any) -> celtypes.StringType:
        return celtypes.StringType(f"{float(value) * 100:.0f}%")

    def lower(value: Any) -> celtypes.StringType:
        return celtypes.StringType(str(value).lower())

    def get(obj: Any, path: Any, default: Any = None) -> Any:
        """``get(obj, "a.b.c", default)``: a nested field, or the default when any part is missing."""
        current = obj
        for part in str(path).split("."):
            if isinstance(current, celtypes.MapType) and celtypes.StringType(part) in current:
                current = current[celtypes.StringType(part)]
            elif isinstance(current, celtypes.ListType) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return default if default is not None else celtypes.StringType("")
        return current

    def q(value: Any) -> celtypes.StringType:
        """A PromQL string literal: quoted and escaped, so a label value can never change the query."""
        text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return celtypes.StringType(f'"{text}"')

    def pick(mapping: Any, keys: Any) -> celtypes.MapType:
        """The entries of a map whose keys are in a list (CEL cannot build maps itself)."""
        wanted = {str(k) for k in keys}
        return celtypes.MapType({k: v for k, v in (mapping or {}).items() if str(k) in wanted})

    def omit(mapping: Any, keys: Any) -> celtypes.MapType:
        unwanted = {str(k) for k in keys}
        return celtypes.MapType({k: v for k, v in (mapping or {}).items() if str(k) not in unwanted})

    def to_quantity(value: Any) -> celtypes.StringType:
        """Bytes as a Kubernetes quantity (``2Gi``, ``1536Mi``), rounded up to a whole MiB."""
        mib = -(-int(float(value)) // 2**20)
        return celtypes.StringType(f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi")

    def take(items: Any, n: Any) -> celtypes.ListType:
        return celtypes.ListType(list(items)[: int(n)])

    def closest(objects: Any, selector: Any) -> celtypes.ListType:
        """Objects whose labels best match a selector map (exact values first, then similar values such as a
        typo ``webb`` for ``web``); objects sharing no selector key are left out."""
        import difflib

        def score(obj: Any) -> float:
            labels = ((obj or {}).get(celtypes.StringType("metadata")) or {}).get(celtypes.StringType("labels")) or {}
            total_score = 0.0
            for key, value in (selector or {}).items():
                if key in labels:
                    have = str(labels[key])
                    total_score += 1.0 if have == str(value) else \
                        difflib.SequenceMatcher(None, have, str(value)).ratio()
            return total_score

        scored = [(score(o), i, o) for i, o in enumerate(objects or [])]
        return celtypes.ListType([o for s, _, o in sorted(scored, key=lambda t: (-t[0], t[1])) if s > 0])

    def total(items: Any) -> celtypes.DoubleType:
        """The sum of a list of numbers (CEL has no fold)."""
        return celtypes.DoubleType(sum(float(i) for i in items or []))

    def extract(text: Any, pattern: Any) -> celtypes.StringType:
        """The first capture group (or the whole match) of a regular expression in a text, else ``""``."""
        try:
            m = re.search(str(pattern), str(text))
        except re.error:
            return celtypes.StringType("")
        if not m:
            return celtypes.StringType("")
        return celtypes.StringType(m.group(1) if m.groups() and m.group(1) is not None else m.group(0))

    return {"q": q, "quantity": _quantity, "since": since, "human": human, "humanbytes": bytes_h, "pct": pct,
            "join": _join, "lower": lower, "get": get, "take": take, "pick": pick, "omit": omit,
            "toquantity": to_quantity, "total": total, "extract": extract, "closest": closest}


@dataclass(frozen=True)
class Expr:
    source: str
    program: Any

    def evaluate(self, activation: dict[str, Any]) -> Any:
        try:
            result = self.program.evaluate(activation)
        except celpy.CELEvalError as exc:
            raise ExpressionError(f"{self.source.strip()!r}: {_eval_message(exc)}") from None
        except (TypeError, ValueError, KeyError, ZeroDivisionError, AttributeError, IndexError) as exc:
            raise ExpressionError(f"{self.source.strip()!r}: {str(exc)[:300]}") from None
        if isinstance(result, celpy.CELEvalError):
            raise ExpressionError(f"{self.source.strip()!r}: {_eval_message(result)}")
        return result


def _eval_message(exc: Any) -> str:
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    return text.split(" (in activation")[0][:300]


class Compiler:
    """Compiles CEL once (at playbook load) with kubewhy's helper functions."""

    def __init__(self) -> None:
        self._functions = _functions()

    def compile(self, source: str) -> Expr:
        try:
            ast = _ENV.compile(source)
        except celpy.CELParseError as exc:
            raise ExpressionError(f"invalid CEL {source.strip()!r}: {str(exc).splitlines()[0]}") from None
        return Expr(source, _ENV.program(ast, functions=self._functions))


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Expr, ...]

    @property
    def is_single(self) -> bool:
        return len(self.parts) == 1 and isinstance(self.parts[0], Expr)

    def render(self, activation: dict[str, Any]) -> Any:
        if self.is_single:
            return self.parts[0].evaluate(activation)  # type: ignore[union-attr]
        return "".join(p if isinstance(p, str) else format_value(p.evaluate(activation)) for p in self.parts)

    def render_text(self, activation: dict[str, Any]) -> str:
        if self.is_single:
            return format_value(self.render(activation))
        return str(self.render(activation))


def compile_template(compiler: Compiler, source: str) -> Template:
    parts: list[str | Expr] = []
    pos = 0
    for m in _HOLE.finditer(source):
        if m.start() > pos:
            parts.append(source[pos:m.start()])
        parts.append(compiler.compile(m.group(1)))
        pos = m.end()
    if pos < len(source):
        parts.append(source[pos:])
    return Template(source, tuple(parts))


def has_holes(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def to_cel(value: Any) -> Any:
    return celpy.json_to_cel(value)


def to_py(value: Any) -> Any:
    """CEL values back to plain Python (for JSON output and check parameters)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType) or isinstance(value, celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.MapType):
        return {str(k): to_py(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType):
        return [to_py(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool, dict, list)):
        return value
    return str(value)


def format_value(value: Any) -> str:
    value = to_py(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def truthy(value: Any) -> bool:
    value = to_py(value)
    return bool(value)
