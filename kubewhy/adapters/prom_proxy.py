"""Prometheus in the cluster, reached from outside it through the API server's service proxy.

``--prometheus discover`` finds the Prometheus Service; inside the cluster its DNS name answers
(:mod:`.prom`), but a laptop cannot resolve ``NAME.NS.svc``. From outside, the queries go to
``/api/v1/namespaces/NS/services/NAME:PORT/proxy/api/v1/query`` with the kubeconfig's own credentials, as Lens
and ``kubectl proxy`` users do: the kube reader's transport carries them (``ApiProxy``), so this module needs no
HTTP client of its own. The answers are Prometheus' HTTP API JSON, read here; no PromQL is evaluated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ..errors import ClusterUnreachable, PromError
from .ports import ApiProxy


class PromThroughKube:
    """A :class:`~kubewhy.adapters.ports.MetricsReader` over the service proxy."""

    def __init__(
        self,
        proxy: ApiProxy,
        namespace: str,
        service: str,
        port: int,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ):
        self.proxy = proxy
        self.base = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"
        self.endpoint = f"{proxy.endpoint}{self.base} (service {namespace}/{service}:{port} via the API server)"
        self.timeout = timeout
        self.clock = clock

    async def _get(self, api: str, params: dict[str, Any]) -> Any:
        try:
            status, body = await self.proxy.proxy_get(
                f"{self.base}/api/v1/{api}", {**params, "timeout": f"{self.timeout:g}s"}
            )
        except ClusterUnreachable as exc:
            raise PromError(f"Prometheus at {self.endpoint}: {exc}") from None
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        if status != 200 or doc.get("status") != "success":
            reason = (
                f"{doc.get('errorType', 'error')}: {doc.get('error', '')}"
                if "error" in doc
                else str(doc.get("message") or body[:200].decode(errors="replace"))
            )
            raise PromError(f"Prometheus at {self.endpoint}: HTTP {status} {reason}".strip())
        return (doc.get("data") or {}).get("result") or []

    async def query(self, promql: str) -> list[dict[str, Any]]:
        raw = await self._get("query", {"query": promql})
        return [{"metric": r.get("metric") or {}, "value": float((r.get("value") or [0, "nan"])[1])} for r in raw]

    async def query_range(self, promql: str, *, seconds: float, step: float) -> list[dict[str, Any]]:
        end = self.clock()
        raw = await self._get(
            "query_range", {"query": promql, "start": f"{end - seconds:.3f}", "end": f"{end:.3f}", "step": f"{step:g}s"}
        )
        return [
            {"metric": r.get("metric") or {}, "values": [(float(t), float(v)) for t, v in r.get("values") or []]}
            for r in raw
        ]


__all__ = ["PromThroughKube"]
