"""Fault injection: tests script what the API server does wrong, through ``/kubesim/v1/faults``.

A fault matches requests by method and a path substring and, for its next ``times`` matches (``null``: until
cleared), answers with an HTTP error (500, 429 with ``Retry-After``, 401, 403, 410 ...), answers late
(``delay`` seconds, then normally), resets the connection without an answer, or answers with odd bytes of its
own (``body_base64``: non-UTF-8 or huge logs, with ``status`` 200 by default). ``query`` narrows the match to a
substring of the query string (``continue=``: only the later pages of a paged LIST). The control API itself is
never affected.

    POST   /kubesim/v1/faults  {"status": 500, "path": "/events", "times": 2}   add one (or {"faults": [...]})
    GET    /kubesim/v1/faults                                                 the rules and how often each fired
    DELETE /kubesim/v1/faults                                                 clear them
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    status: int | None = None  # answer with this HTTP status (None: answer normally, after ``delay``)
    method: str = ""  # "" = any
    path: str = ""  # substring of the request path ("" = any)
    query: str = ""  # substring of the query string ("" = any): "continue=" fails only a paged LIST's later pages
    times: int | None = 1  # how many matching requests it applies to (None: until cleared)
    delay: float = 0.0  # seconds to wait before answering
    reset: bool = False  # drop the connection without an answer
    retry_after: int | None = None  # the Retry-After header (429, 503)
    message: str = ""
    body_base64: str | None = None  # answer with exactly these bytes (``status`` defaults to 200)
    hits: int = 0

    @classmethod
    def parse(cls, spec: Any) -> Fault:
        if not isinstance(spec, dict):
            raise FaultSpecError(f"a fault is an object, not {type(spec).__name__}")
        unknown = set(spec) - {
            "status",
            "method",
            "path",
            "query",
            "times",
            "delay",
            "reset",
            "retry_after",
            "message",
            "body_base64",
        }
        if unknown:
            raise FaultSpecError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        fault = cls(**spec)
        if fault.body_base64 is not None:
            base64.b64decode(fault.body_base64, validate=True)  # binascii.Error is a ValueError
            fault.status = fault.status or 200
        elif fault.status is not None and not (isinstance(fault.status, int) and 400 <= fault.status <= 599):
            raise FaultSpecError(f"status {fault.status!r}: expected an HTTP error status (400-599)")
        if fault.times is not None and (not isinstance(fault.times, int) or fault.times < 1):
            raise FaultSpecError(f"times {fault.times!r}: expected a positive integer or null")
        if not isinstance(fault.delay, int | float) or fault.delay < 0:
            raise FaultSpecError(f"delay {fault.delay!r}: expected seconds >= 0")
        if fault.status is None and not fault.reset and not fault.delay:
            raise FaultSpecError("a fault needs a status, reset: true or a delay")
        return fault

    def matches(self, method: str, path: str, query: str = "") -> bool:
        return (
            (not self.method or self.method.upper() == method)
            and self.path in path
            and self.query in query
            and (self.times is None or self.hits < self.times)
        )


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def take(self, method: str, path: str, query: str = "") -> Fault | None:
        for fault in self.rules:
            if fault.matches(method, path, query):
                fault.hits += 1
                return fault
        return None

    async def intercept(self, request: web.Request) -> web.StreamResponse | None:
        """The injected answer for ``request``, or None to serve it normally (possibly after a delay)."""
        if not self.rules or request.path.startswith("/kubesim/"):
            return None
        fault = self.take(request.method, request.path, request.query_string)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.reset:
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("kubesim: injected connection reset")
        if fault.status is None:
            return None
        if fault.body_base64 is not None:
            return web.Response(
                body=base64.b64decode(fault.body_base64), status=fault.status, content_type="text/plain"
            )
        reason = REASONS.get(fault.status, "InternalError")
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "reason": reason,
            "code": fault.status,
            "message": fault.message or f"kubesim: injected {fault.status} {reason}",
        }
        if fault.retry_after is not None:  # the API server says it in the body too
            body["details"] = {"retryAfterSeconds": fault.retry_after}
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return web.Response(
            body=json.dumps(body), status=fault.status, content_type="application/json", headers=headers
        )

    async def control(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.rules.clear()
            return web.json_response({"ok": True})
        if request.method == "POST":
            try:
                body = await request.json()
                specs = body.get("faults", [body]) if isinstance(body, dict) else body
                added = [Fault.parse(s) for s in specs]
            except (ValueError, TypeError) as exc:
                return web.json_response(
                    {
                        "kind": "Status",
                        "status": "Failure",
                        "code": 422,
                        "reason": "Invalid",
                        "message": f"bad fault: {exc}",
                    },
                    status=422,
                )
            self.rules += added
        return web.json_response({"faults": [asdict(f) for f in self.rules]})
