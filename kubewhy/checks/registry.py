"""The check contract: typed parameters, a declared result shape, and a registry object passed in explicitly.

``@check("events", registry=reg, params={"of": Param("object", required=True)})`` adds a check to ``reg`` and
returns the plain function (as kopf's ``@kopf.on.*(registry=...)`` does), so a check stays unit-testable and a
test can build its own registry without touching anyone else's. The built-ins live in :mod:`.builtin`;
:func:`kubewhy.checks.default_registry` hands out a fresh registry holding them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from .. import kinds
from ..adapters.cache import CachedKube
from ..adapters.ports import KubeletReader, MetricsReader

ParamType = Literal["object", "objects", "string", "regex", "kind", "int", "number", "bool", "selector", "number-map"]
PARAM_TYPES: tuple[str, ...] = get_args(ParamType)
# What a check returns, for the load-time check of templates that pass one check's fact to another:
# "object" / "object:Pod" (a skeleton object), "string", "int", "number", "bool", [shape] or {key: shape}.
Shape = str | list["Shape"] | dict[str, "Shape"]

# How each parameter type is named in messages ("needs an object, but ... gives a string").
_TYPE_NAMES: dict[str, str] = {
    "object": "an object",
    "objects": "a list of objects",
    "string": "a string",
    "regex": "a regular expression",
    "kind": "a kind name",
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "selector": "a label selector (map or string)",
    "number-map": "a map of numbers",
}


@dataclass
class CheckContext:
    """What a check may use: ports only, plus the clock and settings."""

    kube: CachedKube
    prom: MetricsReader | None
    clock: Callable[[], datetime]
    log_tail: int = 50
    prom_range_seconds: float = 3600.0
    kubelet: KubeletReader | None = None  # the kubelets through the node proxy, when there is no Prometheus
    extra: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Param:
    """One parameter of a check: its type, whether a playbook must give it, and one line for the docs."""

    type: ParamType
    required: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; known: {', '.join(PARAM_TYPES)}")


def describe(value: Any) -> str:
    """What a value is, in the words of a message: "a string", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object" if isinstance(value.get("metadata"), dict) or "kind" in value else "a map"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def type_name(ptype: str) -> str:
    return _TYPE_NAMES[ptype]


def shape_fits(ptype: str, value: Any) -> bool:
    """Whether a value has the *shape* a parameter type needs (null always fits: it means "not given")."""
    if value is None:
        return True
    if ptype == "object":
        return isinstance(value, dict)
    if ptype == "objects":
        return isinstance(value, (list, tuple)) and all(isinstance(v, dict) for v in value)
    if ptype in ("string", "regex", "kind"):
        return isinstance(value, str)
    if ptype == "int":
        return (
            isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())
        )
    if ptype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "bool":
        return isinstance(value, bool)
    if ptype == "selector":
        return isinstance(value, (str, dict))
    if ptype == "number-map":
        return isinstance(value, dict)
    return False


def value_problem(ptype: str, value: Any) -> str | None:
    """Why a value does not suit a parameter type, or None. Checks the shape, then the value itself."""
    if not shape_fits(ptype, value):
        return f"needs {type_name(ptype)}, but got {describe(value)}"
    if value is None:
        return None
    if ptype == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            return f"is not a valid regular expression ({exc})"
    if ptype == "kind" and value not in kinds.BY_KIND:
        return f"names kind {value!r}, which kubewhy does not read; known: {', '.join(sorted(kinds.BY_KIND))}"
    if ptype == "number-map":
        bad = [k for k, v in value.items() if not shape_fits("number", v)]
        if bad:
            return f"needs a map of numbers, but {bad[0]!r} is {describe(value[bad[0]])}"
    return None


@dataclass(frozen=True)
class CheckDef:
    """A registered check: the function, its typed parameters, its deadline and the shape of its fact."""

    name: str
    fn: CheckFn
    params: Mapping[str, Param]
    timeout: float | None  # None: the diagnosis's deadline per check (KUBEWHY_CHECK_TIMEOUT, --timeout)
    doc: str
    result: Shape = "object"

    def check_params(self, values: Mapping[str, Any]) -> str | None:
        """The first problem with rendered parameter values (unknown, missing or ill-typed), or None."""
        for key in values:
            if key not in self.params:
                return f"check {self.name!r} has no parameter {key!r}"
        for key, param in self.params.items():
            if param.required and key not in values:
                return f"check {self.name!r} needs parameter {key!r}"
            if key in values:
                problem = value_problem(param.type, values[key])
                if problem:
                    return f"parameter {key!r} {problem}"
        return None


class CheckRegistry:
    """Check definitions by name. Build one per catalog (or per test); nothing registers into a global."""

    def __init__(self, definitions: Mapping[str, CheckDef] | None = None) -> None:
        self._checks: dict[str, CheckDef] = dict(definitions or {})

    def add(self, definition: CheckDef) -> None:
        if definition.name in self._checks:
            raise ValueError(f"check {definition.name!r} is already registered")
        self._checks[definition.name] = definition

    def get(self, name: str) -> CheckDef | None:
        return self._checks.get(name)

    def copy(self) -> CheckRegistry:
        return CheckRegistry(self._checks)

    def names(self) -> list[str]:
        return sorted(self._checks)

    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def __iter__(self) -> Iterator[CheckDef]:
        return iter(self._checks[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._checks)


def check(
    name: str,
    *,
    registry: CheckRegistry,
    params: Mapping[str, Param] | None = None,
    timeout: float | None = None,
    result: Shape = "object",
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function in ``registry`` as check ``name``; the function is returned unchanged."""

    def register(fn: CheckFn) -> CheckFn:
        doc = (fn.__doc__ or "").strip().split("\n")[0]
        registry.add(CheckDef(name, fn, dict(params or {}), timeout, doc, result))
        return fn

    return register
