"""A throwaway PostgreSQL + PostGIS cluster on loopback for the store tests.

Uses Debian's ``postgresql-15`` and ``postgresql-15-postgis-3`` binaries. The cluster lives
in a temporary directory with its unix socket there and a free TCP port on 127.0.0.1; it is
removed when the test session ends. ``initdb`` refuses to run as root, so as root the
cluster runs as the ``postgres`` user. Set ``PARKATLAS_TEST_PG_URL`` to use an existing
server instead (the tests then create and drop their own databases on it).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("PARKATLAS_PG_BIN", "/usr/lib/postgresql/15/bin"))
URL_ENV = "PARKATLAS_TEST_PG_URL"


def available() -> str | None:
    """Why a throwaway server cannot be started (``None`` when it can)."""
    if os.environ.get(URL_ENV):
        return None
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL binaries not found in {PG_BIN} (install postgresql-15 and postgresql-15-postgis-3)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """Start with :meth:`start`, stop with :meth:`stop`; :attr:`url` is a superuser URL."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="parkatlas-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [*(["runuser", "-u", "postgres", "--"] if self._as_postgres else []), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> "PostgresServer":
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=150 -c fsync=off -c full_page_writes=off -c shared_buffers=64MB")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def create_database(server_url: str, template: str | None = None) -> str:
    """A new empty (or ``template``-copied) database on the server; returns its URL."""
    import psycopg

    name = f"parkatlas_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
