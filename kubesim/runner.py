"""Starting a simulator: in the foreground (``kubewhy sim serve``) or on a background thread (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .cluster import Cluster
from .scenario import Scenario
from .server import SimOptions, SimServer


def kubeconfig(url: str, name: str = "kubesim") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": f"{name}-user", "user": {"token": "kubesim"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-user", "namespace": "default"}}],
    }


def write_kubeconfig(path: str | Path, url: str, name: str = "kubesim") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(url, name), sort_keys=False))
    return path


async def start(server: SimServer, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    real_port = runner.addresses[0][1] if runner.addresses else port
    return runner, f"http://{host}:{real_port}"


@dataclass
class RunningSim:
    """A simulator serving on a background thread with its own event loop."""

    url: str
    server: SimServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    kubeconfig: Path | None = None
    _runner: web.AppRunner | None = field(default=None, repr=False)

    @property
    def cluster(self) -> Cluster:
        return self.server.cluster

    def control(self, route: str, body: Any = None) -> Any:
        """Call the /kubesim/v1 control API (stats, apply, timeline/advance, churn)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/kubesim/v1/{route}",
            data=data,
            method="POST" if data is not None or route.endswith("reset") else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, int]:
        requests: dict[str, int] = self.control("stats")["requests"]
        return requests

    def denied(self) -> dict[str, int]:
        """What RBAC refused since the last reset, as ``verb resource[/sub]`` counts."""
        refused: dict[str, int] = self.control("stats")["denied"]
        return refused

    def reset_stats(self) -> None:
        self.control("stats/reset", {})

    def stop(self) -> None:
        async def _stop() -> None:
            if self._runner:
                await self._runner.cleanup()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def run_in_thread(
    scenario: Scenario,
    options: SimOptions | None = None,
    *,
    kubeconfig_out: str | Path | None = None,
    port: int = 0,
    history_size: int = 20_000,
) -> RunningSim:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            server = SimServer(Cluster(scenario, history_size=history_size), options)
            runner, url = await start(server, port=port)
            box.update(server=server, runner=runner, url=url)

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # surface start-up errors to the caller
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=target, name="kubesim", daemon=True)
    thread.start()
    ready.wait(timeout=60)
    if "error" in box:
        raise box["error"]
    sim = RunningSim(box["url"], box["server"], loop, thread, _runner=box["runner"])
    if kubeconfig_out:
        sim.kubeconfig = write_kubeconfig(kubeconfig_out, sim.url)
    return sim


async def serve_forever(
    scenario: Scenario,
    options: SimOptions,
    *,
    host: str,
    port: int,
    kubeconfig_out: str | Path | None,
    announce: Any = print,
) -> None:
    server = SimServer(Cluster(scenario), options)
    # the scenario's objects live as long as the server: out of the collector's way (at 150,000 pods a full
    # collection walks millions of them and stalls every request for a second or more)
    gc.freeze()
    runner, url = await start(server, host, port)
    if kubeconfig_out:
        write_kubeconfig(kubeconfig_out, url)
    announce(url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
