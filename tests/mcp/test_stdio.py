"""``kubewhy mcp`` over stdio, driven by the official SDK's own client (``mcp.client.stdio``) as an assistant
drives it: against the simulator over real HTTP, and against a snapshot. The tool list holds nothing that writes;
``why`` answers what ``kubewhy why -o json`` prints; every call leaves an audit row naming its caller; a namespace
the caller may not read is refused (and the refusal recorded); a token in a pod's logs comes back redacted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

from kubesim.runner import RunningSim

SCENARIO = Path(__file__).parent / "leaky.yaml"
TOKENS = ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "s3cr3tBearerValue99", "envS3cretValue")
TARGET = "pod/shop/api-0"
CALLER = "mcp-test-user"

# What differs between two runs of the same diagnosis, and only that (docs/mcp.md lists them): how long each check
# and the whole report took, and the ages and times computed from "now" in the findings' text.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_AGE = re.compile(r"\b\d+(\.\d+)?\s?(ms|s|m|h|d)\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<duration>" if k == "duration_ms" else normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _AGE.sub("<age>", _UUID.sub("<id>", _TIMESTAMP.sub("<time>", value)))
    return value


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "USER": CALLER,
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fallback.jsonl"),
        **extra,
    }


def text_of(result: Any) -> str:
    assert isinstance(result, CallToolResult)
    (content,) = result.content
    assert isinstance(content, TextContent)
    return content.text


Session = Callable[[ClientSession], Awaitable[None]]


async def with_session(args: list[str], env: dict[str, str], body: Session) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "kubewhy", "mcp", *args], env=env)
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await body(session)


def history(env: dict[str, str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "history", "-o", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    entries: list[dict[str, Any]] = json.loads(proc.stdout)
    return entries


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "kubewhy", "why", TARGET, *args, "-o", "json", "--no-audit"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def sim(start_sim: Callable[..., RunningSim]) -> RunningSim:
    return start_sim(SCENARIO, timeline_mode="manual")


async def test_over_the_simulator_why_is_the_clis_json_read_only_audited_and_scoped(
    sim: RunningSim, tmp_path: Path
) -> None:
    env = env_for(tmp_path, KUBEWHY_MCP_NAMESPACES="shop")
    args = ["--kubeconfig", str(sim.kubeconfig)]
    got: dict[str, Any] = {}

    async def body(session: ClientSession) -> None:
        tools = (await session.list_tools()).tools
        got["tools"] = {t.name: t for t in tools}
        got["why"] = await session.call_tool("why", {"target": TARGET})
        got["refused"] = await session.call_tool("why", {"target": "ledger-0", "namespace": "payments"})
        got["node"] = await session.call_tool("why", {"target": "node/node-1"})  # cluster-scoped: readable
        got["history"] = await session.call_tool("history", {"target": "pod/payments/ledger-0"})
        got["incidents"] = await session.call_tool("incidents", {})
        got["playbooks"] = await session.call_tool("playbooks", {})
        got["playbook"] = await session.call_tool("playbook", {"id": "app-crash"})
        got["resources"] = [str(r.uri) for r in (await session.list_resources()).resources]

    sim.reset_stats()
    await with_session(args, env, body)

    # No tool that mutates anything: each one says it only reads, and none is named for a change.
    tools = got["tools"]
    assert set(tools) == {"why", "diagnose_describe", "incidents", "history", "playbooks", "playbook"}
    for tool in tools.values():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True, tool.name
        assert tool.annotations.destructive_hint is False, tool.name
    # The simulator saw only reads, whatever the tools did.
    verbs = {key.split(" ")[0] for key in sim.stats()}
    assert verbs and verbs <= {"get", "list", "watch"}, sim.stats()

    # `why` answers what `kubewhy why -o json` prints, after normalising durations, times and ids.
    mcp_report = json.loads(text_of(got["why"]))
    assert got["why"].is_error is False
    assert normalise(mcp_report) == normalise(cli_json(args, env))
    assert "app-crash" in [f["id"] for f in mcp_report["findings"]]

    # The token in the pod's logs (and its secret env value) never leaves, in any answer.
    whole = json.dumps([text_of(got[k]) for k in ("why", "history", "incidents", "playbooks", "playbook")])
    for token in TOKENS:
        assert token not in whole, token
    assert "[redacted]" in text_of(got["why"])

    # A namespace the caller may not read is refused, before anything is read from it.
    assert got["refused"].is_error is True
    assert "may not read namespace 'payments'" in text_of(got["refused"])
    assert got["history"].is_error is True
    assert got["node"].is_error is False and json.loads(text_of(got["node"]))["healthy"] is True

    assert json.loads(text_of(got["playbook"]))["id"] == "app-crash"
    assert "app-crash" in [p["id"] for p in json.loads(text_of(got["playbooks"]))]
    assert set(got["resources"]) == {"kubewhy://playbooks/schema", "kubewhy://catalogue"}

    # Every call wrote a row naming its caller, with source mcp.
    rows = [e for e in history(env) if e["source"] == "mcp"]
    assert {e["actor"] for e in rows} == {CALLER}
    kinds = sorted((e["kind"], e["summary"].split(":")[0], e["target"]) for e in rows)
    assert kinds == sorted(
        [
            ("diagnosis", mcp_report["findings"][0]["title"], TARGET),
            ("diagnosis", "healthy", "node/node-1"),
            ("action", "mcp refused", "pod/payments/ledger-0"),
            ("action", "mcp refused", "pod/payments/ledger-0"),
            ("action", "mcp incidents", ""),
            ("action", "mcp playbooks", ""),
            ("action", "mcp playbook", ""),
        ]
    ), kinds


# A user playbook whose text holds a credential: the front-end's own redaction pass keeps it out of `playbook`.
LEAKY_PLAYBOOK = """apiVersion: kubewhy.io/v1
id: leaky-notes
title: Notes with a credential in them
description: "rotate it with password=pb-s3cret-value-42 if the pod crashes"
applies_to: [Pod]
stage: pod
severity: info
symptom: "false"
summary: "never shown"
"""


async def test_over_a_snapshot_and_a_pasted_describe(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "leaky.yaml").write_text(LEAKY_PLAYBOOK)
    args = ["--snapshot", str(SCENARIO), "--playbooks", str(tmp_path / "playbooks")]
    got: dict[str, Any] = {}
    describe = (Path(__file__).parent / "describe-pod.txt").read_text()

    async def body(session: ClientSession) -> None:
        got["why"] = await session.call_tool("why", {"target": TARGET})
        got["other"] = await session.call_tool("why", {"target": "pod/payments/ledger-0"})
        got["describe"] = await session.call_tool("diagnose_describe", {"text": describe})
        got["missing"] = await session.call_tool("why", {"target": "pod/shop/nope"})
        got["schema"] = await session.read_resource("kubewhy://playbooks/schema")
        got["leaky"] = await session.call_tool("playbook", {"id": "leaky-notes"})

    await with_session(args, env, body)
    assert normalise(json.loads(text_of(got["why"]))) == normalise(cli_json(args, env))
    assert got["other"].is_error is False  # no restriction configured: every namespace is readable
    described = json.loads(text_of(got["describe"]))
    assert described["target"]["name"] == "api-0" and described["findings"]
    assert "envS3cretValue" not in text_of(got["describe"])  # pasted by the caller, still not echoed back
    assert got["missing"].is_error is True and "not found" in text_of(got["missing"])
    assert "applies_to" in got["schema"].contents[0].text
    leaky = text_of(got["leaky"])
    assert got["leaky"].is_error is False and "pb-s3cret-value-42" not in leaky
    assert "password=[redacted]" in json.loads(leaky)["description"]
    rows = [e for e in history(env) if e["source"] == "mcp"]
    assert [e["kind"] for e in rows].count("diagnosis") == 3
    assert {e["actor"] for e in rows} == {CALLER}
