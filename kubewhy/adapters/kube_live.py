"""The live cluster: the official ``kubernetes`` client, called in threads, returning raw JSON dicts.

Raw dicts (not the client's generated models) because the models are slow to build for thousands of pods
and reject objects real clusters do send (e.g. legacy events without eventTime). An explicit
``ApiClient`` is built per adapter: no process-wide ``load_kube_config()``. Every object and log text read
leaves this module redacted (``kubewhy.redact``); the write path (``patch``) sends and returns objects as is.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..errors import ClusterUnreachable, KubeApiError
from ..kinds import info
from ..redact import redact_log, redact_object
from .normalize import normalize
from .ports import Obj

PATCH_TYPES = {"strategic": "application/strategic-merge-patch+json", "merge": "application/merge-patch+json",
               "json": "application/json-patch+json"}


def build_api_client(kubeconfig: str | None = None, context: str | None = None,
                     in_cluster: bool = False) -> client.ApiClient:
    try:
        if in_cluster:
            cfg = client.Configuration()
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            api = client.ApiClient(cfg)
        else:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, persist_config=False)
    except (ConfigException, FileNotFoundError, OSError) as exc:
        where = "in-cluster config" if in_cluster else (kubeconfig or "~/.kube/config")
        raise ClusterUnreachable(f"cannot load Kubernetes credentials from {where}: {exc}") from None
    api.configuration.retries = 0  # fail fast; the engine reports and moves on
    return api


class LiveKube:
    """KubeReader/KubeWriter over HTTP. Counts requests so benchmarks can check the budget."""

    def __init__(self, api: client.ApiClient, *, timeout: float = 10.0):
        self.api = api
        self.timeout = timeout
        self.endpoint = api.configuration.host
        self.requests = 0
        self._lock = threading.Lock()

    # ---- transport ----------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
              content_type: str = "application/json", accept: str = "application/json") -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            m, url, headers, ser_body, post = self.api.param_serialize(
                method=method, resource_path=path, query_params=params,
                header_params={"Accept": accept, "Content-Type": content_type}, body=body,
                auth_settings=["BearerToken"])
            resp = self.api.call_api(m, url, header_params=headers, body=ser_body, post_params=post,
                                     _request_timeout=self.timeout)
            resp.read()  # type: ignore[no-untyped-call]
            return resp.status, resp.data or b""
        except ApiException as exc:
            return exc.status or 500, (exc.body or "").encode() if isinstance(exc.body, str) else (exc.body or b"")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"cannot reach the Kubernetes API at {self.endpoint}: "
                                     f"{type(exc).__name__}: {_short(exc)}") from None

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

    async def list(self, kind: str, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None) -> list[Obj]:
        k = info(kind)
        status, data = await self._request("GET", k.path(namespace), {"labelSelector": label_selector,
                                                                     "fieldSelector": field_selector})
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

    async def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                   tail: int | None = None) -> str | None:
        k = info("Pod")
        status, data = await self._request("GET", k.path(namespace, pod, "log"),
                                           {"container": container, "previous": "true" if previous else None,
                                            "tailLines": tail}, accept="text/plain")
        if status in (400, 404):
            return None
        if status != 200:
            self._raise(status, data, f"read logs of {pod}/{container}")
        return redact_log(data.decode(errors="replace"))

    # ---- KubeWriter ---------------------------------------------------------------------------------------
    async def patch(self, kind: str, namespace: str | None, name: str, body: Any, *, patch_type: str = "strategic",
                    dry_run: bool = False) -> Obj:
        k = info(kind)
        status, data = await self._request("PATCH", k.path(namespace, name), {"dryRun": "All" if dry_run else None},
                                           body=body, content_type=PATCH_TYPES[patch_type])
        if status not in (200, 201):
            self._raise(status, data, f"patch {k.plural}/{name}")
        patched: Obj = json.loads(data)
        return patched


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
