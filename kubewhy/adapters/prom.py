"""Prometheus through ``prometheus-api-client``, called in threads, behind the MetricsReader port."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ..errors import PromError


class PromMetrics:
    def __init__(self, url: str, *, token: str | None = None, basic_auth: tuple[str, str] | None = None,
                 verify_tls: bool = True, timeout: float = 10.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        from prometheus_api_client import PrometheusConnect

        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.endpoint = url
        self.timeout = timeout
        self.clock = clock
        self._client = PrometheusConnect(url=url, headers=headers, disable_ssl=not verify_tls,
                                         auth=basic_auth, timeout=timeout)

    def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except Exception as exc:  # the library raises requests and its own errors; convert at the edge
            raise PromError(f"Prometheus at {self.endpoint}: {type(exc).__name__}: {str(exc)[:200]}") from None

    async def query(self, promql: str) -> list[dict[str, Any]]:
        raw = await asyncio.to_thread(self._call, self._client.custom_query, query=promql,
                                      params={"timeout": f"{self.timeout:g}s"})
        out = []
        for r in raw or []:
            value = r.get("value") or [0, "nan"]
            out.append({"metric": r.get("metric") or {}, "value": float(value[1])})
        return out

    async def query_range(self, promql: str, *, seconds: float, step: float) -> list[dict[str, Any]]:
        end = self.clock()
        start = end - timedelta(seconds=seconds)
        raw = await asyncio.to_thread(self._call, self._client.custom_query_range, query=promql,
                                      start_time=start, end_time=end, step=f"{step:g}s")
        return [{"metric": r.get("metric") or {}, "values": [(float(t), float(v)) for t, v in r.get("values") or []]}
                for r in raw or []]
