"""The live cluster over HTTP, called in threads, returning raw JSON dicts.

Raw dicts (not the client's generated models) because the models are slow to build for thousands of pods
and reject objects real clusters do send (e.g. legacy events without eventTime). Every object and log text read
leaves this module redacted (``kubewhy.redact``); the write path (``patch``) sends and returns objects as is.

Two transports, chosen by :func:`build_api_client` from the kubeconfig:

- **Direct** (:class:`DirectClient`): for a kubeconfig kubewhy reads exactly — one file, a context whose cluster
  has a ``server`` (and maybe a CA or ``insecure-skip-tls-verify``) and whose user has a token or a client
  certificate, or nothing. The requests go out through the standard library's ``http.client`` with a small pool
  of keep-alive connections. Importing the official client costs a ``kubewhy why`` about 120 ms, more than the
  four round trips of its diagnosis (docs/benchmarks.md); ``http.client`` and ``ssl`` cost 5 ms.
- **The official ``kubernetes`` client** for everything else: several files in ``KUBECONFIG``, ``exec`` and
  ``auth-provider`` plugins, basic auth, token files, proxies, in-cluster service accounts. An explicit
  ``ApiClient`` per adapter, no process-wide ``load_kube_config()``; imported only then.

Both send the same requests and give the same answers (``tests/kubewhy/test_kube_transports.py``).
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import concurrent.futures
import contextlib
import functools
import http.client
import json
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from .. import telemetry
from ..errors import ClusterUnreachable, KubeApiError
from ..kinds import info
from ..redact import redact_log, redact_object
from .normalize import normalize
from .ports import ApiResource, Capabilities, Obj

if TYPE_CHECKING:
    from kubernetes import client

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


class _Configuration:
    """What :class:`LiveKube` reads of a client's configuration (``ApiClient.configuration`` has the same)."""

    def __init__(self, host: str):
        self.host = host


def _merged(base: dict[str, str], extra: Any) -> Any:
    """``base`` and ``extra`` headers; ``extra`` may repeat a name (one ``Impersonate-Group`` line per group), so
    the result is a urllib3 ``HTTPHeaderDict``, whose ``items()`` gives every line (``http.client`` sends each).
    When no name ends up twice (no impersonated groups: every ``kubewhy why``), a plain dict holds the same lines
    and urllib3 is not imported (25 ms at start-up)."""
    if type(base) is dict:
        lines = list(base.items())
        for name, value in extra.items() if extra is not None else ():
            if name.lower() in ("accept", "content-type"):
                lines = [(n, v) for n, v in lines if n.lower() != name.lower()]
            lines.append((name, value))
        if len({n.lower() for n, _ in lines}) == len(lines):
            return dict(lines)
    from urllib3 import HTTPHeaderDict

    merged = HTTPHeaderDict(base)
    for name, value in extra.items() if extra is not None else ():
        if name.lower() in ("accept", "content-type") and name in merged:
            merged.discard(name)
        merged.add(name, value)
    return merged


