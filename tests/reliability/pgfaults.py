"""A Postgres in the middle of a restart: the first connections get FATAL 57P03 "the database system is shutting
down" (what a real server answers while it stops and starts), later ones reach the real server.

It speaks just enough of the protocol: it answers an SSLRequest with "N", reads the startup packet and sends an
ErrorResponse, as Postgres does before it accepts a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct


def error_response(code: str, message: str) -> bytes:
    fields = b"".join(
        k + v.encode() + b"\0" for k, v in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class RestartingPostgres:
    def __init__(self, refuse: int, upstream: tuple[str, int] = ("127.0.0.1", 5432)):
        self.refuse = refuse  # how many connections are told the server is shutting down
        self.upstream = upstream
        self.refused = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> RestartingPostgres:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _startup(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """Read up to the startup packet (after an optional SSLRequest); the bytes read, to replay upstream."""
        length = struct.unpack("!I", await reader.readexactly(4))[0]
        packet = await reader.readexactly(length - 4)
        if packet[:4] == struct.pack("!I", 80877103):  # SSLRequest: no TLS here
            writer.write(b"N")
            await writer.drain()
            length = struct.unpack("!I", await reader.readexactly(4))[0]
            packet = await reader.readexactly(length - 4)
        return struct.pack("!I", length) + packet

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            startup = await self._startup(reader, writer)
            if self.refused < self.refuse:
                self.refused += 1
                writer.write(error_response("57P03", "the database system is shutting down"))
                await writer.drain()
                writer.close()
                return
            up_r, up_w = await asyncio.open_connection(*self.upstream)
            up_w.write(startup)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer), return_exceptions=True)
        writer.close()
