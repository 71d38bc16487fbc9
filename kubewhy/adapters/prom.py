"""Prometheus through ``prometheus-api-client``, called in threads, behind the MetricsReader port.

Every failure leaves this module as a :class:`PromError` naming the endpoint: connection refused, a query
that ran past its timeout (:class:`PromTimeout`), an HTTP error with Prometheus' own ``error`` text.
Queries arrive fully built: label values were escaped by the ``q()`` template helper (kubewhy/expressions.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import telemetry
from ..errors import PromError, PromTimeout
from ..settings import PromSettings


def _reason(exc: BaseException) -> str:
    """Prometheus' own error text when it sent one, else the exception's first line."""
    text = str(exc)
    start = text.find("{")
    if "HTTP Status Code" in text and start >= 0:
        try:
            body = json.loads(text[start : text.rfind("}") + 1].encode().decode("unicode_escape"))
            status = text.split("(", 1)[0].replace("HTTP Status Code", "HTTP").strip()
            return f"{status} {body.get('errorType', 'error')}: {body.get('error', '')}".strip()
        except ValueError:
            pass
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


class PromMetrics:
    def __init__(
        self,
        url: str | PromSettings,
        *,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify_tls: bool | str = True,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        settings = url if isinstance(url, PromSettings) else PromSettings(url, token, basic_auth, verify_tls, timeout)
        self.settings = settings
        self.endpoint = settings.url.rstrip("/")
        self.timeout = settings.timeout
        self.clock = clock
        session = requests.Session()
        session.verify = settings.verify_tls
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else None
        # No retries on HTTP status: an error answer is reported as it is, at once.
        self._client = PrometheusConnect(
            url=self.endpoint,
            headers=headers,
            auth=settings.basic_auth,
            session=session,
            timeout=settings.timeout,
            retry=Retry(total=1, connect=1, read=False, status=0, backoff_factor=0.1, raise_on_status=False),
        )

    def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        import requests

        try:
            return fn(*args, **kw)
        except requests.exceptions.Timeout:
            telemetry.count("kubewhy_api_errors_total", api="prometheus", code="timeout")
            raise PromTimeout(
                f"Prometheus at {self.endpoint}: no answer within {self.timeout:g}s (query timeout)"
            ) from None
        except Exception as exc:  # noqa: BLE001 - requests' and the library's own errors, converted at the edge
            status = getattr(exc, "status_code", None)
            telemetry.count("kubewhy_api_errors_total", api="prometheus", code=str(status) if status else "0")
            if "timed out" in str(exc).lower():
                raise PromTimeout(
                    f"Prometheus at {self.endpoint}: no answer within {self.timeout:g}s (query timeout)"
                ) from None
            raise PromError(f"Prometheus at {self.endpoint}: {_reason(exc)}") from None

    async def query(self, promql: str) -> list[dict[str, Any]]:
        raw = await asyncio.to_thread(
            self._call, self._client.custom_query, query=promql, params={"timeout": f"{self.timeout:g}s"}
        )
        out = []
        for r in raw or []:
            value = r.get("value") or [0, "nan"]
            out.append({"metric": r.get("metric") or {}, "value": float(value[1])})
        return out

    async def query_range(self, promql: str, *, seconds: float, step: float) -> list[dict[str, Any]]:
        end = self.clock()
        start = end - timedelta(seconds=seconds)
        raw = await asyncio.to_thread(
            self._call,
            self._client.custom_query_range,
            query=promql,
            start_time=start,
            end_time=end,
            step=f"{step:g}s",
            params={"timeout": f"{self.timeout:g}s"},
        )
        return [
            {"metric": r.get("metric") or {}, "values": [(float(t), float(v)) for t, v in r.get("values") or []]}
            for r in raw or []
        ]


# ---- in-cluster discovery --------------------------------------------------------------------------------------

_NAMES = (
    "prometheus-operated",
    "prometheus-server",
    "prometheus",
    "kube-prometheus-stack-prometheus",
    "prometheus-k8s",
)


async def discover_service(
    kube: Any,
    *,
    namespaces: tuple[str, ...] = ("monitoring", "prometheus", "kube-prometheus", "observability", "default"),
) -> tuple[str, str, int] | None:
    """The (namespace, name, port) of a Prometheus Service in the cluster, or None.

    Looks for Services labelled ``app.kubernetes.io/name=prometheus`` (or ``app=prometheus``) and for the names
    the common charts use, in the usual namespaces first, then anywhere.
    """

    def score(svc: dict[str, Any]) -> tuple[int, int]:
        meta = svc.get("metadata") or {}
        labels = meta.get("labels") or {}
        named = meta.get("name") in _NAMES
        labelled = "prometheus" in (labels.get("app.kubernetes.io/name"), labels.get("app"))
        preferred = meta.get("namespace") in namespaces
        return (0 if named or labelled else 9, 0 if preferred else 1)

    services = [s for s in await kube.list("Service") if score(s)[0] == 0]
    for svc in sorted(services, key=score):
        ports = (svc.get("spec") or {}).get("ports") or []
        port = next(
            (p for p in ports if p.get("name") in ("web", "http", "http-web") or p.get("port") == 9090),
            ports[0] if ports else None,
        )
        if port is None:
            continue
        meta = svc["metadata"]
        return str(meta.get("namespace", "default")), str(meta["name"]), int(port.get("port"))
    return None


async def discover(kube: Any) -> str | None:
    """The in-cluster URL of a Prometheus Service (``http://NAME.NS.svc:PORT``), or None."""
    found = await discover_service(kube)
    return None if found is None else f"http://{found[1]}.{found[0]}.svc:{found[2]}"