class DirectClient:
    """Kubernetes API requests over ``http.client``: keep-alive connections, pooled; safe to share between
    the threads ``LiveKube`` runs its calls in."""

    def __init__(self, server: str, *, headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None):
        url = urlsplit(server)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) server URL: {server!r}")
        self.configuration = _Configuration(server.rstrip("/"))
        self._https = url.scheme == "https"
        self._host, self._port = url.hostname, url.port
        self._prefix = url.path.rstrip("/")
        self._headers = dict(headers or {})
        self._context = context if context is not None else (ssl.create_default_context() if self._https else None)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """One request; the status and the whole body. Connection errors raise ``OSError`` or
        ``http.client.HTTPException``; a kept-alive connection the server closed meanwhile is retried once."""
        all_headers = _merged(self._headers, headers)
        for attempt in (1, 2):
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            if conn is None:
                conn = self._connect(timeout)
            else:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            try:
                conn.request(method, self._prefix + path, body=body, headers=all_headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
            return resp.status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def open_stream(
        self, path: str, *, headers: dict[str, str] | None = None, timeout: float | None = None
    ) -> tuple[int, Iterator[bytes], Callable[[], None]]:
        """A long request on a connection of its own (a watch): the status, an iterator of the body's lines
        and a closer that ends the iteration from any thread. ``timeout`` bounds each read (None: no bound)."""
        conn = self._connect(10.0)
        conn.request("GET", self._prefix + path, headers={**self._headers, **(headers or {})})
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        resp = conn.getresponse()

        def closer() -> None:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()

        def lines() -> Iterator[bytes]:
            try:
                while True:
                    line = resp.readline()
                    if not line:
                        return
                    yield line
            finally:
                closer()

        return resp.status, lines(), closer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _read_kubeconfig(path: Path) -> Any:
    """The kubeconfig's data, with LibYAML's safe loader when PyYAML has it (a large kubeconfig with many
    contexts takes the pure-Python loader several milliseconds). Parsed once per version of the file: the
    target's default namespace and the transport both read it. Callers must not change what it returns."""
    st = path.stat()
    return _parse_kubeconfig(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _parse_kubeconfig(path: Path, mtime_ns: int, size: int) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def context_namespace(kubeconfig: str | None, context: str | None) -> str | None:
    """The namespace of the kubeconfig's (current or named) context; None when it names none or there is no
    kubeconfig (the default namespace applies). ``kubeconfig`` may list several files, as ``KUBECONFIG`` does."""
    current, contexts = _contexts(kubeconfig, context)
    namespace = contexts.get(current, {}).get("namespace") if current else None
    return str(namespace) if namespace else None


def kube_contexts(kubeconfig: str | None, context: str | None = None) -> tuple[str | None, list[str]]:
    """(the context in use: ``context`` or the current one, every context's name): what a front-end offers
    to switch to (``k8stui``'s ``:ctx``)."""
    current, contexts = _contexts(kubeconfig, context)
    return current, [str(name) for name in contexts if name]


def _contexts(kubeconfig: str | None, context: str | None) -> tuple[str | None, dict[Any, dict[str, Any]]]:
    import yaml

    paths = (kubeconfig or str(Path.home() / ".kube" / "config")).split(os.pathsep)
    current, contexts = context, {}
    for path in filter(None, paths):
        try:
            data = _read_kubeconfig(Path(path)) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        current = current or data.get("current-context")
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") not in contexts:
                contexts[entry.get("name")] = entry.get("context") or {}
    return current, contexts


_CLUSTER_KEYS = {
    "server",
    "certificate-authority",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
    "extensions",
}
_USER_KEYS = {"token", "client-certificate", "client-certificate-data", "client-key", "client-key-data", "extensions"}


def direct_client(kubeconfig: str | None = None, context: str | None = None) -> DirectClient | None:
    """A :class:`DirectClient` for a kubeconfig kubewhy reads exactly, else None (the official client then reads
    it, with every plugin and rule it has)."""
    if kubeconfig and os.pathsep in kubeconfig:
        return None  # several files: kubectl's merge rules
    path = Path(kubeconfig) if kubeconfig else Path.home() / ".kube" / "config"
    try:
        data = _read_kubeconfig(path)
    except Exception:  # noqa: BLE001 - unreadable here: the official loader says why
        return None
    if not isinstance(data, dict):
        return None

    def named(section: str, name: Any) -> dict[str, Any] | None:
        for entry in data.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                value = entry.get(section[:-1])
                return value if isinstance(value, dict) else {}
        return None

    ctx = named("contexts", context or data.get("current-context"))
    if ctx is None or not ctx.get("cluster"):
        return None
    cluster = named("clusters", ctx.get("cluster"))
    user = named("users", ctx.get("user")) if ctx.get("user") else {}
    if cluster is None or user is None or set(cluster) - _CLUSTER_KEYS or set(user) - _USER_KEYS:
        return None
    server = str(cluster.get("server") or "")
    if not server.startswith(("http://", "https://")):
        return None
    base = path.parent

    def material(key: str, holder: dict[str, Any]) -> tuple[str | None, bytes | None]:
        """(file, None) or (None, decoded data) for ``key`` / ``key-data``."""
        if holder.get(f"{key}-data"):
            return None, base64.b64decode(str(holder[f"{key}-data"]))
        if holder.get(key):
            return str(base / os.path.expanduser(str(holder[key]))), None
        return None, None

    headers = {}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    ssl_context = None
    try:
        if server.startswith("https://"):
            ssl_context = ssl.create_default_context()
            if cluster.get("insecure-skip-tls-verify") is True:
                ssl_context.check_hostname = False
                ssl_context.verify_mode = ssl.CERT_NONE
            else:
                ca_file, ca_data = material("certificate-authority", cluster)
                if ca_file or ca_data:
                    ssl_context = ssl.create_default_context(
                        cafile=ca_file, cadata=ca_data.decode() if ca_data else None
                    )
            cert_file, cert_data = material("client-certificate", user)
            key_file, key_data = material("client-key", user)
            if cert_file or cert_data:
                _load_cert_chain(ssl_context, cert_file, cert_data, key_file, key_data)
        elif any(k.startswith("client-") for k in user):
            return None  # a client certificate over plain http: leave it to the official client
        return DirectClient(server, headers=headers, context=ssl_context)
    except (OSError, ValueError, ssl.SSLError):
        return None


def _load_cert_chain(
    context: ssl.SSLContext,
    cert_file: str | None,
    cert_data: bytes | None,
    key_file: str | None,
    key_data: bytes | None,
) -> None:
    """``ssl`` loads certificates from files only: inline data goes through a private temporary file."""
    with tempfile.TemporaryDirectory(prefix="kubewhy-") as tmp:
        if cert_data is not None:
            cert_file = os.path.join(tmp, "cert.pem")
            Path(cert_file).write_bytes(cert_data)
        if key_data is not None:
            key_file = os.path.join(tmp, "key.pem")
            Path(key_file).write_bytes(key_data)
        assert cert_file is not None
        context.load_cert_chain(cert_file, key_file)


def build_api_client(
    kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False
) -> client.ApiClient | DirectClient:
    """The transport for these credentials: :class:`DirectClient` when the kubeconfig allows, else the
    official client's ``ApiClient``."""
    if not in_cluster:
        direct = direct_client(kubeconfig, context)
        if direct is not None:
            return direct
    return official_client(kubeconfig, context, in_cluster=in_cluster)


def official_client(
    kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False
) -> client.ApiClient:
    """The official client's ``ApiClient`` for these credentials (every kubeconfig feature kubectl has)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if in_cluster:
            cfg = client.Configuration()
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            api = client.ApiClient(cfg)
        else:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, persist_config=False
            )
    except (ConfigException, FileNotFoundError, OSError) as exc:
        where = "in-cluster config" if in_cluster else (kubeconfig or "~/.kube/config")
        raise ClusterUnreachable(f"cannot load Kubernetes credentials from {where}: {exc}") from None
    api.configuration.retries = 0  # fail fast; the engine reports and moves on
    return api


MAX_RETRY_WAIT = 5.0  # seconds: the longest a read waits for an API server that answered 429 or 503


def retry_after(data: bytes) -> float:
    """The wait a 429/503 Status asks for (``details.retryAfterSeconds``, 1 s when absent), capped."""
    try:
        seconds = float(json.loads(data)["details"]["retryAfterSeconds"])
    except (ValueError, KeyError, TypeError):
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)


class LiveKube:
    """KubeReader/KubeWriter over HTTP. Counts requests so benchmarks can check the budget."""

    def __init__(
        self,
        api: client.ApiClient | DirectClient,
        *,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.api = api
        self.timeout = timeout
        self.sleep = sleep  # a retry's pause, in the request's thread (a test records it instead)
        self.endpoint = api.configuration.host
        self.requests = 0
        self._lock = threading.Lock()
        self.impersonation: tuple[tuple[str, str], ...] = ()  # Impersonate-User/-Group header lines

    @property
    def capabilities(self) -> Capabilities:
        """A live connection can do everything: patch, watch, create and replace, proxy, impersonate, forward."""
        return Capabilities(
            writer=self,
            watch=self,
            objects=self,
            proxy=self,
            nodes=self,
            impersonate=self,
            forward=self,
            logs=self,
            tables=self,
        )

    def impersonating(self, user: str, groups: tuple[str, ...] = ()) -> Capabilities:
        """This connection's credentials acting as ``user`` (and ``groups``): the API server checks that they may
        impersonate them, then authorizes each request as the impersonated user."""
        other = LiveKube(self.api, timeout=self.timeout, sleep=self.sleep)
        other.impersonation = (("Impersonate-User", user), *(("Impersonate-Group", g) for g in groups))
        return Capabilities(writer=other, objects=other)

    # ---- transport ----------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, bytes]:
        """One API call. A read (GET) is tried again after a reset connection (once) and after 429/503, waiting
        what the server asks (``retryAfterSeconds``, at most :data:`MAX_RETRY_WAIT`) up to twice; the check's
        own deadline still bounds the whole. Each attempt that failed without an answer about the object
        (unreachable, 401, 403, 429, 5xx: not a 404 or a 409, which callers expect) counts in
        ``kubewhy_api_errors_total``."""
        for attempt in (1, 2, 3):
            try:
                status, data = self._call_once(method, path, query, body, content_type, accept)
            except ClusterUnreachable:
                telemetry.count("kubewhy_api_errors_total", api="kubernetes", code="0")
                if method != "GET" or attempt > 1:
                    raise
                continue
            if status in (401, 403, 429) or status >= 500:
                telemetry.count("kubewhy_api_errors_total", api="kubernetes", code=str(status))
            if method == "GET" and status in (429, 503) and attempt < 3:
                self.sleep(retry_after(data))
                continue
            return status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(
        self, method: str, path: str, query: dict[str, Any] | None, body: Any, content_type: str, accept: str
    ) -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        if isinstance(self.api, DirectClient):
            target = path + (f"?{urlencode(params)}" if params else "")
            try:
                return self.api.request(
                    method,
                    target,
                    body=None if body is None else json.dumps(body).encode(),
                    headers=_merged({"Accept": accept, "Content-Type": content_type}, _Lines(self.impersonation)),
                    timeout=self.timeout,
                )
            except (OSError, http.client.HTTPException) as exc:
                raise ClusterUnreachable(
                    f"cannot reach the Kubernetes API at {self.endpoint}: {type(exc).__name__}: {_short(exc)}"
                ) from None
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            m, url, headers, ser_body, post = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params={"Accept": accept, "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            if self.impersonation:
                headers = _merged(headers, _Lines(self.impersonation))
            resp = self.api.call_api(
                m, url, header_params=headers, body=ser_body, post_params=post, _request_timeout=self.timeout
            )
            resp.read()  # type: ignore[no-untyped-call]
            return resp.status, resp.data or b""
        except ApiException as exc:
            return exc.status or 500, (exc.body or "").encode() if isinstance(exc.body, str) else (exc.body or b"")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(
                f"cannot reach the Kubernetes API at {self.endpoint}: {type(exc).__name__}: {_short(exc)}"
            ) from None

    async def _request(self, *args: Any, **kw: Any) -> tuple[int, bytes]:
        return await asyncio.to_thread(self._call, *args, **kw)

    def _raise(self, status: int, data: bytes, what: str) -> None:
        try:
            message = json.loads(data).get("message", "")
        except (ValueError, AttributeError):
            message = data[:200].decode(errors="replace")
        if status == 401 or status == 403:
            raise KubeApiError(f"not allowed to {what} on {self.endpoint}: {message}", status)
        raise KubeApiError(f"{what} failed on {self.endpoint} (HTTP {status}): {message}", status)

    # ---- KubeReader ---------------------------------------------------------------------------------------
    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        k = info(kind)
        status, data = await self._request("GET", k.path(namespace, name))
        if status == 404:
            return None
        if status != 200:
            self._raise(status, data, f"get {k.plural}/{name}")
        obj = json.loads(data)
        obj.setdefault("apiVersion", k.api_version)
        obj.setdefault("kind", kind)
        return normalize(redact_object(obj))

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        k = info(kind)
        status, data = await self._request(
            "GET", k.path(namespace), {"labelSelector": label_selector, "fieldSelector": field_selector}
        )
        if status == 404:
            return []  # the group is not served (e.g. no CRD for ServiceMonitor)
        if status != 200:
            self._raise(status, data, f"list {k.plural}")
        items = json.loads(data).get("items") or []
        for item in items:
            item.setdefault("apiVersion", k.api_version)
            item.setdefault("kind", kind)
            redact_object(item)
        return [normalize(item) for item in items]

    async def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail: int | None = None
    ) -> str | None:
        k = info("Pod")
        status, data = await self._request(
            "GET",
            k.path(namespace, pod, "log"),
            {"container": container, "previous": "true" if previous else None, "tailLines": tail},
            accept="text/plain",
        )
        if status in (400, 404):
            return None
        if status != 200:
            self._raise(status, data, f"read logs of {pod}/{container}")
        return redact_log(data.decode(errors="replace"))

    # ---- the API server's proxies (ports.NodeProxy, ports.ApiProxy) ----------------------------------------
    async def proxy_get(self, path: str, query: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """GET an API server path (a node or service proxy) with these credentials: the status and the body."""
        return await self._request("GET", path, query, accept="application/json, text/plain, */*")

    async def node_proxy(self, node: str, path: str) -> str:
        status, data = await self.proxy_get(f"/api/v1/nodes/{quote(node, safe='')}/proxy/{path}")
        if status != 200:
            self._raise(status, data, f"read /{path} of node {node} through the API server's node proxy")
        return data.decode(errors="replace")

    async def node_proxy_lines(
        self,
        node: str,
        path: str,
        consume: Callable[[Iterator[bytes]], Any],
        timeout: float,
        executor: concurrent.futures.Executor | None = None,
    ) -> Any:
        """GET through the node proxy, the body handed line by line to ``consume`` on a thread of ``executor`` (a
        cAdvisor answer is megabytes: never held whole; a caller with its own pool keeps a hung kubelet off the
        loop's default one); ``timeout`` bounds each read."""
        where = f"/api/v1/nodes/{quote(node, safe='')}/proxy/{path}"

        def run() -> Any:
            status, lines, closer = self._open_stream(where, {}, timeout)
            try:
                if status != 200:
                    self._raise(
                        status, b"".join(lines), f"read /{path} of node {node} through the API server's node proxy"
                    )
                return consume(lines)
            finally:
                closer()

        return await asyncio.get_running_loop().run_in_executor(executor, run)

    # ---- WatchSource: paged LISTs and WATCH streams (the watchers' informers) -------------------------------
    # Metadata only, as client-go's metadata informers ask (JSON: the adapters read no protobuf); the plain JSON
    # after it takes whatever the server sends when it cannot answer so (each item then says its own kind).
    METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"
    METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"

    async def list_page(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        limit: int = 500,
        continue_token: str | None = None,
        metadata_only: bool = False,
    ) -> ListPage:
        """One page of a LIST (``limit``/``continue``), with the list's resourceVersion to watch from.
        A 410 (the continue token expired) raises ``KubeApiError`` with status 410: start the LIST again.
        ``metadata_only``: a ``PartialObjectMetadataList``, each item ``{"kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1", "metadata": …}`` with no spec, data or status."""
        k = info(kind)
        status, data = await self._request(
            "GET",
            k.path(namespace),
            {"limit": limit or None, "continue": continue_token},
            **({"accept": self.METADATA_LIST} if metadata_only else {}),
        )
        if status != 200:
            self._raise(status, data, f"list {k.plural}")
        body = json.loads(data)
        meta = body.get("metadata") or {}
        items = body.get("items") or []
        partial = metadata_only and body.get("kind") == "PartialObjectMetadataList"
        for item in items:
            item.setdefault("apiVersion", "meta.k8s.io/v1" if partial else k.api_version)
            item.setdefault("kind", "PartialObjectMetadata" if partial else kind)
        remaining = meta.get("remainingItemCount")
        return ListPage(
            [normalize(redact_object(item)) for item in items],
            str(meta.get("resourceVersion") or ""),
            meta.get("continue") or None,
            remaining if isinstance(remaining, int) else None,
        )

    async def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
        metadata_only: bool = False,
    ) -> AsyncGenerator[Obj, None]:
        """The WATCH stream from ``resource_version``: raw watch events (``{"type", "object"}``), ADDED/MODIFIED/
        DELETED objects redacted and normalised, BOOKMARK and ERROR as sent. The blocking reads run on a thread
        of the stream's own (a watch would hold a pool thread for minutes); leaving the iteration closes the
        connection. A non-200 answer raises ``KubeApiError`` with its status (410: the version is gone).
        ``metadata_only``: each event's object a ``PartialObjectMetadata`` (its metadata, no spec or status)."""
        k = info(kind)
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true" if bookmarks else None,
            "timeoutSeconds": timeout_seconds,
        }
        stream = self._stream(
            k.path(namespace),
            query,
            timeout_seconds + 30,
            f"watch {k.plural}",
            f"watch of {k.plural}",
            *((self.METADATA,) if metadata_only else ()),
        )
        try:
            async for line in stream:
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object")
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED") and isinstance(obj, dict):
                    obj.setdefault("apiVersion", k.api_version)
                    obj.setdefault("kind", kind)
                    event["object"] = normalize(redact_object(obj))
                yield event
        finally:
            await stream.aclose()  # the connection closes as the caller stops reading, not when collected

    async def stream_logs(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        previous: bool = False,
        follow: bool = True,
        tail: int | None = None,
        since_seconds: int | None = None,
    ) -> AsyncGenerator[str, None]:
        """A container's log, line by line, redacted: ``follow`` keeps the one request open and yields each line as
        the kubelet writes it (``follow=true``; nothing is read twice), until the caller stops iterating or the
        container ends. ``tail``: the last lines only; ``since_seconds``: only lines written since then. A 400
        (no such container, no previous one) or 404 raises ``KubeApiError`` with the server's message."""
        k = info("Pod")
        query = {
            "container": container,
            "follow": "true" if follow and not previous else None,
            "previous": "true" if previous else None,
            "tailLines": tail,
            "sinceSeconds": since_seconds,
        }
        stream = self._stream(
            k.path(namespace, pod, "log"), query, None, f"read logs of {pod}/{container}", f"log of {pod}/{container}"
        )
        try:
            async for line in stream:
                yield redact_log(line.decode(errors="replace").rstrip("\r\n"))
        finally:
            await stream.aclose()

    # ---- TableReader: any resource by discovery, in the server's Table format ----------------------------------
    async def resources(self) -> builtins.list[ApiResource]:
        """Discovery: ``/api/v1`` and the preferred version of each group of ``/apis`` (CRDs included); a group
        whose list fails (an aggregated API that is down) is left out, as kubectl does."""
        status, data = await self._request("GET", "/apis")
        if status != 200:
            self._raise(status, data, "read the API groups (discovery)")
        versions = [("", "v1")] + [
            (str(g.get("name")), str((g.get("preferredVersion") or {}).get("version") or ""))
            for g in json.loads(data).get("groups") or []
            if (g.get("preferredVersion") or {}).get("version")
        ]

        async def one(group: str, version: str) -> builtins.list[ApiResource]:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            status, data = await self._request("GET", path)
            if status != 200:
                return []
            found = []
            for r in json.loads(data).get("resources") or []:
                verbs = tuple(r.get("verbs") or ())
                if "/" in str(r.get("name")) or "list" not in verbs:
                    continue
                found.append(
                    ApiResource(
                        kind=str(r.get("kind")),
                        plural=str(r.get("name")),
                        group=group,
                        version=version,
                        namespaced=bool(r.get("namespaced")),
                        singular=str(r.get("singularName") or ""),
                        short_names=tuple(r.get("shortNames") or ()),
                        categories=tuple(r.get("categories") or ()),
                        verbs=verbs,
                    )
                )
            return found

        groups = await asyncio.gather(*(one(g, v) for g, v in versions))
        return [r for group in groups for r in group]

    _TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"

    @staticmethod
    def _table_rows(table: Obj) -> Obj:
        """Each row's object reduced to the metadata a list needs: annotations (a last-applied configuration
        may hold a Secret's data) and managed fields are dropped."""
        for row in table.get("rows") or []:
            meta = (row.get("object") or {}).get("metadata") or {}
            row["object"] = {"metadata": {k: v for k, v in meta.items() if k not in ("annotations", "managedFields")}}
        return table

    async def list_table(
        self,
        resource: ApiResource,
        namespace: str | None = None,
        *,
        limit: int = 500,
        continue_token: str | None = None,
    ) -> Obj:
        query = {"limit": limit or None, "continue": continue_token, "includeObject": "Metadata"}
        status, data = await self._request("GET", resource.path(namespace), query, accept=self._TABLE)
        if status != 200:
            self._raise(status, data, f"list {resource.plural}")
        table: Obj = json.loads(data)
        if table.get("kind") != "Table":
            raise KubeApiError(f"the API server at {self.endpoint} does not serve {resource.plural} as a Table", 406)
        return self._table_rows(table)

    async def watch_table(
        self, resource: ApiResource, namespace: str | None = None, *, resource_version: str
    ) -> AsyncGenerator[Obj, None]:
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "includeObject": "Metadata",
            "timeoutSeconds": 300,
        }
        stream = self._stream(
            resource.path(namespace), query, 330, f"watch {resource.plural}", f"watch of {resource.plural}", self._TABLE
        )
        try:
            async for line in stream:
                if not line.strip():
                    continue
                event = json.loads(line)
                if isinstance(event.get("object"), dict) and event["object"].get("kind") == "Table":
                    self._table_rows(event["object"])
                yield event
        finally:
            await stream.aclose()

    async def get_resource(self, resource: ApiResource, namespace: str | None, name: str) -> Obj | None:
        status, data = await self._request("GET", resource.path(namespace, name))
        if status == 404:
            return None
        if status != 200:
            self._raise(status, data, f"get {resource.plural}/{name}")
        obj: Obj = json.loads(data)
        return redact_object(obj)

    async def _stream(
        self,
        path: str,
        query: dict[str, Any],
        read_timeout: float | None,
        what: str,
        name: str,
        accept: str = "application/json",
    ) -> AsyncGenerator[bytes, None]:
        """The lines of a long GET (a WATCH, a followed log). The blocking reads run on a thread of the stream's own
        (it would hold a pool thread for minutes); leaving the iteration closes the connection. A non-200 answer
        raises ``KubeApiError`` with its status (``what`` names the request); a broken connection
        ``ClusterUnreachable`` (``name`` names the stream)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        opened: asyncio.Future[Callable[[], None]] = loop.create_future()

        def put(item: tuple[str, Any]) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone (its program ended): nobody is reading
                raise _Abandoned from None

        def pump() -> None:
            try:
                status, lines, closer = self._open_stream(path, query, read_timeout, accept)
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, opened, exc)
                return
            try:
                loop.call_soon_threadsafe(_settle, opened, closer)
            except RuntimeError:
                closer()
                return
            try:
                if status != 200:
                    put(("status", (status, b"".join(lines))))
                    return
                for line in lines:
                    put(("line", line))
                put(("end", None))
            except _Abandoned:
                closer()
            except BaseException as exc:  # noqa: BLE001
                try:
                    put(("error", exc))
                except _Abandoned:
                    closer()

        with self._lock:
            self.requests += 1
        threading.Thread(target=pump, name=f"stream-{name}", daemon=True).start()
        closer = await opened
        try:
            while True:
                kind, value = await queue.get()
                if kind == "line":
                    yield value
                elif kind == "status":
                    status, data = value
                    self._raise(status, data, what)
                elif kind == "error":
                    raise ClusterUnreachable(
                        f"the {name} on {self.endpoint} broke: {type(value).__name__}: {_short(value)}"
                    )
                else:
                    return
        finally:
            closer()

    def _open_stream(
        self, path: str, query: dict[str, Any], read_timeout: float | None, accept: str = "application/json"
    ) -> tuple[int, Iterator[bytes], Callable[[], None]]:
        params = [(k, v) for k, v in query.items() if v is not None]
        target = path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": accept}
        if isinstance(self.api, DirectClient):
            try:
                return self.api.open_stream(target, headers=headers, timeout=read_timeout)
            except (OSError, http.client.HTTPException) as exc:
                raise ClusterUnreachable(
                    f"cannot reach the Kubernetes API at {self.endpoint}: {type(exc).__name__}: {_short(exc)}"
                ) from None
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            m, url, hdrs, _, _ = self.api.param_serialize(
                method="GET",
                resource_path=path,
                query_params=params,
                header_params=headers,
                auth_settings=["BearerToken"],
            )
            resp = self.api.call_api(m, url, header_params=hdrs, _request_timeout=(10.0, read_timeout))
        except ApiException as exc:
            body = (exc.body or "").encode() if isinstance(exc.body, str) else (exc.body or b"")
            return exc.status or 500, iter([body]), lambda: None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(
                f"cannot reach the Kubernetes API at {self.endpoint}: {type(exc).__name__}: {_short(exc)}"
            ) from None
        raw: Any = getattr(resp, "response", resp)

        def closer() -> None:
            for name in ("shutdown", "release_conn", "close"):
                method = getattr(raw, name, None)
                if callable(method):
                    try:
                        method()
                    except Exception:  # noqa: BLE001,S110 - closing is best effort
                        pass

        def lines() -> Iterator[bytes]:
            pending = b""
            try:
                for chunk in raw.stream(65536, decode_content=True):
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    yield from complete
                if pending:
                    yield pending
            finally:
                closer()

        return resp.status, lines(), closer

    async def create(self, kind: str, namespace: str | None, body: Obj) -> Obj:
        """POST a new object (a Lease); a 409 raises ``KubeApiError`` with status 409."""
        k = info(kind)
        status, data = await self._request("POST", k.path(namespace), body=body)
        if status not in (200, 201):
            self._raise(status, data, f"create {k.plural}/{body.get('metadata', {}).get('name', '')}")
        created: Obj = json.loads(data)
        return created

    async def replace(self, kind: str, namespace: str | None, name: str, body: Obj) -> Obj:
        """PUT with the body's resourceVersion (optimistic concurrency: 409 when someone wrote meanwhile)."""
        k = info(kind)
        status, data = await self._request("PUT", k.path(namespace, name), body=body)
        if status != 200:
            self._raise(status, data, f"update {k.plural}/{name}")
        replaced: Obj = json.loads(data)
        return replaced

    # ---- KubeWriter ---------------------------------------------------------------------------------------
    async def patch(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: str = "strategic",
        dry_run: bool = False,
    ) -> Obj:
        k = info(kind)
        status, data = await self._request(
            "PATCH",
            k.path(namespace, name),
            {"dryRun": "All" if dry_run else None},
            body=body,
            content_type=PATCH_TYPES[patch_type],
        )
        if status not in (200, 201):
            self._raise(status, data, f"patch {k.plural}/{name}")
        patched: Obj = json.loads(data)
        return patched

    async def delete(
        self, kind: str, namespace: str | None, name: str, options: Obj | None = None, *, dry_run: bool
    ) -> Obj:
        """DELETE the object (``options``: DeleteOptions, e.g. ``preconditions``); the server's answer: the object
        as deleted (or marked for deletion), or a Status. A 404 or a failed precondition (409) raises."""
        k = info(kind)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", **(options or {})}
        status, data = await self._request(
            "DELETE", k.path(namespace, name), {"dryRun": "All" if dry_run else None}, body=body
        )
        if status not in (200, 202):
            self._raise(status, data, f"delete {k.plural}/{name}")
        deleted: Obj = json.loads(data)
        return deleted

    # ---- PortForwarder: pods/portforward over WebSocket ---------------------------------------------------------
    def _websocket(self, path: str) -> tuple[str, builtins.list[tuple[str, str]], ssl.SSLContext | None]:
        """The URL (ws/wss), header lines and TLS context of a WebSocket request with this connection's
        credentials (a token, a client certificate, impersonation)."""
        headers: builtins.list[tuple[str, str]] = []
        context: ssl.SSLContext | None
        if isinstance(self.api, DirectClient):
            headers += list(self.api._headers.items())
            context = self.api._context
        else:
            cfg = self.api.configuration
            token = (cfg.auth_settings().get("BearerToken") or {}).get("value")
            if token:
                headers.append(("Authorization", str(token)))
            headers += list((self.api.default_headers or {}).items())
            context = None
            if self.endpoint.startswith("https"):
                context = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
                if not cfg.verify_ssl:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                if cfg.cert_file:
                    context.load_cert_chain(cfg.cert_file, cfg.key_file)
        headers += list(self.impersonation)
        url = "ws" + self.endpoint.removeprefix("http") + path
        return url, headers, context

    async def port_forward(self, namespace: str, pod: str, port: int, *, local_port: int = 0) -> PortForward:
        """Forward ``127.0.0.1:local_port`` (0: any free port) to ``port`` of the pod, in-process: each local
        connection is one WebSocket to ``pods/portforward`` (``v4.channel.k8s.io``, the protocol the Python client
        speaks). A pod that does not exist raises ``KubeApiError`` (404) before anything listens."""
        k = info("Pod")
        status, data = await self._request("GET", k.path(namespace, pod))
        if status != 200:
            self._raise(status, data, f"get pods/{pod}")
        url, headers, context = self._websocket(k.path(namespace, pod, "portforward") + f"?ports={port}")
        forward = PortForward(namespace, pod, port, url, headers, context)
        await forward.start(local_port)
        with self._lock:
            self.requests += 1
        return forward


PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")


class PortForward:
    """One local port forwarded to a pod's port (see :meth:`LiveKube.port_forward`): the data of each TCP
    connection goes out on channel 0 of its own WebSocket, prefixed by the channel byte; what comes back on
    channel 0 is written to the connection, what comes on channel 1 is the API server's error (kept in
    :attr:`errors`). The first message on each channel carries the port (two bytes) and is dropped."""

    def __init__(
        self,
        namespace: str,
        pod: str,
        port: int,
        url: str,
        headers: list[tuple[str, str]],
        context: ssl.SSLContext | None,
    ):
        self.namespace, self.pod, self.port = namespace, pod, port
        self.local_port = 0
        self.connections = 0  # accepted so far
        self.errors: list[str] = []  # the last few errors (the API server's, or the connection's)
        self._url, self._headers, self._context = url, headers, context
        self._server: asyncio.base_events.Server | None = None
        self._session: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    def __str__(self) -> str:
        return f"{self.address} → pod/{self.namespace}/{self.pod}:{self.port}"

    async def start(self, local_port: int = 0) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession()
        try:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", local_port)
        except OSError:
            await self._session.close()
            raise
        self.local_port = int(self._server.sockets[0].getsockname()[1])

    def _error(self, text: str) -> None:
        self.errors = [*self.errors[-9:], text]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        try:
            await self._pipe(reader, writer)
        except asyncio.CancelledError:  # closed (:meth:`close`): the connection ends here
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import aiohttp
        from multidict import CIMultiDict

        try:
            ws = await self._session.ws_connect(
                self._url,
                protocols=PORTFORWARD_PROTOCOLS,
                headers=CIMultiDict(self._headers),
                ssl=self._context if self._context is not None else True,
                max_msg_size=0,
            )
        except (aiohttp.ClientError, OSError) as exc:
            self._error(f"cannot open the port-forward to pod {self.pod}: {type(exc).__name__}: {_short(exc)}")
            return

        async def upstream() -> None:
            while data := await reader.read(65536):
                await ws.send_bytes(b"\x00" + data)

        async def downstream() -> None:
            opened: set[int] = set()
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                    continue
                channel, data = msg.data[0], bytes(msg.data[1:])
                if channel not in opened:  # each channel opens with its port number
                    opened.add(channel)
                    data = data[2:]
                if not data:
                    continue
                if channel == 0:
                    writer.write(data)
                    await writer.drain()
                elif channel == 1:
                    self._error(data.decode(errors="replace"))

        # whichever side ends first (the local connection closed, the API server closed the stream) ends both
        sides = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            done, _ = await asyncio.wait(sides, return_when=asyncio.FIRST_COMPLETED)
            for side in done:
                failure = side.exception()
                if failure is not None:
                    self._error(
                        f"the port-forward to pod {self.pod} broke: {type(failure).__name__}: {_short(failure)}"
                    )
        finally:
            for side in sides:
                side.cancel()
            await asyncio.gather(*sides, return_exceptions=True)
            await ws.close()

    async def close(self) -> None:
        """Stop listening and end the connections under way."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


class _Lines:
    """Header lines (name, value), a name possibly repeated, with the ``items()`` :func:`_merged` reads."""

    def __init__(self, lines: tuple[tuple[str, str], ...]):
        self.lines = lines

    def items(self) -> tuple[tuple[str, str], ...]:
        return self.lines


class _Abandoned(Exception):
    """The event loop a watch stream fed has closed."""


@dataclass(frozen=True)
class ListPage:
    items: list[Obj]
    resource_version: str
    continue_token: str | None
    remaining: int | None = None  # the server's remainingItemCount: objects after this page (None: not said)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
