"""A real PostgreSQL server for the tests: Debian's postgresql (initdb, pg_ctl), in a
temporary folder, on a free port on 127.0.0.1 and a unix socket in that folder.

PostgreSQL refuses to run as root, so when the tests run as root the server's commands
run as the `postgres` user (runuser) and its folder belongs to that user; as any other
user they run as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them versioned)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """initdb + pg_ctl start/stop; `url(db)` for SQLAlchemy; `create(db)` a database."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed")
        self.bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="realtime-pg-"))
        self.root.chmod(0o755)  # the postgres user must reach it
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.sock, "postgres", "postgres")
            self.log.touch()
            shutil.chown(self.log, "postgres", "postgres")
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "-A", "trust", "-E", "UTF8", "--no-sync"], create_data=True)
        self.start()

    def _run(self, cmd: list[str], create_data: bool = False, timeout: float = 120.0
             ) -> subprocess.CompletedProcess:
        if self.as_root:
            if create_data:
                self.data.mkdir(mode=0o700)
                shutil.chown(self.data, "postgres", "postgres")
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr[-2000:]} "
                               f"{self.log.read_text()[-2000:] if self.log.exists() else ''}")
        return r

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c max_connections=60 -c shared_buffers=64MB")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-o", opts, "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                   "-t", "60", "stop"])

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create(self, db: str) -> str:
        import psycopg

        with psycopg.connect(self.url().replace("postgresql://", "postgresql://", 1),
                             autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{db}"')
        return self.url(db)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_until(pred, timeout: float = 60.0, every: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return False
