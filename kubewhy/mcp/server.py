"""The MCP tools and resources, declared on the official SDK's :class:`mcp.server.mcpserver.MCPServer`.

Every tool reads; none writes to the cluster (the application's connection has no writer, see
:class:`.caller.ReadOnlyKube`), and a fix comes back as a proposal inside the report (its command and patch),
never applied. Each call is recorded in the audit log with source ``mcp`` and the caller's name: a diagnosis row
for ``why`` and ``diagnose_describe``, an action row (``mcp_<tool>``) for the others, ``mcp_refused`` for a
namespace the caller may not read. The row is written before the answer goes back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import AnyHttpUrl
from starlette.applications import Starlette

from ..app import Kubewhy
from ..catalogue import catalogue_text
from ..errors import KubewhyError
from ..models.findings import Report
from ..models.target import Target, parse_target
from ..playbooks.schema import schema_text
from .caller import Caller, namespace_of, scrub
from .tokens import TokenMap

INSTRUCTIONS = (
    "kubewhy diagnoses Kubernetes objects from evidence: each finding names the facts it rests on. Call `why` "
    "with a target such as pod/NAMESPACE/NAME, deploy/NAMESPACE/NAME or node/NAME; report only causes the "
    "findings' evidence supports. Fixes are proposals for a person to apply; no tool changes the cluster."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
SOURCE = "mcp"


def as_json(value: Any) -> str:
    """What a tool returns: the value scrubbed, as ``kubewhy … -o json`` prints it."""
    return json.dumps(scrub(value), indent=2, ensure_ascii=False)


class Tools:
    """The tools' bodies: translate the arguments into the application's methods, format what comes back.

    ``caller``: who calls over stdio; with ``tokens`` (HTTP), the caller is whoever the request's bearer token
    belongs to (the SDK's bearer middleware has already refused a request without a known token)."""

    def __init__(
        self, app: Kubewhy, caller: Caller, tokens: TokenMap | None = None, default_namespace: str | None = None
    ):
        self.app = app
        self.default = caller
        self.tokens = tokens
        self.default_namespace = default_namespace or app.settings.default_namespace

    @property
    def caller(self) -> Caller:
        if self.tokens is None:
            return self.default
        token = get_access_token()
        found = self.tokens.named(token.client_id) if token is not None else None
        if found is None:
            raise ToolError("not authenticated: send Authorization: Bearer TOKEN")
        return found

    async def _recorded(self, action: str, *, target: Target | None = None, **details: Any) -> None:
        self.app.record(action, actor=self.caller.name, source=SOURCE, target=target, details=details or None)
        await self.app.flush()

    async def _check(self, tool: str, target: Target) -> None:
        caller = self.caller
        if not caller.readable(target.namespace):
            await self._recorded("mcp_refused", target=target, tool=tool, reason="namespace not allowed")
            allowed = ", ".join(caller.namespaces)
            raise ToolError(f"{caller.name} may not read namespace {target.namespace!r} (allowed: {allowed})")

    def _target(self, text: str, namespace: str | None) -> Target:
        try:
            return parse_target(text, namespace, self.default_namespace)
        except KubewhyError as exc:
            raise ToolError(str(exc)) from None

    async def _report(self, call: Any) -> str:
        try:
            report: Report = await call
        except KubewhyError as exc:
            await self.app.flush()
            raise ToolError(str(exc)) from None
        await self.app.flush()
        return as_json(report.to_dict())

    async def why(self, target: str, namespace: str | None = None) -> str:
        t = self._target(target, namespace)
        await self._check("why", t)
        return await self._report(self.app.diagnose(t, actor=self.caller.name, source=SOURCE))

    async def diagnose_describe(self, text: str) -> str:
        return await self._report(self.app.diagnose_described(text, actor=self.caller.name, source=SOURCE))

    async def incidents(self) -> str:
        await self._recorded("mcp_incidents")
        try:
            found = await self.app.incidents()
        except KubewhyError as exc:
            raise ToolError(str(exc)) from None
        return as_json(
            [
                {
                    "id": i.id,
                    "ref": i.ref,
                    "rule": i.rule,
                    "subject": i.subject,
                    "state": i.state,
                    "severity": i.severity,
                    "title": i.title,
                    "count": i.count,
                    "first_seen": i.first_seen.isoformat(),
                    "last_seen": i.last_seen.isoformat(),
                    "acknowledged_by": i.acknowledged_by,
                }
                for i in found
                if self.caller.readable(namespace_of(i.subject))
            ]
        )

    async def history(self, target: str | None = None, namespace: str | None = None, limit: int = 50) -> str:
        t = self._target(target, namespace) if target else None
        if t is not None:
            await self._check("history", t)
        await self._recorded("mcp_history", target=t, limit=limit)
        try:
            entries = await self.app.history(
                target=t, limit=max(1, min(limit, 500)), namespaces=self.caller.readable_namespaces()
            )
        except KubewhyError as exc:
            raise ToolError(str(exc)) from None
        return as_json([e.to_dict() for e in entries])

    async def playbooks(self) -> str:
        await self._recorded("mcp_playbooks")
        return as_json(
            [
                {"id": p.id, "title": p.title, "applies_to": list(p.applies_to), "severity": p.severity}
                for p in sorted(self.app.catalog.playbooks, key=lambda p: p.id)
            ]
        )

    async def playbook(self, id: str) -> str:
        await self._recorded("mcp_playbook", playbook=id)
        pb = self.app.catalog.by_id(id)
        if pb is None:
            raise ToolError(f"no playbook {id!r}; the `playbooks` tool lists them")
        try:
            text = Path(pb.source).read_text(encoding="utf-8") if pb.source else ""
        except OSError:
            text = ""
        return as_json(
            {
                "id": pb.id,
                "title": pb.title,
                "description": pb.description,
                "applies_to": list(pb.applies_to),
                "stage": pb.stage,
                "severity": pb.severity,
                "caused_by": list(pb.caused_by),
                "source": pb.source,
                "yaml": text,
            }
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kubewhy")
    except PackageNotFoundError:
        return "0"


class StaticTokens:
    """The SDK's token verifier over a :class:`TokenMap`: a known token is an access token naming its caller."""

    def __init__(self, tokens: TokenMap):
        self.tokens = tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        caller = self.tokens.resolve(token)
        return None if caller is None else AccessToken(token="", client_id=caller.name, scopes=[], subject=caller.name)


def build_server(
    app: Kubewhy,
    caller: Caller,
    *,
    tokens: TokenMap | None = None,
    url: str = "",
    default_namespace: str | None = None,
) -> MCPServer[Any]:
    """The MCP server over ``app`` (open, read-only) for ``caller`` (stdio); with ``tokens``, for the bearer of a
    known token (streamable HTTP served at ``url``, which names this server in its OAuth resource metadata).
    ``default_namespace``: a target's namespace when the call names none (``kubewhy why``'s: the kubeconfig
    context's, else the settings')."""
    tools = Tools(app, caller, tokens, default_namespace)
    auth: dict[str, Any] = {}
    if tokens is not None:
        auth = {
            "token_verifier": StaticTokens(tokens),
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(url), resource_server_url=AnyHttpUrl(f"{url}/mcp"), validate_token_resource=False
            ),
        }
    server: MCPServer[Any] = MCPServer(name="kubewhy", instructions=INSTRUCTIONS, version=_version(), **auth)

    def tool(fn: Any, name: str, description: str) -> None:
        server.add_tool(fn, name=name, description=description, annotations=READ_ONLY, structured_output=False)

    tool(
        tools.why,
        "why",
        "Diagnose a pod, node, workload, Service, PVC or HPA (target: pod/NS/NAME, deploy/NS/NAME, node/NAME, or "
        "NAME with namespace). Returns the JSON report of `kubewhy why -o json`: findings with evidence, fixes "
        "as proposals, the checks run.",
    )
    tool(
        tools.diagnose_describe,
        "diagnose_describe",
        "Diagnose pasted `kubectl describe pod|node|pvc|svc` output (the text is the only input; the cluster is "
        "not read). Returns the same JSON report as `why`.",
    )
    tool(tools.incidents, "incidents", "The watchers' open incidents (in the namespaces the caller may read).")
    tool(
        tools.history,
        "history",
        "Who asked what, what kubewhy said, which fixes and alerts, newest first; optionally for one target.",
    )
    tool(tools.playbooks, "playbooks", "The playbooks in the catalogue: id, title, kinds, severity.")
    tool(tools.playbook, "playbook", "One playbook: what it diagnoses, and its YAML source.")

    def resource(uri: str, name: str, description: str, mime_type: str, read: Callable[[], str]) -> None:
        def body() -> str:
            app.record("mcp_resource", actor=tools.caller.name, source=SOURCE, details={"uri": uri})
            return read()

        server.resource(uri, name=name, description=description, mime_type=mime_type)(body)

    resource(
        "kubewhy://playbooks/schema",
        "playbook-format",
        "The playbook format as a JSON Schema (what `kubewhy playbooks schema` prints)",
        "application/json",
        schema_text,
    )
    resource(
        "kubewhy://catalogue",
        "catalogue",
        "The failure-mode catalogue: what kubewhy diagnoses, and by which playbook",
        "text/markdown",
        catalogue_text,
    )
    return server


def build_http_app(
    app: Kubewhy, tokens: TokenMap, url: str, host: str, default_namespace: str | None = None
) -> Starlette:
    """The streamable HTTP app (``/mcp``) for the bearers of ``tokens``, stateless (each request stands alone, so
    replicas need no shared session). Bound to loopback, the SDK's DNS-rebinding protection accepts only loopback
    Host headers; bound elsewhere (a pod), the bearer token is the gate."""
    server = build_server(app, Caller("anonymous", ()), tokens=tokens, url=url, default_namespace=default_namespace)
    return server.streamable_http_app(host=host, stateless_http=True, json_response=True)


__all__ = ["INSTRUCTIONS", "READ_ONLY", "StaticTokens", "Tools", "as_json", "build_http_app", "build_server"]
