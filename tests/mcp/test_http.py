"""``kubewhy mcp --http`` (streamable HTTP, off by default) driven by the SDK's own HTTP client against the
simulator: the bearer token names the caller and its namespaces; no token, no answer; the same read-only tools,
audit rows and redaction as over stdio."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from kubesim.runner import RunningSim
from kubewhy.mcp.tokens import TokenFileError, parse_tokens
from tests.mcp.test_stdio import SCENARIO, TARGET, TOKENS, cli_json, env_for, history, normalise, text_of

ALICE, ONCALL = "alice-token-0123456789", "oncall-token-9876543210"


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def served(start_sim: Callable[..., RunningSim], tmp_path: Path) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    sim = start_sim(SCENARIO, timeline_mode="manual")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f"alice: {{token_sha256: {sha(ALICE)}, namespaces: [shop]}}\n"
        f'oncall: {{token_sha256: {sha(ONCALL)}, namespaces: ["*"]}}\n'
    )
    env = env_for(tmp_path)
    args = ["--kubeconfig", str(sim.kubeconfig)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubewhy", "mcp", *args, "--http", "127.0.0.1:0", "--tokens", str(tokens)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = ""
        for line in proc.stderr:
            if line.startswith("kubewhy mcp: serving "):
                break
        assert line.startswith("kubewhy mcp: serving "), line
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining: a full pipe would block it
        sim.reset_stats()
        yield line.removeprefix("kubewhy mcp: serving ").strip(), env, args
        verbs = {key.split(" ")[0] for key in sim.stats()}
        assert verbs and verbs <= {"get", "list", "watch"}, sim.stats()  # the HTTP server only read
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def session_of(url: str, token: str | None, calls: Callable[[ClientSession], Any]) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return await calls(session)


async def test_bearer_tokens_name_the_caller_and_its_namespaces(
    served: tuple[str, dict[str, str], list[str]],
) -> None:
    url, env, args = served

    async def alice(session: ClientSession) -> dict[str, Any]:
        return {
            "tools": [t for t in (await session.list_tools()).tools],
            "why": await session.call_tool("why", {"target": TARGET}),
            "refused": await session.call_tool("why", {"target": "pod/payments/ledger-0"}),
        }

    async def oncall(session: ClientSession) -> Any:
        return await session.call_tool("why", {"target": "pod/payments/ledger-0"})

    got = await session_of(url, ALICE, alice)
    assert {t.name for t in got["tools"]} == {
        "why",
        "diagnose_describe",
        "incidents",
        "history",
        "playbooks",
        "playbook",
    }
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in got["tools"])
    assert normalise(json.loads(text_of(got["why"]))) == normalise(cli_json(args, env))
    for token in TOKENS:
        assert token not in text_of(got["why"])
    assert got["refused"].is_error and "alice may not read namespace 'payments'" in text_of(got["refused"])
    assert (await session_of(url, ONCALL, oncall)).is_error is False

    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for bearer in (None, "not-a-known-token"):  # no token, or one that maps to nobody: refused before any tool
        with pytest.raises(Exception):  # noqa: B017 - the SDK's client fails the session, whatever its wrapping
            await session_of(url, bearer, lambda s: s.list_tools())
        auth = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with httpx2.AsyncClient(timeout=30) as http:
            answer = await http.post(url, json=hello, headers={**accept, **auth})
        assert answer.status_code == 401, (answer.status_code, answer.text)

    rows = [(e["actor"], e["kind"], e["target"]) for e in history(env) if e["source"] == "mcp"]
    assert sorted(rows) == sorted(
        [
            ("alice", "diagnosis", TARGET),
            ("alice", "action", "pod/payments/ledger-0"),
            ("oncall", "diagnosis", "pod/payments/ledger-0"),
        ]
    ), rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice: {token_sha256: abc, namespaces: [shop]}\n", "tokens.yaml:1: alice: token_sha256 must be"),
        (f"alice: {{token_sha256: {sha('x')}}}\n", "tokens.yaml:1: alice: namespaces must be a non-empty list"),
        (
            f"a: {{token_sha256: {sha('x')}, namespaces: [a]}}\nb: {{token_sha256: {sha('x')}, namespaces: [b]}}\n",
            "tokens.yaml:2: b: the same token as another caller",
        ),
        (f"a: {{token_sha256: {sha('x')}, namespaces: [Bad_NS]}}\n", "tokens.yaml:1: a: namespaces"),
        ("a: [", "tokens.yaml:1"),
    ],
)
def test_a_bad_token_file_says_file_and_line(text: str, message: str) -> None:
    with pytest.raises(TokenFileError) as err:
        parse_tokens(text, "tokens.yaml")
    assert str(err.value).startswith(message), str(err.value)


def test_http_without_a_token_file_is_refused_plainly(tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(tmp_path).items() if k != "KUBEWHY_MCP_TOKENS"}
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "mcp", "--snapshot", str(SCENARIO), "--http", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--http needs --tokens FILE" in proc.stderr
