"""``pods/portforward`` over WebSocket, as the Kubernetes Python client speaks it (``v4.channel.k8s.io``, also
``portforward.k8s.io``): an HTTP stub stands behind every port of a pod, since the simulator runs no containers.

``?ports=8080`` (repeatable) names the ports; port *i* has data channel ``2i`` and error channel ``2i+1``. Each
binary message starts with its channel; the first message on each channel is the port, two bytes little-endian.
The stub answers every HTTP request it reads on a data channel with ``200`` and a line naming the pod, the port and
the path, so a test sees that a GET through the forward reached that pod's port.
"""

from __future__ import annotations

import struct
from typing import Any

from aiohttp import WSMsgType, web

PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")


def stub_response(pod: dict[str, Any], port: int, request: bytes) -> bytes:
    """What the stub behind ``port`` answers to one HTTP request."""
    meta = pod.get("metadata") or {}
    first = request.split(b"\r\n", 1)[0].decode(errors="replace").split()
    method, path = (first[0], first[1]) if len(first) >= 2 else ("?", "?")
    body = f"kubesim stub: pod {meta.get('namespace')}/{meta.get('name')} port {port} {method} {path}\n".encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"X-Kubesim-Pod: {meta.get('name')}\r\n\r\n"
    ).encode()
    return head + body


async def serve(request: web.Request, pod: dict[str, Any]) -> web.WebSocketResponse:
    try:
        ports = [int(p) for value in request.query.getall("ports", []) for p in value.split(",") if p]
    except ValueError:
        raise web.HTTPBadRequest(text="ports must be numbers") from None
    if not ports:
        raise web.HTTPBadRequest(text="at least one port is required (?ports=8080)")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    for i, port in enumerate(ports):  # each channel opens with its port number
        await ws.send_bytes(bytes([2 * i]) + struct.pack("<H", port))
        await ws.send_bytes(bytes([2 * i + 1]) + struct.pack("<H", port))
    pending: dict[int, bytes] = {}
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], bytes(msg.data[1:])
        if channel % 2 or channel // 2 >= len(ports):
            continue
        buffer = pending.get(channel, b"") + data
        while b"\r\n\r\n" in buffer:
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            await ws.send_bytes(bytes([channel]) + stub_response(pod, ports[channel // 2], head))
        pending[channel] = buffer
    await ws.close()
    return ws


__all__ = ["PROTOCOLS", "serve", "stub_response"]
