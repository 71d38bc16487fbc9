"""The door in front of Bolt (HTTP mode): verify first, parse after, and let each delivery in once.

Bolt parses the body before it checks the signature (a malformed body or a non-integer timestamp became a 500
with a traceback) and logs rejected bodies at INFO, legacy ``token`` included. This aiohttp middleware runs
before Bolt sees anything:

- the signature and timestamp are checked on the raw bytes; anything else is a 401 that logs no body;
- a signature already accepted in the 5-minute window is a replay: 401, nothing runs twice; the signatures and
  deliveries seen are kept in the audit database too (``seen_requests``, with an expiry), so a captured request is
  refused after a restart and by another replica as well. A key is claimed in this process's memory first, at
  once (the same request again here is a replay whatever the database does); the database's claim is awaited at
  most :data:`REPLAY_WAIT`, then the request goes on and the claim carries on behind (a key it then finds taken
  is a replay seen after the fact: logged and counted in :attr:`Gate.late_replays`);
- Slack's own retries (``X-Slack-Retry-Num``) of a delivery that already arrived are acknowledged with
  ``X-Slack-No-Retry: 1`` and not processed again (keyed on the event id, else the body);
- a signed body Bolt could not parse is a 400, not a 500: more than :data:`MAX_BODY` bytes, JSON nested deeper
  than :data:`MAX_DEPTH`, or an interaction payload without the fields Bolt reads (``actions: []``, a view with
  no ``callback_id``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from kubewhy.app import Bounded
from kubewhy.errors import KubewhyError

log = logging.getLogger("kubewhy.bot")

WINDOW = 5 * 60  # Slack's own tolerance for the request timestamp
MAX_BODY = 1 << 20  # bytes: Slack's largest payloads (a view submission's state) are far below this
MAX_DEPTH = 32  # JSON nesting: a Block Kit view is about 8 deep
REPLAY_WAIT = 0.5
"""Seconds a request waits for the audit database's replay cache before it goes on without its answer.

During a watchers' start-up storm the replay cache's write waited about 2 s for SQLite's write lock (held by the
ledger's and the audit writer's commits), before the acknowledgement Slack wants within 3 s and before the
person's answer, which issue 24 wants within 2 s. The key is already claimed in this process's memory, so a replay
to this process is refused at once whatever the database does; what the database adds is refusing it on another
replica or after a restart, and that now holds only for a claim the database answers within this wait (the claim
carries on behind and a key it then finds taken is logged as a replay after the fact). docs/security.md, *replay*.
"""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Remember = Callable[[str, timedelta], Awaitable[bool]]  # True the first time a key is seen (a durable cache)


@dataclass
class Gate:
    """Verification state of one HTTP endpoint; ``clock`` is injectable for tests."""

    signing_secret: str
    clock: Callable[[], float] = time.time
    remember: Remember | None = None  # the durable replay cache (the audit database); None: memory only
    seen_signatures: Bounded[str, float] = field(default_factory=lambda: Bounded(100_000))
    seen_deliveries: Bounded[str, float] = field(default_factory=lambda: Bounded(100_000))
    wait: float = REPLAY_WAIT  # seconds a request waits for the durable cache's answer (see REPLAY_WAIT)
    rejected: int = 0
    replays: int = 0
    retries_dropped: int = 0
    late_replays: int = 0  # requests let through while their durable claim was pending, then found to be replays
    behind: set[asyncio.Future[bool]] = field(default_factory=set, repr=False)  # durable claims past their wait

    def verify(self, body: bytes, timestamp: str | None, signature: str | None) -> str | None:
        """None when the request is genuine and fresh; else why not (for the log, never the body)."""
        if not timestamp or not signature:
            return "missing signature or timestamp"
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            return "timestamp is not an integer"
        if abs(self.clock() - int(timestamp)) > WINDOW:
            return "timestamp outside the 5-minute window"
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        return None

    def _forget_old(self, seen: Bounded[str, float]) -> None:
        horizon = self.clock() - 2 * WINDOW
        while seen and next(iter(seen.values())) < horizon:
            seen.popitem(last=False)

    def first_time(self, seen: Bounded[str, float], key: str) -> bool:
        self._forget_old(seen)
        if key in seen:
            return False
        seen[key] = self.clock()
        return True

    async def durable_firsts(self, keys: dict[str, bool]) -> dict[str, bool]:
        """For keys this process has just claimed in its memory, whether the durable cache (other processes,
        earlier runs) sees each for the first time, as far as it answers within :attr:`wait`
        (:data:`REPLAY_WAIT`); claimed together, so they wait once. A claim still pending then goes on behind and
        counts as first; one the database cannot make leaves the process's own memory as the guard (logged).
        ``keys`` maps each key to whether a replay of it refuses the request: such a key found taken behind is
        logged and counted as a late replay (:attr:`late_replays`)."""
        if self.remember is None or not keys:
            return dict.fromkeys(keys, True)
        ttl = timedelta(seconds=2 * WINDOW)
        claims = {key: asyncio.ensure_future(self.remember(key, ttl)) for key in keys}
        await asyncio.wait(claims.values(), timeout=self.wait)
        firsts: dict[str, bool] = {}
        for key, claim in claims.items():
            if claim.done():
                firsts[key] = self._claimed(claim)
                continue
            log.info("slack: the replay cache is slow: the request goes on, its %s key claimed behind", _kind(key))
            self.behind.add(claim)
            claim.add_done_callback(functools.partial(self._claimed_behind, key=key, refuses=keys[key]))
            firsts[key] = True
        return firsts

    def _claimed(self, claim: asyncio.Future[bool]) -> bool:
        """The durable cache's answer, or True (first) when it could not give one (logged)."""
        try:
            return claim.result()
        except KubewhyError as exc:
            log.warning("slack: the replay cache in the audit database is unavailable: %s", type(exc).__name__)
            return True

    def _claimed_behind(self, claim: asyncio.Future[bool], *, key: str, refuses: bool) -> None:
        self.behind.discard(claim)
        if claim.cancelled():
            log.warning("slack: a %s key's claim in the replay cache was cancelled", _kind(key))
            return
        exc = claim.exception()
        if exc is not None:
            log.warning("slack: the replay cache in the audit database is unavailable: %s", type(exc).__name__)
            return
        if not claim.result() and refuses:
            self.late_replays += 1
            log.warning(
                "slack: a replayed request was detected after the fact: its %s key was already in the replay cache "
                "(another replica or an earlier run had it), and the request went on before the cache answered",
                _kind(key),
            )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        body = await request.read()
        reason = self.verify(
            body, request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature")
        )
        if reason is not None:
            self.rejected += 1
            log.warning("slack: rejected a request from %s: %s", request.remote, reason)
            return web.json_response({"error": "invalid request"}, status=401)
        signature = "sig:" + request.headers["X-Slack-Signature"]
        delivery = delivery_key(body)
        retry = request.headers.get("X-Slack-Retry-Num")
        durable: dict[str, bool] = {}
        if self.first_time(self.seen_signatures, signature):  # in this process's memory, at once
            claims = {signature: True}  # key: whether a replay of it refuses the request
            if self.first_time(self.seen_deliveries, delivery):
                claims[delivery] = bool(retry)  # a delivery seen before refuses only Slack's retries
            durable = await self.durable_firsts(claims)
        if not durable.get(signature):
            self.replays += 1
            log.warning("slack: rejected a replayed request from %s", request.remote)
            return web.json_response({"error": "replayed request"}, status=401)
        first = durable.get(delivery, False)
        if not first and retry:
            self.retries_dropped += 1
            log.info(
                "slack: retry %s of a delivery already received; not processed again",
                request.headers.get("X-Slack-Retry-Num"),
            )
            return web.Response(status=200, headers={"X-Slack-No-Retry": "1"})
        problem = malformed(body, request.content_type)
        if problem is not None:
            log.warning("slack: a signed request with a body that cannot be used (%d bytes): %s", len(body), problem)
            return web.json_response({"error": "malformed body", "reason": problem}, status=400)
        return await handler(request)


