"""The Kubernetes REST API over HTTP (aiohttp), backed by a :class:`~kubesim.cluster.Cluster`.

Serves discovery, CRUD, LIST/WATCH with selectors, PATCH (merge, strategic, JSON), server-side dry-run,
pods/log, pods/eviction, scale, the metrics API, server-side Tables for kubectl, a cAdvisor-style
``/metrics`` for Prometheus, and a small ``/kubesim/v1`` control API for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from aiohttp import web

from . import (
    authz,
    conversion,
    discovery,
    exec_ws,
    kubelet,
    openapi,
    openapi_pb,
    paging,
    portforward_ws,
    protobuf,
    rewind,
    tokens,
)
from . import events as event_conv
from . import logs as log_times
from .cluster import POD_KEY, Cluster, InvalidObject, generate_name
from .faults import Faults
from .patching import PatchError, apply_patch
from .resources import METRICS_GROUP, Resource, crd_resources
from .scenario import Identity, object_uid
from .selectors import FIELD_LABELS, SelectorError, check_field_labels, field_predicate, label_predicate
from .store import AlreadyExists, Conflict, Gone, NotFound, StoreError, dumps
from .tables import to_table
from .timeline import Timeline
from .usage import container_usages, exposition

VERSION_INFO = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.2",
    "gitCommit": "kubesim",
    "gitTreeState": "clean",
    "buildDate": "2024-06-11T20:20:00Z",
    "goVersion": "go1.22.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
JSON = "application/json"


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        list_meta: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.list_meta = list_meta


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None, list_meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": list_meta or {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=body if isinstance(body, bytes) else dumps(body), status=status, content_type=JSON)


_PROXY_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class Target:
    """A parsed resource URL."""

    res: Resource
    namespace: str | None
    name: str | None
    sub: str | None


@dataclass
class SimOptions:
    latency_ms: float = 0.0
    watch_bookmark_interval: float = 5.0
    default_watch_timeout: float = 1800.0
    timeline_mode: str = "auto"  # auto: steps run on the wall clock; manual: only via /kubesim/v1/timeline/advance
    # The API server's service proxy: "NAMESPACE/SERVICE" -> the URL of what really answers for it (the
    # Prometheus `kubewhy demo --prometheus` starts); other Services have no endpoints to proxy to.
    service_proxies: dict[str, str] = field(default_factory=dict)


class SimServer:
    def __init__(self, cluster: Cluster, options: SimOptions | None = None):
        self.cluster = cluster
        self.options = options or SimOptions()
        self.requests: Counter[str] = Counter()
        self.denied: Counter[str] = Counter()  # "verb resource[/sub]" refused by RBAC (403), for tests of rights
        self.partial: Counter[str] = Counter()  # "verb resource" asked as PartialObjectMetadata (metadata only)
        self.faults = Faults()  # /kubesim/v1/faults: scripted errors, delays and resets (kubesim/faults.py)
        self.timeline = Timeline(cluster, self.options.timeline_mode)
        self.app = web.Application(middlewares=[self._middleware], client_max_size=64 * 2**20)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)
        self._background: set[asyncio.Task[Any]] = set()
        self._openapi_cache: dict[tuple[Any, ...], bytes] = {}

    # ---- lifecycle ----------------------------------------------------------------------------------------
    async def _on_startup(self, app: web.Application) -> None:
        self.timeline.start()

    async def _on_shutdown(self, app: web.Application) -> None:
        self.timeline.stop()
        for task in self._background:
            task.cancel()
        self.cluster.store.close_all_watches()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self.options.latency_ms and not request.path.startswith("/kubesim/"):
            await asyncio.sleep(self.options.latency_ms / 1000)
        injected = await self.faults.intercept(request)
        if injected is not None:
            return injected
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(status_body(exc.code, exc.reason, exc.message, exc.details, exc.list_meta), exc.code)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # never crash on a request: answer like the API server would
            return json_response(status_body(500, "InternalError", f"Internal error occurred: {exc!r}"), 500)

    # ---- dispatch -----------------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["kubesim"]:
            return await self._control(request, parts[1:])
        if request.method == "GET" and parts[:1] == ["openapi"]:
            self.requests["get openapi"] += 1
            return self._openapi(parts[1:], request.headers.get("Accept", ""))
        if request.method == "GET":
            discovery = self._discovery(path, parts, request.headers.get("Accept", ""))
            if discovery is not None:
                self.requests["get discovery"] += 1
                return discovery
        if path in ("/metrics", "/metrics/cadvisor", "/metrics/resource"):
            self.requests["get metrics"] += 1
            return self._prometheus_metrics()
        if (
            parts[:3] == ["api", "v1", "namespaces"]
            and len(parts) > 6
            and parts[4] == "services"
            and parts[6] == "proxy"
        ):
            return await self._service_proxy(request, parts[3], parts[5], "/".join(parts[7:]))
        if parts[:3] == ["api", "v1", "nodes"] and len(parts) > 4 and parts[4] == "proxy":
            return self._node_proxy(request, parts[3], "/".join(parts[5:]))
        if parts and parts[0] in ("api", "apis"):
            return await self._resource_request(request, parts)
        if parts and parts[0] in ("healthz", "readyz", "livez"):
            return web.Response(text="ok")
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _discovery(self, path: str, parts: list[str], accept: str) -> web.Response | None:
        served = self.cluster.served()
        if path == "/version":
            return json_response(self._version())
        aggregated = discovery.negotiate(accept) if path in ("/api", "/apis") else None
        if aggregated:  # kubectl 1.27+: every group, version and resource in one answer (kubesim/discovery.py)
            doc = discovery.aggregated(served, path == "/api", aggregated)
            return web.Response(
                body=dumps(doc), headers={"Content-Type": discovery.content_type(aggregated), "Vary": "Accept"}
            )
        if path == "/api":
            return json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
                }
            )
        if path == "/apis":
            return json_response(served.group_list())
        if path == "/api/v1":
            return json_response(served.resource_list("", "v1"))
        if len(parts) == 2 and parts[0] == "apis":
            group = served.group(parts[1])
            if group is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(group)
        if len(parts) == 3 and parts[0] == "apis":
            lst = served.resource_list(parts[1], parts[2])
            if lst is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(lst)
        return None

    def _strict(self, res: Resource, body: Any) -> None:
        """``fieldValidation=Strict``: a field the kind's schema lacks is a 400, in the API server's words."""
        if not isinstance(body, dict):
            return
        unknown = openapi.unknown_fields(body, res, int(self._version()["minor"]))
        if unknown:
            fields = ", ".join(f'unknown field "{f}"' for f in unknown)
            raise ApiError(
                400,
                "BadRequest",
                f'{res.kind} in version "{res.version}" cannot be handled as a '
                f"{res.kind}: strict decoding error: {fields}",
            )

    def _version(self) -> dict[str, str]:
        """The control plane is as new as the newest kubelet (a 1.30.2 default for a cluster without nodes)."""
        versions = []
        for node in self.cluster.store.all_objects(("", "nodes")):
            text = str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or "")
            numbers = text.lstrip("v").split("-")[0].split(".")
            if len(numbers) == 3 and all(n.isdigit() for n in numbers):
                versions.append(tuple(int(n) for n in numbers))
        if not versions:
            return VERSION_INFO
        major, minor, patch = max(versions)
        return {**VERSION_INFO, "major": str(major), "minor": str(minor), "gitVersion": f"v{major}.{minor}.{patch}"}

    def _openapi(self, parts: list[str], accept: str) -> web.Response:
        """``/openapi/v2`` and ``/openapi/v3[/GROUP-VERSION]`` (kubesim/openapi.py), cached per version."""
        version = self._version()
        minor = int(version["minor"])
        served = self.cluster.served()
        by_gv: dict[str, list[Resource]] = {}
        for res in served.all():
            by_gv.setdefault(res.group_version, []).append(res)
        crds = {
            (r.group, r.kind): crd
            for crd in self.cluster.store.all_objects(("apiextensions.k8s.io", "customresourcedefinitions"))
            for r in crd_resources(crd)
        }
        proto = parts == ["v2"] and "protobuf" in accept and "json" not in accept
        key = (tuple(parts), version["gitVersion"], len(crds), len(by_gv), proto)
        if key not in self._openapi_cache:
            try:
                if parts == ["v2"]:
                    doc = openapi.v2_doc(served.all(), minor, version["gitVersion"])
                elif parts == ["v3"]:
                    doc = openapi.v3_index(sorted(by_gv), minor)
                elif parts[:1] == ["v3"] and parts[1:2] in (["api"], ["apis"]) and "/".join(parts[2:]) in by_gv:
                    gv = "/".join(parts[2:])
                    doc = openapi.group_version_doc(by_gv[gv], minor, version["gitVersion"], crds)
                else:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
            except openapi.OpenAPIUnavailable as exc:
                raise ApiError(503, "ServiceUnavailable", f"OpenAPI is not available: {exc}") from None
            self._openapi_cache[key] = openapi_pb.encode(doc) if proto else dumps(doc)
        if proto:  # kubectl 1.27 and 1.28 read v2 only in gnostic's protobuf
            return web.Response(body=self._openapi_cache[key], content_type=openapi_pb.MEDIA_TYPE)
        return json_response(self._openapi_cache[key])

    def _parse_target(self, parts: list[str]) -> Target:
        served = self.cluster.served()
        if parts[0] == "api":
            if len(parts) < 3 or parts[1] != "v1":
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            group, version, rest = "", "v1", parts[2:]
        else:
            if len(parts) < 4:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            group, version, rest = parts[1], parts[2], parts[3:]
        if rest[0] == "watch":  # legacy /watch/ paths
            rest = rest[1:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and served.by_path(group, version, rest[2]) is not None:
            namespace, rest = rest[1], rest[2:]
        res = served.by_path(group, version, rest[0])
        if res is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = "/".join(rest[2:]) if len(rest) > 2 else None
        if sub and sub not in res.subresources and not (sub.startswith("proxy/") and "proxy" in res.subresources):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if namespace is not None and not res.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced and name is not None and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(res, namespace, name, sub)

    async def _resource_request(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        t = self._parse_target(parts)
        q = request.query
        method = request.method
        resource_label = t.res.plural + (f"/{t.sub}" if t.sub else "")
        if t.res.group == METRICS_GROUP:
            if method != "GET":
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            self.requests[f"{'get' if t.name else 'list'} {resource_label}"] += 1
            self._authorize(self._caller(request), "get" if t.name else "list", t.res, None, t.name, t.namespace)
            return self._metrics_api(t, q, self._table_request(request))
        watching = method == "GET" and (
            q.get("watch") in ("true", "1", "True") or parts[3:4] == ["watch"] or "watch" in parts[1:4]
        )
        verb = {
            "GET": "watch" if watching else ("get" if t.name else "list"),
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if t.name else "deletecollection",
        }.get(method)
        if verb is None or (verb not in t.res.verbs and not t.sub):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.requests[f"{verb} {resource_label}"] += 1
        if verb in ("get", "list", "watch") and self._metadata_request(
            request, "PartialObjectMetadataList" if verb == "list" else "PartialObjectMetadata"
        ):
            self.partial[f"{verb} {resource_label}"] += 1  # of those, asked for metadata only
        who = self._caller(request)
        if (t.res.group, t.res.plural) in authz.REVIEW_KINDS:
            body = await self._body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request must be an object")
            return json_response(authz.review(self.cluster.store, who, t.res.plural, body), 201)
        self._authorize(who, verb, t.res, t.sub, t.name, t.namespace)
        if t.sub == "exec" and t.name and exec_ws.is_upgrade(request):  # kubectl 1.30+: WebSocket (v5.channel)
            return await exec_ws.serve(request, self._get(t))
        if t.sub == "portforward" and t.name and exec_ws.is_upgrade(request):  # v4.channel.k8s.io, an HTTP stub
            return await portforward_ws.serve(request, self._get(t))
        if t.sub in ("exec", "attach", "portforward") or (t.sub or "").startswith("proxy"):
            what = {"exec": "run commands in", "attach": "attach to", "portforward": "forward ports to"}.get(
                t.sub or "", "proxy to"
            )
            raise ApiError(
                400,
                "BadRequest",
                f"kubesim, the simulator behind this cluster, runs no containers and "
                f"cannot {what} {t.res.plural}/{t.name} (not supported by the "
                f"simulator)",
            )
        dry_run = q.get("dryRun") == "All"
        strict = q.get("fieldValidation") == "Strict"
        if verb == "watch":
            return await self._watch(request, t)
        if verb == "list":
            return self._list(request, t)
        if verb == "get":
            if t.sub == "log":
                return await self._logs(request, t)
            if t.sub == "scale":
                return json_response(self._scale_of(self._get(t)))
            return self._respond_object(request, t.res, self._get(t))
        if verb == "create":
            if t.sub == "eviction":
                try:
                    self.cluster.api_evict(t.namespace or "", t.name or "", dry_run)
                except InvalidObject as exc:
                    raise ApiError(exc.code, exc.reason, str(exc)) from None
                except NotFound:
                    raise self._not_found(t) from None
                return json_response(
                    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
                )
            if t.sub == "token":
                return await self._token(request, t)
            if t.name or t.sub:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            body = await self._body(request)
            if strict:
                self._strict(t.res, body)
            return self._create(t, body, dry_run)
        if verb == "update":
            replacement = await self._body(request)
            if not isinstance(replacement, dict):
                raise ApiError(400, "BadRequest", "the body of the request must be an object")
            if strict:
                self._strict(t.res, replacement)
            return self._write(t, lambda old: self._merge_sub(t, old, replacement), dry_run, body=replacement)
        if verb == "patch":
            patch = await self._body(request)
            ctype = request.headers.get("Content-Type", "application/merge-patch+json")
            if strict and ctype.startswith("application/apply-patch") and not t.sub:
                self._strict(t.res, patch)
            if (
                ctype.startswith("application/apply-patch")
                and not t.sub
                and isinstance(patch, dict)
                and self.cluster.store.get(t.res.key, t.namespace or "", t.name or "") is None
            ):
                # server-side apply of an object that does not exist yet creates it
                if (patch.get("metadata") or {}).get("name", t.name) != t.name:
                    raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
                patch.setdefault("metadata", {})["name"] = t.name
                return self._create(Target(t.res, t.namespace, None, None), patch, dry_run)

            def patched(old: dict[str, Any]) -> dict[str, Any]:
                try:
                    if t.sub == "scale":
                        scale = apply_patch(self._scale_of(old), patch, ctype)
                        new = copy.deepcopy(old)
                        new.setdefault("spec", {})["replicas"] = (scale.get("spec") or {}).get("replicas")
                        return new
                    return self._merge_sub(t, old, apply_patch(old, patch, ctype))
                except PatchError as exc:
                    code = 415 if "unknown format" in str(exc) else 422
                    raise ApiError(code, "UnsupportedMediaType" if code == 415 else "Invalid", str(exc)) from None

            return self._write(t, patched, dry_run, body=None, scale=t.sub == "scale")
        if verb == "delete":
            body = await self._body(request, optional=True) or {}
            propagation = q.get("propagationPolicy") or body.get("propagationPolicy")
            if q.get("dryRun") is None and "All" in (body.get("dryRun") or []):
                dry_run = True
            self._check_preconditions(t, body.get("preconditions") or {})
            try:
                obj = self.cluster.delete(
                    t.res, t.namespace or "", t.name or "", propagation=propagation, dry_run=dry_run
                )
            except NotFound:
                raise self._not_found(t) from None
            return json_response(obj)
        if verb == "deletecollection":
            pred = self._predicate(request, t.res)
            victims = [k for k, _ in self.cluster.store.entries(t.res.key, t.namespace, pred)]
            for ns, name in victims:
                self.cluster.delete(t.res, ns, name, dry_run=dry_run)
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ---- helpers ------------------------------------------------------------------------------------------
    async def _token(self, request: web.Request, t: Target) -> web.Response:
        """``kubectl create token``: a TokenRequest for an existing service account (kubesim/tokens.py)."""
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        try:
            return json_response(tokens.issue(self._get(t), body), 201)
        except tokens.InvalidTokenRequest as exc:
            raise ApiError(
                422, "Invalid", str(exc), {"name": t.name, "group": "authentication.k8s.io", "kind": "TokenRequest"}
            ) from None

    def _not_found(self, t: Target) -> ApiError:
        group = f".{t.res.group}" if t.res.group else ""
        return ApiError(
            404,
            "NotFound",
            f'{t.res.plural}{group} "{t.name}" not found',
            {"name": t.name, "group": t.res.group, "kind": t.res.plural},
        )

    def _check_preconditions(self, t: Target, pre: dict[str, Any]) -> None:
        """A DELETE's ``preconditions`` (uid, resourceVersion): a 409 when the object is no longer that one."""
        if not pre:
            return
        meta = self._get(t).get("metadata") or {}
        for key in ("uid", "resourceVersion"):
            want = pre.get(key)
            if want and str(meta.get(key)) != str(want):
                label = "UID" if key == "uid" else "ResourceVersion"
                raise ApiError(
                    409,
                    "Conflict",
                    f"Precondition failed: {label} in precondition: {want}, {label} in object meta: {meta.get(key)}",
                )

    def _get(self, t: Target) -> dict[str, Any]:
        obj = self.cluster.store.get(t.res.key, t.namespace or "", t.name or "")
        if obj is None:
            raise self._not_found(t)
        return obj

    async def _body(self, request: web.Request, optional: bool = False) -> Any:
        raw = await request.read()
        if not raw:
            if optional:
                return None
            raise ApiError(400, "BadRequest", "the request body is empty")
        ctype = request.headers.get("Content-Type", "")
        if "protobuf" in ctype:  # kubectl 1.32+ typed clients (kubesim/protobuf.py)
            try:
                return protobuf.decode(raw)
            except (protobuf.ProtobufError, UnicodeDecodeError, ValueError) as exc:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the simulator cannot decode this protobuf body ({exc});"
                    f" accepted media types include: application/json, "
                    f"application/yaml",
                ) from None
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from None

    def _merge_sub(self, t: Target, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """A write to /status changes only status; a write to the object keeps its status."""
        if t.sub == "status":
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status")
            return merged
        if "status" in t.res.subresources and "status" in old:
            new = {**new, "status": old["status"]}
        return new

    def _write(
        self,
        t: Target,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        dry_run: bool,
        *,
        body: Any,
        scale: bool = False,
    ) -> web.Response:
        old = self._get(t)
        view = self._view(t.res)
        new = change(view(old) if view else old)
        if not isinstance(new, dict):
            raise ApiError(422, "Invalid", "the patched object is not an object")
        if view:
            new = conversion.to_storage(t.res, new)
        new = self.cluster.defaulted(t.res, new, old)
        meta = new.setdefault("metadata", {})
        if meta.get("namespace", t.namespace or None) != (old["metadata"].get("namespace")):
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace on the request")
        if old["metadata"].get("namespace"):  # a body without one is in the namespace of the URL
            meta["namespace"] = old["metadata"]["namespace"]
        new["apiVersion"], new["kind"] = old.get("apiVersion"), old.get("kind")
        expect_rv = meta.get("resourceVersion") if body is not None else None
        meta["name"] = meta.get("name", t.name)
        try:
            self.cluster.validate_update(t.res, old, new)
            result = self.cluster.store.update(t.res.key, new, dry_run=dry_run, expect_rv=expect_rv)
        except InvalidObject as exc:
            raise ApiError(exc.code, exc.reason, str(exc)) from None
        except Conflict:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {t.res.plural} "{t.name}": the '
                f"object has been modified; please apply your changes to the latest "
                f"version and try again",
            ) from None
        if not dry_run:
            self.cluster.after_write(t.res, old, result)
        if scale:
            return json_response(self._scale_of(result))
        return json_response(view(result) if view else result)

    def _create(self, t: Target, body: Any, dry_run: bool) -> web.Response:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        res = t.res
        body = self.cluster.defaulted(res, conversion.to_storage(res, body))
        meta = body.setdefault("metadata", {})
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"])
            else:
                raise ApiError(
                    422,
                    "Invalid",
                    f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                )
        if res.namespaced:
            if meta.get("namespace") and t.namespace and meta["namespace"] != t.namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = t.namespace or meta.get("namespace") or "default"
        body.setdefault("apiVersion", res.group_version)
        body.setdefault("kind", res.kind)
        meta.pop("creationTimestamp", None)  # the server stamps it (clients send null)
        meta.setdefault(
            "uid",
            object_uid(body["apiVersion"], res.kind, meta.get("namespace", ""), meta["name"])
            if dry_run
            else str(uuid.uuid4()),
        )
        if res.key == POD_KEY:
            body.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        try:
            obj = self.cluster.store.create(res.key, body, dry_run=dry_run)
        except AlreadyExists:
            group = f".{res.group}" if res.group else ""
            raise ApiError(
                409,
                "AlreadyExists",
                f'{res.plural}{group} "{meta["name"]}" already exists',
                {"name": meta["name"], "group": res.group, "kind": res.plural},
            ) from None
        if not dry_run:
            self.cluster.after_write(res, None, obj)
        view = self._view(res)
        return json_response(view(obj) if view else obj, 201)

    def _scale_of(self, obj: dict[str, Any]) -> dict[str, Any]:
        sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
                "creationTimestamp": meta.get("creationTimestamp"),
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sel.items()),
            },
        }

    def _predicate(self, request: web.Request, res: Resource) -> Callable[[dict[str, Any]], bool] | None:
        q = request.query
        aliases = event_conv.FIELD_ALIASES if res.group == "events.k8s.io" else None
        try:
            check_field_labels(
                q.get("fieldSelector"),
                FIELD_LABELS.get(
                    ("", "events") if res.group == "events.k8s.io" else (res.group, res.plural), frozenset()
                ),
                aliases,
            )
            preds = [
                p
                for p in (label_predicate(q.get("labelSelector")), field_predicate(q.get("fieldSelector"), aliases))
                if p
            ]
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        if not preds:
            return None
        if len(preds) == 1:
            return preds[0]
        return lambda o: all(p(o) for p in preds)

    def _view(self, res: Resource) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        return conversion.view(res)

    def _table_request(self, request: web.Request) -> str | None:
        accept = request.headers.get("Accept", "")
        for part in accept.split(","):
            if "as=Table" in part:
                return "meta.k8s.io/v1beta1" if "v=v1beta1" in part else "meta.k8s.io/v1"
        return None

    @staticmethod
    def _metadata_request(request: web.Request, kind: str) -> bool:
        """Whether the client asked for metadata only (``Accept: application/json;as=KIND;g=meta.k8s.io;v=v1``,
        KIND ``PartialObjectMetadataList`` for a LIST, ``PartialObjectMetadata`` for a GET or a WATCH's events), as
        client-go's metadata informers do. An Accept that also names a Table asks for the Table."""
        for part in request.headers.get("Accept", "").split(","):
            params = {p.strip() for p in part.split(";")[1:]}
            if f"as={kind}" in params and "g=meta.k8s.io" in params and "json" in part:
                return True
        return False

    @staticmethod
    def _partial(obj: dict[str, Any]) -> dict[str, Any]:
        """An object as a ``PartialObjectMetadata``: its metadata only (labels, annotations, managedFields,
        resourceVersion, generation …), none of its spec, data or status."""
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}

    def _respond_object(self, request: web.Request, res: Resource, obj: dict[str, Any]) -> web.Response:
        if self._metadata_request(request, "PartialObjectMetadata") and not self._table_request(request):
            return json_response(self._partial(obj))
        table = self._table_request(request)
        if table:
            return json_response(
                to_table(
                    res,
                    [obj],
                    include=request.query.get("includeObject", "Metadata"),
                    api_version=table,
                    view=self._view(res),
                )
            )
        view = self._view(res)
        return json_response(view(obj) if view else obj)

    # ---- list and watch -----------------------------------------------------------------------------------
    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        store = self.cluster.store
        pred = self._predicate(request, t.res)
        try:  # where the page starts and the version it is read at (kubesim/paging.py)
            at = paging.page(q, t.namespace, t.res.namespaced)
        except paging.ListOptionsError as exc:
            raise ApiError(exc.code, exc.reason, exc.message, exc.details) from None
        start_after, read_at = at.start_after, at.read_at
        limit = int(q.get("limit") or 0)
        selected: list[tuple[tuple[str, str], Any]] = []
        more = False
        source: Iterable[tuple[tuple[str, str], Any]] = store.entries(t.res.key, t.namespace, pred, start_after)
        past: rewind.Past | None = None
        if read_at is not None and (read_at != store.rv or not q.get("continue")):
            try:  # the list as it was then (kubesim/rewind.py), or 410 once compacted away
                source = past = rewind.entries_at(store, t.res.key, t.namespace, pred, start_after, read_at)
            except Gone as exc:
                if q.get("continue"):
                    expired = paging.expired(q["continue"])
                    raise ApiError(
                        expired.code, expired.reason, expired.message, list_meta={"continue": expired.continue_token}
                    ) from None
                raise ApiError(exc.status, exc.reason, str(exc)) from None
            except StoreError as exc:
                raise ApiError(exc.status, exc.reason, str(exc)) from None
        indexed = _event_index(q.get("fieldSelector"), t.res)
        if indexed is not None and not start_after and read_at is None:
            field, value = indexed
            hits = (
                store.events_about(value)
                if field == "name"
                else store.pods_on(value)
                if field == "node"
                else store.events_with_reason(value)
            )
            source = (
                (k, e)
                for k, e in hits
                if (t.namespace is None or k[0] == t.namespace) and (pred is None or pred(e.obj))
            )
        for k, entry in source:
            if limit and len(selected) >= limit:
                more = True
                break
            selected.append((k, entry))
        rv = store.rv if read_at is None else read_at
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if more:
            last = selected[-1][0]
            meta["continue"] = paging.encode(rv, last, t.namespace, t.res.namespaced)
            if pred is None:
                meta["remainingItemCount"] = (
                    past.count_after(last) if past is not None else store.count_after(t.res.key, t.namespace, last)
                )
        table = self._table_request(request)
        if table:
            return json_response(
                to_table(
                    t.res,
                    [e.obj for _, e in selected],
                    list_meta=meta,
                    include=q.get("includeObject", "Metadata"),
                    api_version=table,
                    view=self._view(t.res),
                )
            )
        if self._metadata_request(request, "PartialObjectMetadataList"):
            head = dumps({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
            items = b",".join(dumps(self._partial(e.obj)) for _, e in selected)
            return json_response(head[:-1] + b',"items":[' + items + b"]}")
        view = self._view(t.res)
        head = dumps({"kind": t.res.list_kind, "apiVersion": t.res.group_version, "metadata": meta})[:-1]
        items = b",".join(dumps(view(e.obj)) if view else e.raw for _, e in selected)
        return json_response(head + b',"items":[' + items + b"]}")

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        store = self.cluster.store
        pred = self._predicate(request, t.res)
        rv_param = q.get("resourceVersion")
        since = None if rv_param in (None, "", "0") else rv_param
        table = self._table_request(request)
        partial = not table and self._metadata_request(request, "PartialObjectMetadata")
        view = self._view(t.res)
        if since is not None and since.isdigit() and int(since) > store.rv:
            # a version this server has not reached (a client that saw a server before its restart, or an etcd
            # restore): the real API server's watch cache waits for it, then answers 504 "Too large resource
            # version" with ResourceVersionTooLarge; the client must LIST again
            message = f"Too large resource version: {since}, current: {store.rv}"
            causes = {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]}
            return json_response(status_body(504, "Timeout", message, {**causes, "retryAfterSeconds": 1}), 504)
        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        def line(kind: str, obj: dict[str, Any]) -> bytes:
            if table:
                obj = to_table(t.res, [obj], include=q.get("includeObject", "Metadata"), api_version=table, view=view)
            elif partial and kind != "ERROR":  # a BOOKMARK too comes as PartialObjectMetadata
                obj = self._partial(obj)
            elif view:
                obj = view(obj)
            return b'{"type":"' + kind.encode() + b'","object":' + dumps(obj) + b"}\n"

        try:
            since_rv = int(since) if since is not None else None
        except ValueError:
            await resp.write(line("ERROR", status_body(400, "BadRequest", f"invalid resource version: {since}")))
            return resp
        try:
            watcher, backlog = store.watch(t.res.key, t.namespace, pred, since_rv)
        except Gone as exc:
            await resp.write(line("ERROR", status_body(410, "Expired", str(exc))))
            return resp
        loop = asyncio.get_running_loop()
        timeout = float(q.get("timeoutSeconds") or self.options.default_watch_timeout)
        deadline = loop.time() + timeout
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        next_bookmark = loop.time() + self.options.watch_bookmark_interval
        try:
            if since_rv is None:
                buf = [line("ADDED", e.obj) for _, e in store.entries(t.res.key, t.namespace, pred)]
                if buf:
                    await resp.write(b"".join(buf))
            buf = []
            for change in backlog:
                kind = watcher.translate(change)
                if kind:
                    buf.append(line(kind, change.obj))
            if buf:
                await resp.write(b"".join(buf))
            while True:
                now = loop.time()
                if now >= deadline:
                    break
                if watcher.queue.empty():
                    wait = min(deadline, next_bookmark) - now if bookmarks else deadline - now
                    try:
                        got = await asyncio.wait_for(watcher.queue.get(), max(wait, 0.001))
                    except TimeoutError:
                        if bookmarks and loop.time() >= next_bookmark:
                            await resp.write(
                                line(
                                    "BOOKMARK",
                                    {
                                        "kind": t.res.kind,
                                        "apiVersion": t.res.group_version,
                                        "metadata": {"resourceVersion": str(store.rv)},
                                    },
                                )
                            )
                            next_bookmark = loop.time() + self.options.watch_bookmark_interval
                        continue
                    batch = [got]
                else:
                    batch = []
                while not watcher.queue.empty():
                    batch.append(watcher.queue.get_nowait())
                if any(c is None for c in batch) or watcher.overflowed:  # None: the store closed this watch
                    break
                out = []
                for change in (c for c in batch if c is not None):
                    kind = watcher.translate(change)
                    if kind:
                        cache_key = (kind, table, t.res.group, partial)
                        cache = change.__dict__.setdefault("_lines", {})
                        if cache_key not in cache:
                            cache[cache_key] = line(kind, change.obj)
                        out.append(cache[cache_key])
                if out:
                    await resp.write(b"".join(out))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            store.unwatch(watcher)
        return resp

    # ---- logs ---------------------------------------------------------------------------------------------
    async def _logs(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        pod = self._get(t)
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(containers) != 1:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {t.name}, choose one "
                    f"of: [{' '.join(containers)}] or one of the init containers: "
                    f"[{' '.join(init)}]",
                )
            container = containers[0]
        if container not in containers + init:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {t.name}")
        status = pod.get("status") or {}
        statuses = {
            c.get("name"): c
            for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
        }
        cs = statuses.get(container, {})
        previous = q.get("previous") in ("true", "1")
        if previous:
            if not (cs.get("lastState") or {}).get("terminated"):
                raise ApiError(
                    400, "BadRequest", f'previous terminated container "{container}" in pod "{t.name}" not found'
                )
        else:
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting and not self.cluster.log_text(t.namespace or "", t.name or "", container, False):
                raise ApiError(
                    400,
                    "BadRequest",
                    f'container "{container}" in pod "{t.name}" is waiting to '
                    f"start: {waiting.get('reason', 'ContainerCreating')}",
                )
        text = self.cluster.log_text(t.namespace or "", t.name or "", container, previous)
        started = (
            ((cs.get("lastState") if previous else cs.get("state")) or {}).get("terminated" if previous else "running")
            or {}
        ).get("startedAt", "")
        lines = log_times.stamped(text.splitlines(keepends=True), started)
        since = self._log_since(q)
        if since is not None:
            lines = [(ts, ln) for ts, ln in lines if ts >= since]
        if q.get("tailLines") is not None:
            n = self._int_param(q, "tailLines")
            lines = lines[-n:] if n > 0 else []
        if q.get("timestamps") in ("true", "1"):
            body = "".join(f"{log_times.rfc3339_nano(ts)} {ln}" for ts, ln in lines)
        else:
            body = "".join(ln for _, ln in lines)
        if q.get("limitBytes"):
            body = body.encode()[: self._int_param(q, "limitBytes")].decode(errors="ignore")
        if q.get("follow") not in ("true", "1"):
            return web.Response(text=body, content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(body.encode())
        sent = len(text)
        try:
            while True:  # follow: stream what the timeline appends until the client goes away
                await asyncio.sleep(0.2)
                now_text = self.cluster.log_text(t.namespace or "", t.name or "", container, False)
                if len(now_text) > sent:
                    await resp.write(now_text[sent:].encode())
                    sent = len(now_text)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    @staticmethod
    def _int_param(q: Any, name: str) -> int:
        try:
            return int(q[name])
        except ValueError:
            raise ApiError(400, "BadRequest", f"{name} must be an integer, got {q[name]!r}") from None

    def _log_since(self, q: Any) -> datetime | None:
        """``sinceSeconds`` (relative to now) or ``sinceTime`` (RFC 3339): only lines written from then on."""
        if q.get("sinceSeconds") and q.get("sinceTime"):
            raise ApiError(422, "Invalid", "at most one of sinceTime or sinceSeconds may be specified")
        if q.get("sinceSeconds"):
            seconds = self._int_param(q, "sinceSeconds")
            if seconds < 1:
                raise ApiError(422, "Invalid", "sinceSeconds: Invalid value: must be greater than 0")
            return datetime.now(UTC) - timedelta(seconds=seconds)
        if q.get("sinceTime"):
            when = log_times.parse_time(q["sinceTime"])
            if when is None:
                raise ApiError(400, "BadRequest", f"sinceTime is not an RFC 3339 time: {q['sinceTime']!r}")
            return when
        return None

    # ---- metrics ------------------------------------------------------------------------------------------
    def _metrics_api(self, t: Target, q: Any, table: str | None = None) -> web.Response:
        if t.res.plural == "pods":
            items = [
                m
                for m in self.cluster.pod_metrics()
                if t.namespace is None or m["metadata"]["namespace"] == t.namespace
            ]
            kind = "PodMetrics"
        else:
            items = self.cluster.node_metrics()
            kind = "NodeMetrics"
        pred = label_predicate(q.get("labelSelector"))
        if pred:
            items = [m for m in items if pred(m)]
        if t.name:
            items = [m for m in items if m["metadata"]["name"] == t.name]
            if not items:
                raise ApiError(404, "NotFound", f'{t.res.plural}.metrics.k8s.io "{t.name}" not found')
            if not table:
                return json_response(items[0])
        if table:
            return json_response(to_table(t.res, items, include=q.get("includeObject", "Metadata"), api_version=table))
        return json_response(
            {"kind": f"{kind}List", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}
        )

    def _prometheus_metrics(self) -> web.Response:
        usages = container_usages(self.cluster.store.all_objects(POD_KEY), self.cluster.scenario.pod_usage)
        text = exposition(usages, self.cluster.scenario.volume_usage, self.cluster.elapsed)
        return web.Response(
            text=text, content_type="text/plain", charset="utf-8", headers={"X-Content-Type-Options": "nosniff"}
        )

    def _caller(self, request: web.Request) -> Identity:
        try:
            return authz.identity(
                self.cluster.scenario.users,
                request.headers.get("Authorization"),
                request.headers.get("Impersonate-User"),
                tuple(request.headers.getall("Impersonate-Group", [])),
                self.cluster.store,
            )
        except authz.Unauthorized:
            raise ApiError(401, "Unauthorized", "Unauthorized") from None
        except authz.BadImpersonation as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        except authz.Forbidden as exc:
            raise ApiError(403, "Forbidden", str(exc)) from None

    def _authorize(
        self, who: Identity, verb: str, res: Resource | None, sub: str | None, name: str | None, namespace: str | None
    ) -> None:
        """403 Forbidden, in the API server's words, unless RBAC allows the request."""
        if res is None or authz.is_superuser(who):
            return
        attrs = authz.Attributes(verb, res.group, res.plural, (sub or "").split("/")[0], name or "", namespace or "")
        if not authz.authorize(self.cluster.store, who, attrs):
            self.denied[f"{verb} {res.plural}" + (f"/{attrs.subresource}" if attrs.subresource else "")] += 1
            raise ApiError(
                403,
                "Forbidden",
                authz.forbidden_message(who, attrs, res.plural),
                {"name": name, "group": res.group, "kind": res.plural}
                if name
                else {"group": res.group, "kind": res.plural},
            )

    async def _service_proxy(self, request: web.Request, namespace: str, service: str, path: str) -> web.Response:
        """``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH``: forwarded to the URL the options give
        for that Service (its scheme and port are the upstream's own), else 503 as for a Service without
        endpoints."""
        pieces = service.split(":")
        name = pieces[1] if len(pieces) == 3 or (len(pieces) == 2 and pieces[0] in ("http", "https")) else pieces[0]
        self.requests["proxy services"] += 1
        self._authorize(
            self._caller(request),
            _PROXY_VERBS.get(request.method, "get"),
            self.cluster.catalog.by_path("", "v1", "services"),
            "proxy",
            name,
            namespace,
        )
        if self.cluster.store.get(("", "services"), namespace, name) is None:
            raise ApiError(404, "NotFound", f'services "{name}" not found')
        upstream = self.options.service_proxies.get(f"{namespace}/{name}")
        if upstream is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{service}"')
        import aiohttp

        url = upstream.rstrip("/") + "/" + path
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
                session.request(
                    request.method,
                    url,
                    params=request.query,
                    data=await request.read(),
                    headers={k: v for k, v in request.headers.items() if k.lower() in ("accept", "content-type")},
                ) as resp,
            ):
                body = await resp.read()
                return web.Response(
                    body=body, status=resp.status, content_type=resp.content_type or "application/octet-stream"
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from None

    def _node_proxy(self, request: web.Request, node: str, path: str) -> web.Response:
        """``/api/v1/nodes/NODE/proxy/PATH``: the simulated kubelet of that node (kubesim/kubelet.py)."""
        if request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the simulated kubelet answers GET only")
        self.requests[f"get nodes/proxy/{path}"] += 1
        self._authorize(
            self._caller(request), "get", self.cluster.catalog.by_path("", "v1", "nodes"), "proxy", node, None
        )
        try:
            if path == "stats/summary":
                return json_response(kubelet.summary(self.cluster, node))
            if path in ("metrics/cadvisor", "metrics"):
                text = (kubelet.cadvisor if path == "metrics/cadvisor" else kubelet.kubelet_metrics)(self.cluster, node)
                return web.Response(text=text, content_type="text/plain", charset="utf-8")
        except kubelet.KubeletUnavailable as exc:
            raise ApiError(exc.code, exc.reason, exc.message) from None
        if self.cluster.store.get(("", "nodes"), "", node) is None:
            raise ApiError(404, "NotFound", f'nodes "{node}" not found')
        raise ApiError(404, "NotFound", f"the simulated kubelet serves only {', '.join(kubelet.PATHS)}, not /{path}")

    # ---- control API --------------------------------------------------------------------------------------
    async def _control(self, request: web.Request, parts: list[str]) -> web.Response:
        route = "/".join(parts)
        if route == "v1/faults":
            return await self.faults.control(request)
        if route == "v1/stats" and request.method == "GET":
            return json_response(
                {
                    "requests": dict(self.requests),
                    "denied": dict(self.denied),
                    "partial": dict(self.partial),
                    "total": sum(self.requests.values()),
                    "resourceVersion": self.cluster.store.rv,
                }
            )
        if route == "v1/stats/reset" and request.method == "POST":
            self.requests.clear()
            self.denied.clear()
            self.partial.clear()
            return json_response({"ok": True})
        if route == "v1/scenario" and request.method == "GET":
            sc = self.cluster.scenario
            return json_response(
                {
                    "name": sc.name,
                    "description": sc.description,
                    "expect": [e.__dict__ for e in sc.expect],
                    "timeline": {"pending": self.timeline.pending, "applied": self.timeline.applied},
                }
            )
        if route == "v1/apply" and request.method == "POST":
            body = await self._body(request)
            steps = body.get("steps") if isinstance(body, dict) else body
            try:
                results = [self.timeline.apply_step_spec(step) for step in steps or []]
            except (InvalidObject, StoreError, ValueError, KeyError) as exc:
                raise ApiError(422, "Invalid", f"cannot apply step: {exc}") from None
            return json_response({"applied": results, "resourceVersion": self.cluster.store.rv})
        if route == "v1/timeline/advance" and request.method == "POST":
            body = await self._body(request, optional=True) or {}
            applied = self.timeline.advance(float(body.get("seconds", 0)))
            return json_response({"applied": applied, "pending": self.timeline.pending})
        if route == "v1/churn" and request.method == "POST":
            from .generate import churn_events

            body = await self._body(request, optional=True) or {}
            rate, seconds = float(body.get("rate", 100)), float(body.get("seconds", 10))
            self.spawn(
                churn_events(self.cluster, rate=rate, seconds=seconds, namespace=body.get("namespace", "default"))
            )
            return json_response({"rate": rate, "seconds": seconds})
        raise ApiError(404, "NotFound", f"unknown control endpoint /kubesim/{route}")


def _event_index(field_selector: str | None, res: Resource) -> tuple[str, str] | None:
    """An events LIST restricted to one involvedObject.name or one reason, or a pods LIST restricted to one
    spec.nodeName, can use the store's indexes (the predicate still applies the whole selector)."""
    if not field_selector or res.key not in (("", "events"), ("", "pods")):
        return None
    if res.key == ("", "pods"):
        for part in field_selector.split(","):
            key, sep, value = part.partition("=")
            if sep and not key.endswith("!") and key.strip() == "spec.nodeName" and value.lstrip("=").strip():
                return "node", value.lstrip("=").strip()
        return None
    found = None
    for part in field_selector.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.endswith("!"):
            continue
        if key.strip() in ("involvedObject.name", "regarding.name"):
            return "name", value.lstrip("=").strip()
        if key.strip() == "reason":
            found = ("reason", value.lstrip("=").strip())
    return found


__all__ = ["SimServer", "SimOptions", "ApiError"]
