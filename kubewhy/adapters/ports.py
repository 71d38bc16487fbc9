"""The interfaces checks see. Only adapters touch client libraries; everything above talks to these."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol

Obj = dict[str, Any]


class KubeReader(Protocol):
    """Read access to one cluster (live API or an offline snapshot). What else the connection can do is said by
    its :attr:`capabilities`, typed fields rather than attributes a caller has to sniff for."""

    endpoint: str  # for messages: the API server URL or the snapshot path

    @property
    def capabilities(self) -> Capabilities:
        """The writer, watch, proxy and object-writer sides of this connection (None where it has none)."""

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """The object, or None when it does not exist."""

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]: ...

    async def logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, tail: int | None = None
    ) -> str | None:
        """Log text, or None when there is none (e.g. no previous container)."""


class KubeWriter(Protocol):
    async def patch(
        self, kind: str, namespace: str | None, name: str, body: Any, *, patch_type: str, dry_run: bool
    ) -> Obj: ...

    async def delete(
        self, kind: str, namespace: str | None, name: str, options: Obj | None = None, *, dry_run: bool
    ) -> Obj:
        """DELETE with ``options`` (DeleteOptions: preconditions, propagationPolicy): what the server returns."""


class MetricsReader(Protocol):
    """A Prometheus server."""

    endpoint: str

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant vector: [{"metric": {...}, "value": float}]."""

    async def query_range(self, promql: str, *, seconds: float, step: float) -> list[dict[str, Any]]:
        """Range vector: [{"metric": {...}, "values": [(ts, float), ...]}]."""


class ApiProxy(Protocol):
    """GET any API server path with the reader's credentials (the service proxy to an in-cluster Prometheus)."""

    endpoint: str

    async def proxy_get(self, path: str, query: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """The status and the body; :class:`~kubewhy.errors.ClusterUnreachable` when nothing answers."""


class NodeProxy(Protocol):
    """GET through the API server's node proxy (``/api/v1/nodes/NODE/proxy/PATH``): needs ``nodes/proxy`` rights."""

    endpoint: str

    async def node_proxy(self, node: str, path: str) -> str:
        """The kubelet's answer as text; :class:`~kubewhy.errors.KubeApiError` when the proxy fails."""


class KubeletReader(Protocol):
    """A node's kubelet figures (cAdvisor counters, the Summary API), measured over a short interval."""

    async def cpu_throttling(self, node: str) -> Obj:
        """``{"source", "seconds", "containers": [{"namespace", "pod", "container", "ratio"}]}``."""

    async def stats(self, node: str) -> Obj:
        """``{"source", "seconds", "containers": [{"namespace", "pod", "container", "working_set", "growth"}],
        "volumes": [{"namespace", "claim", "used", "capacity", "available", "growth"}]}``; ``growth`` in bytes
        per second, None when the kubelet's figures did not change between the two samples."""


class Page(Protocol):
    """One page of a paged LIST."""

    @property
    def items(self) -> list[Obj]: ...

    @property
    def resource_version(self) -> str: ...

    @property
    def continue_token(self) -> str | None: ...

    @property
    def remaining(self) -> int | None:
        """The server's ``remainingItemCount``: how many objects the pages after this one hold (None when the
        server does not say, as with a field or label selector)."""


class WatchSource(KubeReader, Protocol):
    """Paged LISTs and WATCH streams: what the watchers' informers (and the TUI's live lists) read. A watch source
    is a reader too, so one connection serves the lists, the diagnoses and (through its capabilities) the fixes."""

    async def list_page(
        self, kind: str, namespace: str | None = None, *, limit: int = 500, continue_token: str | None = None
    ) -> Page: ...

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
    ) -> AsyncGenerator[Obj, None]:
        """Raw watch events ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}``."""


class ObjectWriter(Protocol):
    """Create and replace with optimistic concurrency (the watchers' Lease; a SelfSubjectAccessReview)."""

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None: ...

    async def create(self, kind: str, namespace: str | None, body: Obj) -> Obj: ...

    async def replace(self, kind: str, namespace: str | None, name: str, body: Obj) -> Obj: ...