def _kind(key: str) -> str:
    """What a replay key is (``sig``, ``event``, ``body``), for the log: never the key itself."""
    return key.partition(":")[0]


def delivery_key(body: bytes) -> str:
    """What identifies one delivery across Slack's retries: the Events API ``event_id``, else the body."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("event_id"), str):
        return "event:" + str(data["event_id"])
    return "body:" + hashlib.sha256(body).hexdigest()


def _depth(value: object, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (iteratively: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return True


def _json_object(text: str) -> tuple[dict[str, object] | None, str]:
    try:
        data = json.loads(text)
    except RecursionError:
        return None, f"JSON nested deeper than {MAX_DEPTH}"
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    if not _depth(data, MAX_DEPTH):
        return None, f"JSON nested deeper than {MAX_DEPTH}"
    return data, ""


def _shape(payload: dict[str, object]) -> str | None:
    """What an interaction payload lacks that Bolt reads without checking (its 500s), or None."""
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return f"{kind} without a view callback_id"
    for key in ("user", "team", "channel", "container", "message", "view"):
        if key in payload and payload[key] is not None and not isinstance(payload[key], dict):
            return f"{key} is not an object"
    return None


def malformed(body: bytes, content_type: str) -> str | None:
    """Why Bolt cannot use the body (see the module docstring), or None: UTF-8, at most :data:`MAX_BODY` bytes;
    JSON, or a form whose ``payload`` (if any) is a JSON object of a usable shape."""
    if len(body) > MAX_BODY:
        return f"larger than {MAX_BODY} bytes"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if content_type == "application/json" or text.lstrip().startswith("{"):
        return _json_object(text)[1] or None
    form = urllib.parse.parse_qs(text)
    if "payload" in form:
        payload, problem = _json_object(form["payload"][0])
        return problem or (_shape(payload) if payload is not None else None)
    return None


def parseable(body: bytes, content_type: str) -> bool:
    """Whether Bolt can read the body (:func:`malformed` says why not)."""
    return malformed(body, content_type) is None
