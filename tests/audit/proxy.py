"""A TCP proxy in front of Postgres that a test can switch to refusing connections or to losing acknowledgements.

- ``refuse()``: stop listening (clients get ECONNREFUSED) and reset every open connection.
- ``lose_commit_acks(n)``: the next ``n`` COMMITs reach the server, but its reply is dropped and the connection
  reset: the client cannot know whether its transaction was stored (the case idempotency keys are for).
"""

from __future__ import annotations

import asyncio
import contextlib


class FlakyProxy:
    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432):
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections = 0
        self.acks_lost = 0
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._acks_to_lose = 0

    async def start(self) -> FlakyProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for t in list(self._transports):
            t.abort()  # RST: like a database that went away
        self._transports.clear()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    def lose_commit_acks(self, n: int) -> None:
        self._acks_to_lose = n

    async def close(self) -> None:
        await self.refuse()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._transports.update({client_w.transport, server_w.transport})
        state = {"commit_sent": False}

        def cut() -> None:
            client_w.transport.abort()
            server_w.transport.abort()

        async def client_to_server() -> None:
            while data := await client_r.read(65536):
                if self._acks_to_lose and b"COMMIT" in data.upper():
                    state["commit_sent"] = True
                server_w.write(data)
                await server_w.drain()

        async def server_to_client() -> None:
            while data := await server_r.read(65536):
                if state["commit_sent"] and self._acks_to_lose:
                    self._acks_to_lose -= 1
                    self.acks_lost += 1
                    cut()  # the server has committed; the client never hears it
                    return
                client_w.write(data)
                await client_w.drain()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            tasks = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
        cut()
        self._transports.discard(client_w.transport)
        self._transports.discard(server_w.transport)
