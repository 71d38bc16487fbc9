"""`scripts/demo --watch` (`kubewhy demo --watch`) as a process, with no Prometheus: the kubelet sampler pages the
workshop's q10 CPU throttling once, carrying its diagnosis (the rules file's `for` is 2 s, the sampler reads every
second: the bundled 5 minutes are covered under a virtual clock in test_sampler_reads.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import until_sync

from .conftest import DATA, open_incidents


def test_demo_watch_pages_q10s_throttling_once_with_its_diagnosis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEWHY_", "SLACK_"))}
    env.update(
        {
            "KUBEWHY_WATCH_RULES": str(DATA / "sampler-rules.yaml"),
            "KUBEWHY_SAMPLER_INTERVAL": "1s",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubewhy",
                "demo",
                "--watch",
                "--kubeconfig-out",
                str(tmp_path / "demo.kubeconfig"),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    lines: list[str] = []
    try:

        def throttling_pages() -> list[str]:
            text = out_path.read_text()
            assert proc.poll() is None, text
            return [ln for ln in text.splitlines() if " page " in ln and "cpu-throttling deploy/q10/server" in ln]

        until_sync(lambda: bool(throttling_pages()), timeout=150, interval=0.2, what="q10's throttling page")
        # its incident is in the demo's ledger with the page saved: the watchers are done with it
        ledger = f"sqlite:///{tmp_path / 'kubewhy-demo-audit.db'}"
        until_sync(
            lambda: asyncio.run(open_incidents(ledger)).get("deploy/q10/server") is not None,
            timeout=30,
            what="the page saved in the ledger",
        )
        lines = throttling_pages()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert len(lines) == 1, lines
    page = lines[0]
    assert "CPU-throttled (6" in page and "kubelets read every 1s" in page, page
    assert "cause: CPU throttling" in page, page  # the diagnosis it carries
