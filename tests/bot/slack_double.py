"""A local Slack Web API double: records every call, answers like Slack (including 429 ratelimited with
Retry-After) and rejects blocks that break Slack's limits with ``invalid_blocks``, as Slack does."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LIMITS = {"section": 3000, "header": 150}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)  # what the double answered


def block_errors(blocks: Any) -> list[str]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    errors = []
    if len(blocks) > 50:
        errors.append(f"too many blocks: {len(blocks)} > 50")
    for i, b in enumerate(blocks):
        kind = b.get("type")
        text = (b.get("text") or {}).get("text", "")
        if kind in LIMITS and len(text) > LIMITS[kind]:
            errors.append(f"[{i}] {kind} text longer than {LIMITS[kind]}")
        elements = b.get("elements") or []
        if kind == "actions" and len(elements) > 25 or kind == "context" and len(elements) > 10:
            errors.append(f"[{i}] too many elements")
        for e in elements + ([b["accessory"]] if b.get("accessory") else []):
            if len(str(e.get("value", ""))) > 2000 or len(str(e.get("action_id", ""))) > 255:
                errors.append(f"[{i}] element value/action_id too long")
    return errors


@dataclass
class SlackDouble:
    calls: list[Call] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    rate_limits: dict[str, list[int]] = field(default_factory=dict)  # method -> Retry-After seconds, one per 429
    failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # method -> (HTTP status, error)
    auth: dict[str, Any] = field(default_factory=dict)  # what auth.test answers besides the usual (an org install)
    org_teams: list[str] = field(default_factory=list)  # auth.teams.list: an org-wide token's workspaces
    url: str = ""
    _ts: float = 1_718_359_200.0
    _changed: asyncio.Event | None = None
    _runner: web.AppRunner | None = None
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget every call recorded and every failure still planned (a module's tests share one double); the
        timestamps it hands out keep increasing, so messages stay distinct across tests."""
        self.calls.clear()
        self.rate_limits.clear()
        self.failures.clear()
        self.socket_acks.clear()

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        self.rate_limits.setdefault(method, []).extend([retry_after] * times)

    def fail(self, method: str, error: str = "internal_error", *, status: int = 200, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail: ``{"ok": false, "error": error}`` with HTTP ``status``
        (a 5xx is what Slack answers when it is having trouble; 200 with an error is a refusal)."""
        self.failures.setdefault(method, []).extend([(status, error)] * times)

    def to(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def answers(self, method: str) -> list[dict[str, Any]]:
        """What the double answered to each ``method`` call (e.g. the ``ts`` chat.postMessage gave a message)."""
        return [c.answer for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        assert self._changed is not None
        while True:
            self._changed.clear()  # before looking: a call recorded after this wakes the wait below
            if len(self.to(method)) >= count:
                return self.to(method)
            if loop.time() > deadline:
                raise AssertionError(
                    f"Slack double: expected {count} {method} call(s), got {[c.method for c in self.calls]}"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
            except TimeoutError:
                pass

    async def start(self) -> str:
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_route("*", "/upload/{file}", self._upload)
        app.router.add_route("*", "/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url + "/api/"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _record(self, method: str, params: dict[str, Any], answer: dict[str, Any] | None = None) -> None:
        self.calls.append(Call(method, params, answer or {}))
        if self._changed:
            self._changed.set()

    def _next_ts(self) -> str:
        self._ts += 0.0001
        return f"{self._ts:.6f}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for key in ("blocks", "view", "metadata"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        pending = self.rate_limits.get(method)
        if pending:
            retry_after = pending.pop(0)
            self._record(method + ":429", params)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        failing = self.failures.get(method)
        if failing:
            status, error = failing.pop(0)
            self._record(f"{method}:{status}:{error}", params)
            return web.json_response({"ok": False, "error": error}, status=status)
        if "blocks" in params and block_errors(params["blocks"]):
            rejected = {"ok": False, "error": "invalid_blocks", "errors": block_errors(params["blocks"])}
            self._record(method, params, rejected)
            return web.json_response(rejected)
        view = params.get("view")
        if isinstance(view, dict) and block_errors(view.get("blocks") or []):
            self._record(method, params, {"ok": False, "error": "invalid_blocks"})
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            ok.update(
                user_id="UKUBEWHY",
                bot_id="BKUBEWHY",
                team_id="T0001",
                team="ops",
                user="kubewhy",
                url="https://ops.slack.com/",
            )
            ok.update(self.auth)
        elif method in ("chat.postMessage", "chat.update"):
            ok.update(
                channel=params.get("channel"),
                ts=params.get("ts") or self._next_ts(),
                message={"text": params.get("text", ""), "blocks": params.get("blocks", [])},
            )
        elif method == "conversations.history":  # what was posted to the channel, newest first
            posted = [
                (c.params, c.answer)
                for c in self.calls
                if c.method == "chat.postMessage"
                and c.params.get("channel") == params.get("channel")
                and not c.params.get("thread_ts")
            ]
            ok.update(
                messages=[
                    {"ts": a.get("ts"), "text": p.get("text", ""), "metadata": p.get("metadata")}
                    for p, a in reversed(posted)
                ],
                has_more=False,
            )
        elif method == "chat.postEphemeral":
            ok.update(message_ts=self._next_ts())
        elif method in ("views.open", "views.update"):
            ok.update(view={"id": params.get("view_id") or "V0001", **(params.get("view") or {})})
        elif method == "auth.teams.list":  # two per page, as Slack pages (next_cursor: the next index)
            start = int(params.get("cursor") or 0)
            page = self.org_teams[start : start + 2]
            more = str(start + 2) if start + 2 < len(self.org_teams) else ""
            ok.update(teams=[{"id": t, "name": t.lower()} for t in page], response_metadata={"next_cursor": more})
        elif method == "usergroups.users.list":
            ok.update(users=self.usergroups.get(params.get("usergroup", ""), []))
        elif method == "apps.connections.open":  # Socket Mode: where to open the WebSocket
            ok.update(url=f"{self.url.replace('http://', 'ws://')}/socket")
        elif method == "files.getUploadURLExternal":
            ok.update(upload_url=f"{self.url}/upload/F0001", file_id="F0001")
        elif method == "files.completeUploadExternal":
            ok.update(files=[{"id": "F0001", "title": "chart"}])
        self._record(method, params, ok)
        return web.json_response(ok)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode: say hello, then carry envelopes; the app acknowledges each by envelope_id."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "double"}})
        self._record("socket.hello", {})
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
                self._record("socket.ack", json.loads(msg.data))
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str = "env-1") -> None:
        """Deliver an event over the open Socket Mode connection (``slash_commands``, ``interactive`` ...)."""
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind == "slash_commands",
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self._record("upload", {"file": request.match_info["file"], "bytes": len(body)})
        return web.Response(text="OK - 1")

    async def _response_url(self, request: web.Request) -> web.Response:
        self._record("response_url", await request.json())
        return web.json_response({"ok": True})
