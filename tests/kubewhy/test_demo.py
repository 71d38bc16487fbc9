"""The README's first command runs `kubewhy demo`: the workshop on the simulator, diagnosed and recorded, with a
cause for each of the ten workshop problems, though no Prometheus is configured. The demo records in its own audit
database beside its kubeconfig, never in the user's (the default one or $KUBEWHY_DATABASE_URL's), unless
--database-url says where."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.waiting import until_sync
from tests.watch.conftest import open_incidents

# One target of each workshop problem and the causes any of which its line may lead with.
TEN_PROBLEMS = {
    "pod/q1/app-7d4b9c6f5-x2x7k": ("oom-killed", "liveness-throttled"),
    "node/node-3": ("node-not-ready",),
    "pod/q3/uploader-6c5f8d9b47-2w4h8": ("clock-skew",),
    "svc/q4/web": ("service-no-endpoints", "service-port-mismatch"),
    "pod/q5/db-0": ("statefulset-pvc-full",),
    "pod/q6/app-5f7c9d8b6d-hvh9z": ("configmap-not-updated",),
    "hpa/q7/php-apache": ("hpa-not-scaling",),
    "pvc/q8/shared-data": ("rwo-multi-attach",),
    "svc/q9/api": ("servicemonitor-ignored",),
    "pod/q10/server-7b6f4c9d8c-jhk7g": ("cpu-throttling",),  # proven through the kubelets' node proxy
}


def _kubewhy(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubewhy", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _files(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` with the sha256 of its bytes."""
    return {
        str(f.relative_to(directory)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(directory.rglob("*"))
        if f.is_file()
    }


def test_demo_diagnoses_the_workshop_and_records_it_in_its_own_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEWHY_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")  # the user's default audit log: ~/.local/share/kubewhy/audit.db
    user_data = tmp_path / "home" / ".local" / "share" / "kubewhy"
    assert _kubewhy("db", "upgrade", env=env).returncode == 0 and (user_data / "audit.db").exists()
    before = _files(user_data)
    demo_dir = tmp_path / "demo"
    demo = ("demo", "--once", "--kubeconfig-out", str(demo_dir / "demo.kubeconfig"))
    configured = {**env, "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'user.db'}"}  # the user's own choice
    proc = _kubewhy(*demo, env=configured, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if line.startswith("  ") and len(line.split()) > 1 and line.split()[0].count("/") >= 1
    }
    for target, causes in TEN_PROBLEMS.items():
        assert target in lines, (target, out)
        cause = lines[target].rstrip(":")
        assert cause in causes, (target, cause, out)
    assert (demo_dir / "demo.kubeconfig").exists()
    assert not (tmp_path / "user.db").exists(), "the demo wrote into $KUBEWHY_DATABASE_URL's database"

    # Each step is announced on stderr as it starts, the database the demo records in with it.
    steps = [line for line in proc.stderr.splitlines() if line.startswith("kubewhy demo: ")]
    assert steps[0].startswith("kubewhy demo: starting the simulator"), proc.stderr
    assert steps[1].startswith("kubewhy demo: diagnosing") and str(demo_dir / "kubewhy-demo-audit.db") in steps[1]

    # The demo's own database has the diagnoses, and the history command the demo suggests shows them.
    (suggested,) = [line.split() for line in out.splitlines() if " history --since 1h" in line]
    assert suggested[-2:] == ["--database-url", f"sqlite:///{demo_dir / 'kubewhy-demo-audit.db'}"], suggested
    history = _kubewhy(*suggested[1:], env=env)
    assert history.returncode == 0 and "demo" in history.stdout, history

    # Again with the default audit log: it stays byte for byte as it was, with nothing new beside it (no fallback
    # or spool file), and the demo's database starts afresh: the first run's diagnoses are gone.
    again = _kubewhy(*demo, env=env, timeout=180)
    assert again.returncode == 0, again.stderr
    assert _files(user_data) == before, "the demo wrote into the default audit log"
    fresh = _kubewhy(*suggested[1:], env=env)
    assert fresh.stdout.count(" via demo ") == history.stdout.count(" via demo ") > 0, (history.stdout, fresh.stdout)


def test_demo_with_watch_pages_the_workshop_once_each_and_stops_cleanly(tmp_path: Path) -> None:
    """`kubewhy demo --watch` (scripts/demo --watch): the watchers on the demo cluster print their pages."""
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEWHY_PROMETHEUS", "SLACK_"))}
    env["KUBEWHY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'env.db'}"  # --database-url wins over it
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubewhy",
                "demo",
                "--watch",
                "--grace",
                "0s",
                "--kubeconfig-out",
                str(tmp_path / "demo.kubeconfig"),
                "--database-url",
                f"sqlite:///{tmp_path / 'explicit.db'}",
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    try:

        def paged() -> bool:
            text = out_path.read_text()
            assert proc.poll() is None, text
            return "node/node-3" in text and "crash-loop" in text

        until_sync(paged, timeout=120, interval=0.2, what="the node and crash-loop pages", detail=out_path.read_text)
        ledger = f"sqlite:///{tmp_path / 'explicit.db'}"  # each incident open and its page saved: nothing left to page
        until_sync(lambda: all(asyncio.run(open_incidents(ledger)).values()), timeout=30, what="every page saved")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    pages = [line for line in out_path.read_text().splitlines() if " page " in line]
    assert proc.returncode == 0 and "Traceback" not in err
    assert any("node-not-ready node/node-3" in p and "cause:" in p for p in pages), pages
    assert len(pages) == len({p.split()[2] for p in pages})  # one page per incident
    # Diagnoses and the incident ledger went to the database given on the command line, and only there.
    assert (tmp_path / "explicit.db").exists()
    assert not (tmp_path / "env.db").exists() and not (tmp_path / "kubewhy-demo-audit.db").exists()
