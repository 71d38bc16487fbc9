"""The live adapter's two transports, against the simulator over HTTP: the direct one (``http.client``, for
kubeconfigs kubewhy reads exactly) and the official ``kubernetes`` client (everything else) send the same
requests and give the same answers; the official one is chosen whenever the kubeconfig needs it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.runner import RunningSim
from kubewhy.adapters.kube_live import DirectClient, LiveKube, build_api_client, official_client
from kubewhy.errors import ClusterUnreachable, KubeApiError

POD = ("q1", "app-7d4b9c6f5-x2x7k")


async def reads(kube: LiveKube) -> list[Any]:
    ns, name = POD
    return [
        await kube.get("Pod", ns, name),
        await kube.get("Pod", ns, "nope"),
        await kube.list("Pod", ns, label_selector="app=app"),
        await kube.list("Event", ns, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name}"),
        await kube.list("Node"),
        await kube.list("ServiceMonitor", ns),  # a group the simulator does not serve: 404 → []
        await kube.logs(ns, name, "app", previous=True, tail=5),
        await kube.logs(ns, name, "no-such-container"),
        await kube.patch("Deployment", ns, "app", {"spec": {"replicas": 3}}, patch_type="merge", dry_run=True),
        await kube.patch(
            "Pod",
            ns,
            name,
            [{"op": "add", "path": "/metadata/labels/x", "value": "y"}],
            patch_type="json",
            dry_run=True,
        ),
    ]


def test_both_transports_send_the_same_requests_and_read_the_same(start_sim: Callable[..., RunningSim]) -> None:
    sim = start_sim("workshop/q01-app-crash")
    direct = build_api_client(str(sim.kubeconfig))
    assert isinstance(direct, DirectClient)
    results, requests = [], []
    for api in (direct, official_client(str(sim.kubeconfig))):
        sim.reset_stats()
        kube = LiveKube(api)
        results.append(asyncio.run(reads(kube)))
        requests.append((kube.requests, sim.stats()))
    assert results[0] == results[1]
    assert results[0][0]["metadata"]["name"] == POD[1] and results[0][1] is None and results[0][5] == []
    assert requests[0] == requests[1]


def test_errors_are_the_same_on_both(start_sim: Callable[..., RunningSim], tmp_path: Path) -> None:
    sim = start_sim("workshop/q01-app-crash")
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(sim.kubeconfig.read_text().replace(sim.url, "http://127.0.0.1:9"))
    for api in (build_api_client(str(dead)), official_client(str(dead))):
        with pytest.raises(ClusterUnreachable, match=r"cannot reach the Kubernetes API at http://127.0.0.1:9"):
            asyncio.run(LiveKube(api).get("Pod", "q1", "x"))
    for api in (build_api_client(str(sim.kubeconfig)), official_client(str(sim.kubeconfig))):
        with pytest.raises(KubeApiError):
            asyncio.run(LiveKube(api).patch("Deployment", "q1", "nope", {"spec": {}}, patch_type="merge"))


def edited(path: Path | None, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    assert path is not None
    data = yaml.safe_load(path.read_text())
    change(data)
    out = tmp_path / f"kc-{len(list(tmp_path.iterdir()))}"
    out.write_text(yaml.safe_dump(data))
    return str(out)


def test_the_official_client_reads_what_the_direct_one_would_not(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    sim = start_sim("workshop/q01-app-crash")

    def user(**fields: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["users"][0].__setitem__("user", fields)

    for kc in (
        edited(sim.kubeconfig, tmp_path, user(username="u", password="p")),
        edited(
            sim.kubeconfig, tmp_path, user(exec={"apiVersion": "client.authentication.k8s.io/v1", "command": "true"})
        ),
        edited(
            sim.kubeconfig,
            tmp_path,
            lambda d: d["clusters"][0]["cluster"].__setitem__("proxy-url", "http://127.0.0.1:9"),
        ),
        f"{sim.kubeconfig}{os.pathsep}{tmp_path / 'other'}",
    ):
        from kubewhy.adapters.kube_live import direct_client

        assert direct_client(kc) is None, kc

    # and a kubeconfig it does read: a named context, a token, relative paths resolved beside the file
    def another_context(d: dict[str, Any]) -> None:
        d["contexts"].append({"name": "other", "context": {"cluster": d["clusters"][0]["name"]}})
        d["current-context"] = "x"

    api = build_api_client(edited(sim.kubeconfig, tmp_path, another_context), "other")
    assert isinstance(api, DirectClient)
    assert asyncio.run(LiveKube(api).get("Pod", *POD)) is not None


def test_a_prefetched_target_is_counted_and_fails_where_the_diagnosis_would(
    start_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    from kubewhy import compose, service
    from kubewhy.errors import TargetNotFound
    from kubewhy.models.target import parse_target
    from kubewhy.settings import Flags, load

    sim = start_sim("workshop/q01-app-crash")
    settings = load({"HOME": str(tmp_path)}, Flags(kubeconfig=str(sim.kubeconfig), no_audit=True))

    async def why(target: str, kubeconfig: Path | None = None) -> Any:
        s = settings if kubeconfig is None else load({"HOME": str(tmp_path)}, Flags(kubeconfig=str(kubeconfig)))
        kube = compose.build_kube(s, prefetch=parse_target(target))
        async with compose.opened(s, kube=kube, audit=False) as deps:
            return await service.diagnose(parse_target(target), deps)

    sim.reset_stats()
    report = asyncio.run(why("pod/q1/app-7d4b9c6f5-x2x7k"))
    assert report.findings and report.api_requests == sum(sim.stats().values())  # the prefetch is counted once
    with pytest.raises(TargetNotFound, match="did you mean: app-7d4b9c6f5-x2x7k"):
        asyncio.run(why("pod/q1/app-7d4b9c6f5-x2x7"))
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(sim.kubeconfig.read_text().replace(sim.url, "http://127.0.0.1:9"))
    with pytest.raises(ClusterUnreachable):
        asyncio.run(why("pod/q1/x", dead))


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # the official client, insecure on purpose
def test_tls_with_a_ca_a_client_certificate_or_no_verification(tmp_path: Path) -> None:
    """The direct transport's TLS set-up (CA data, client certificate data, insecure-skip-tls-verify), against an
    HTTPS endpoint that requires the client certificate; the official client reads the same kubeconfigs alike."""
    import base64
    import http.server
    import json
    import shutil
    import ssl
    import subprocess
    import threading

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make the test certificates")

    def make(name: str, *extra: str) -> tuple[Path, Path]:
        key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={name}",
                "-keyout",
                str(key),
                "-out",
                str(crt),
                *extra,
            ],
            check=True,
            capture_output=True,
        )
        return key, crt

    server_key, server_crt = make("server", "-addext", "subjectAltName=IP:127.0.0.1")
    client_key, client_crt = make("client")
    other_key, other_crt = make("other", "-addext", "subjectAltName=IP:127.0.0.1")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            body = json.dumps(
                {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "auth": self.headers.get("Authorization")}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server_crt, server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_crt)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}"

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    def kubeconfig(name: str, cluster: dict[str, Any]) -> str:
        path = tmp_path / f"{name}.kubeconfig"
        user = {"token": "t0k", "client-certificate-data": b64(client_crt), "client-key-data": b64(client_key)}
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "c",
                    "clusters": [{"name": "k", "cluster": {"server": url, **cluster}}],
                    "users": [{"name": "u", "user": user}],
                    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                }
            )
        )
        return str(path)

    try:
        for name, cluster in (
            ("ca", {"certificate-authority-data": b64(server_crt)}),
            ("insecure", {"insecure-skip-tls-verify": True}),
        ):
            kc = kubeconfig(name, cluster)
            direct = build_api_client(kc)
            assert isinstance(direct, DirectClient), name
            for api in (direct, official_client(kc)):
                pod = asyncio.run(LiveKube(api).get("Pod", "ns", "p"))
                assert pod is not None and pod["auth"] == "Bearer t0k", (name, api)
        wrong = kubeconfig("wrong", {"certificate-authority-data": b64(other_crt)})
        with pytest.raises(ClusterUnreachable, match="SSL"):
            asyncio.run(LiveKube(build_api_client(wrong)).get("Pod", "ns", "p"))
    finally:
        httpd.shutdown()
        httpd.server_close()
