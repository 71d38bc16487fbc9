"""``pods/portforward`` over WebSocket (``v4.channel.k8s.io``), driven by the Kubernetes Python client's own
port-forward: an HTTP GET through the forwarded port reaches the stub behind that pod's port."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client, config
from kubernetes.stream import portforward

from kubesim.runner import RunningSim


@pytest.fixture
def api(start_sim: Callable[..., RunningSim]) -> client.CoreV1Api:
    sim = start_sim("workshop", timeline_mode="manual")
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sim.kubeconfig)))


def get_through(api: client.CoreV1Api, namespace: str, pod: str, port: int, path: str) -> str:
    forward = portforward(api.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    try:
        sock = forward.socket(port)
        sock.setblocking(True)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        reply = b""
        while b"\n" not in reply.split(b"\r\n\r\n", 1)[-1] or b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        sock.close()
        assert forward.error(port) is None
        return reply.decode()
    finally:
        forward.close()


def test_a_get_through_the_forward_reaches_the_pods_port(api: client.CoreV1Api) -> None:
    reply = get_through(api, "q4", "web-84c6d6f7b9-4bxv5", 80, "/healthz")
    assert reply.startswith("HTTP/1.1 200 OK\r\n")
    assert reply.endswith("kubesim stub: pod q4/web-84c6d6f7b9-4bxv5 port 80 GET /healthz\n")


def test_an_unknown_pod_is_not_found(api: client.CoreV1Api) -> None:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as raised:
        get_through(api, "q4", "nosuch", 80, "/")
    assert "404" in str(raised.value)  # the WebSocket handshake is refused with the API server's 404
