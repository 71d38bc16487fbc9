"""Streamable HTTP for remote assistants: the MCP app on its own port, callers identified by bearer token.

Off unless asked for: ``kubewhy mcp --http HOST:PORT --tokens FILE`` (a sidecar next to ``k8sbot``, or anywhere
with a kubeconfig), or :func:`serve_http` from a process that already holds a :class:`Kubewhy` (one line in
k8sbot's runner). Served by uvicorn, the ASGI server the SDK depends on, on the caller's event loop.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from ..app import Kubewhy
from ..errors import UsageError
from .tokens import TokenMap


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:8765``, ``:8765`` (loopback) or ``0.0.0.0:8765``; :class:`UsageError` otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve_http(
    app: Kubewhy,
    tokens: TokenMap,
    host: str,
    port: int,
    on_listening: Callable[[str], None] | None = None,
    default_namespace: str | None = None,
) -> None:
    """Serve until cancelled; ``on_listening`` gets the endpoint's URL once the socket is bound (port 0: the one
    the system chose)."""
    import uvicorn

    from .server import build_http_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # a client that connects before uvicorn's start-up waits in the backlog
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{bound}"
    asgi = build_http_app(app, tokens, url, host, default_namespace)
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on"))
    if on_listening is not None:
        on_listening(f"{url}/mcp")
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()


__all__ = ["parse_address", "serve_http"]
