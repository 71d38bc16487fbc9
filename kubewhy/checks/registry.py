"""The registry of check functions: ``@check("events", params={"of": True})`` adds one and returns it unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable

from ..adapters.cache import CachedKube
from ..adapters.ports import MetricsReader

DEFAULT_TIMEOUT = 5.0


@dataclass
class CheckContext:
    """What a check may use: ports only, plus the clock and settings."""

    kube: CachedKube
    prom: MetricsReader | None
    clock: Callable[[], datetime]
    log_tail: int = 50
    prom_range_seconds: float = 3600.0
    extra: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class CheckDef:
    name: str
    fn: CheckFn
    params: dict[str, bool]  # name -> required
    timeout: float
    doc: str


REGISTRY: dict[str, CheckDef] = {}


def check(name: str, *, params: dict[str, bool] | None = None, timeout: float = DEFAULT_TIMEOUT
          ) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        REGISTRY[name] = CheckDef(name, fn, params or {}, timeout, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register
