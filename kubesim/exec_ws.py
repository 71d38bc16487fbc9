"""``pods/exec`` over WebSocket, as kubectl 1.30+ speaks it (``v5.channel.k8s.io``, also ``v4``): a small scripted
shell stands behind every container, since the simulator runs none.

Each binary message starts with its stream: 0 stdin, 1 stdout, 2 stderr, 3 the final status (JSON), 4 a
terminal resize; in v5 the client closes its stdin with ``[255, 0]``. The shell answers ``echo``, ``hostname``,
``pwd``, ``whoami``, ``env``, ``printenv NAME``, ``cat /etc/hostname``, ``true``, ``false`` and ``exit [N]``; any
other command is "not found" (exit 127), as in a minimal image. A command given directly (``kubectl exec pod --
echo hi``) runs once; ``sh``/``bash`` read commands from stdin until ``exit`` or its end.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from aiohttp import WSMsgType, web

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
SHELLS = frozenset({"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"})


def is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def run(pod: dict[str, Any], container: str, argv: list[str]) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of one command line in the scripted shell."""
    meta = pod.get("metadata") or {}
    spec: dict[str, Any] = next(
        (c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {}
    )
    env = {"HOSTNAME": str(meta.get("name", "")), "HOME": "/root", "PATH": "/usr/local/bin:/usr/bin:/bin"}
    env.update({str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or [] if "value" in e})
    if not argv:
        return "", "", 0
    cmd, args = argv[0], argv[1:]
    if cmd == "echo":
        return " ".join(args) + "\n", "", 0
    if cmd == "hostname" or (cmd == "cat" and args == ["/etc/hostname"]):
        return env["HOSTNAME"] + "\n", "", 0
    if cmd == "pwd":
        return "/\n", "", 0
    if cmd == "whoami":
        return "root\n", "", 0
    if cmd in ("env", "printenv") and not args:
        return "".join(f"{k}={v}\n" for k, v in env.items()), "", 0
    if cmd == "printenv":
        found = [env[a] for a in args if a in env]
        return "".join(f"{v}\n" for v in found), "", 0 if len(found) == len(args) else 1
    if cmd == "true":
        return "", "", 0
    if cmd == "false":
        return "", "", 1
    return "", f"sh: {cmd}: not found\n", 127


def status(code: int) -> bytes:
    if code == 0:
        body: dict[str, Any] = {"metadata": {}, "status": "Success"}
    else:
        body = {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: exit status {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    return bytes([STATUS]) + json.dumps(body).encode()


async def serve(request: web.Request, pod: dict[str, Any]) -> web.WebSocketResponse:
    """Run ``?command=…`` (repeated) in ``?container=`` of ``pod`` over the WebSocket ``request`` upgrades to."""
    q = request.query
    argv = q.getall("command", [])
    spec = (pod.get("spec") or {}).get("containers") or [{}]
    container = q.get("container") or str(spec[0].get("name", ""))
    tty = q.get("tty") in ("true", "1")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)

    async def out(stream: int, text: str) -> None:
        if text:
            await ws.send_bytes(bytes([stream]) + (text.replace("\n", "\r\n") if tty else text).encode())

    code = 0
    if argv and argv[0] not in SHELLS:
        stdout, stderr, code = run(pod, container, argv)
        await out(STDOUT, stdout)
        await out(STDERR if not tty else STDOUT, stderr)
    else:
        prompt = "# " if tty else ""
        await out(STDOUT, prompt)
        buffer = ""
        done = False
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
                continue
            stream, data = msg.data[0], msg.data[1:]
            if stream == CLOSE:
                break
            if stream != STDIN:
                continue
            text = data.decode(errors="replace")
            if tty:  # a terminal echoes what is typed
                await out(STDOUT, text.replace("\r", "\n"))
            buffer += text.replace("\r", "\n")
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                try:
                    words = shlex.split(line)
                except ValueError:
                    words = line.split()
                if words[:1] == ["exit"]:
                    code = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
                    done = True
                    break
                stdout, stderr, code = run(pod, container, words)
                await out(STDOUT, stdout)
                await out(STDERR if not tty else STDOUT, stderr)
                await out(STDOUT, prompt)
            if done:
                break
    await ws.send_bytes(status(code))
    await ws.close()
    return ws


__all__ = ["PROTOCOLS", "is_upgrade", "run", "serve"]
