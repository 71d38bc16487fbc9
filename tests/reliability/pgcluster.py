"""A Postgres of the tests' own: ``initdb`` a cluster in a temporary directory, started with the server binaries of
Debian's postgresql package on a free port of 127.0.0.1, so a test can restart it, crash it (``-m immediate``) or
SIGKILL it. The shared server at 5432 is never touched.

``initdb`` and ``postgres`` refuse to run as root: as root, the cluster belongs to the ``postgres`` user (else
``nobody``), and both run as that user (``subprocess``'s ``user``/``group``). The postmaster is a child of the test
process, which reaps it: this machine's init does not, and a zombie postmaster would keep its lock file alive.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

BINARIES = "/usr/lib/postgresql/*/bin"
NEEDED = ("initdb", "postgres")


def server_bindir() -> Path | None:
    """The newest installed server binaries (``/usr/lib/postgresql/<major>/bin``) with initdb and postgres."""
    found = [
        p
        for p in Path("/").glob(BINARIES.lstrip("/"))
        if all((p / name).is_file() and os.access(p / name, os.X_OK) for name in NEEDED)
    ]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """One cluster, trust auth for ``postgres`` over TCP on 127.0.0.1:``port``; no Unix socket outside its dir."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kubewhy-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        self.restarts = 0
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _ids(self) -> dict[str, Any]:
        """``subprocess`` arguments that run a server command as the unprivileged user (as root)."""
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "server log:\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
        return ""

    def init(self) -> PrivatePostgres:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o700)
        cmd = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]
        proc = subprocess.run(
            [*cmd, "-E", "UTF8"], capture_output=True, text=True, timeout=120, cwd=self.root, **self._ids()
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 60\nshared_buffers = 16MB\n"
            )
        return self

    def start(self, timeout: float = 60.0) -> None:
        """Start the postmaster as a child of this process (so that this process reaps it when it is killed: a
        zombie postmaster would hold its lock file), and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self._server = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
                start_new_session=True,
                **self._ids(),
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._server.poll() is not None:
                raise RuntimeError(f"postgres exited {self._server.returncode} at start\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections within {timeout:.0f} s\n{self._log_tail()}")
            time.sleep(0.02)

    def _ready(self) -> bool:
        """The postmaster's own word (line 8 of postmaster.pid), then a TCP connect."""
        with contextlib.suppress(OSError, IndexError):
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            if self._server is None or lines[0] != str(self._server.pid) or lines[7].strip() != "ready":
                return False
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        return False

    def stop(self, mode: str = "fast", *, wait: bool = True) -> None:
        """``fast``: the clean shutdown of a restart (SIGINT); ``immediate``: a crash, recovery at the next start
        (SIGQUIT); ``smart``: ``pg_ctl stop -m smart`` (SIGTERM): new connections are refused with 57P03 "the
        database system is shutting down" until the sessions still open end. ``wait=False``: return at once
        (``wait_stopped()`` waits)."""
        server = self._server
        if server is None or server.poll() is not None:
            return
        signals = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT, "smart": signal.SIGTERM}
        server.send_signal(signals[mode])
        if wait:
            self.wait_stopped()

    def wait_stopped(self) -> None:
        if self._server is not None:
            self._server.wait(60)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()
        self.restarts += 1

    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster; its backends notice and exit. Returns once the cluster can start again."""
        server = self._server
        if server is None or server.poll() is not None:
            return
        server.kill()
        server.wait(60)
        deadline = time.monotonic() + 30
        while _backends_of(self.data) and time.monotonic() < deadline:
            time.sleep(0.02)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run initdb as")


def _backends_of(data: Path) -> list[int]:
    """Processes still running a postgres of this data directory (after its postmaster was killed)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "cwd").resolve() == data and (proc / "cmdline").read_bytes().startswith(b"postgres"):
                found.append(int(proc.name))
    return found