@dataclass(frozen=True)
class Capabilities:
    """What one cluster connection can do besides reading. A snapshot has none of these; the live adapter has them
    all. Front-ends and the application ask these typed fields instead of probing the reader with ``hasattr``."""

    writer: KubeWriter | None = None  # patches (fixes, after a dry run)
    watch: WatchSource | None = None  # paged LISTs and WATCH streams (informers)
    objects: ObjectWriter | None = None  # create/replace (the Lease, access reviews)
    proxy: ApiProxy | None = None  # the API server's service proxy (an in-cluster Prometheus from a laptop)
    nodes: NodeProxy | None = None  # the node proxy (kubelet figures without Prometheus)
    # A partial input (a snapshot, a paste) says which kinds it holds; None: a live cluster, where an object's
    # absence is a fact. Absence from a snapshot is not evidence ("no endpoints" needs the Endpoints object).
    inventory: Inventory | None = None
    # The same connection acting as another Kubernetes user (``Impersonate-User``/``-Group``): fixes a person
    # approved are dry-run, reviewed and applied as them, so the API server's RBAC decides (issue 27).
    impersonate: Impersonator | None = None
    forward: PortForwarder | None = None  # pods/portforward (k8stui's port-forward), in-process
    logs: LogStreamer | None = None  # followed logs (follow=true), one request per container
    tables: TableReader | None = None  # any kind by discovery, in the server's Table format


class Forward(Protocol):
    """A local port forwarded to a pod's port, until :meth:`close`."""

    local_port: int
    connections: int
    errors: list[str]

    async def close(self) -> None: ...


class PortForwarder(Protocol):
    async def port_forward(self, namespace: str, pod: str, port: int, *, local_port: int = 0) -> Forward:
        """Listen on ``127.0.0.1:local_port`` (0: a free port) and carry each connection to ``port`` of the pod
        through the API server (``pods/portforward``)."""


class LogStreamer(Protocol):
    def stream_logs(
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
        """A container's log line by line, redacted; ``follow``: one request kept open, each line as it is written."""


@dataclass(frozen=True)
class ApiResource:
    """One resource the API server serves (its discovery): CRDs included, with short names and categories."""

    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        where = f"/namespaces/{namespace}" if namespace and self.namespaced else ""
        return f"{base}{where}/{self.plural}" + (f"/{name}" if name else "")

    def names(self) -> tuple[str, ...]:
        """What ``kubectl get`` accepts for it: the plural, the singular, the kind and the short names (lower case),
        each also as ``NAME.GROUP``."""
        plain = {n.lower() for n in (self.plural, self.singular, self.kind, *self.short_names) if n}
        return tuple(sorted(plain | ({f"{n}.{self.group}" for n in plain} if self.group else set())))


class TableReader(Protocol):
    """Any resource by discovery, listed and watched in the server's Table format (``kubectl get``'s columns)."""

    async def resources(self) -> list[ApiResource]:
        """Every listable resource, from discovery: the preferred version of each group, no subresources."""

    async def list_table(
        self,
        resource: ApiResource,
        namespace: str | None = None,
        *,
        limit: int = 500,
        continue_token: str | None = None,
    ) -> Obj:
        """One page of the resource as a ``meta.k8s.io/v1`` Table, each row with its object's metadata (no
        annotations, no managed fields)."""

    def watch_table(
        self, resource: ApiResource, namespace: str | None = None, *, resource_version: str
    ) -> AsyncGenerator[Obj, None]:
        """Watch events whose objects are Tables of one row (``{"type", "object"}``)."""

    async def get_resource(self, resource: ApiResource, namespace: str | None, name: str) -> Obj | None:
        """The object, redacted; None when it does not exist."""


class Impersonator(Protocol):
    def impersonating(self, user: str, groups: tuple[str, ...] = ()) -> Capabilities:
        """The writer and object sides of this connection, each request impersonating ``user`` and ``groups``."""


class Inventory(Protocol):
    def holds(self, kind: str, namespace: str | None = None) -> bool:
        """Whether the input held any object of ``kind`` (in ``namespace``, when given)."""


READ_ONLY = Capabilities()
