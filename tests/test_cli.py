"""The ``carnet`` command as a person (or a deployment script) uses it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CARNET = [sys.executable, "-m", "portal.cli"]


def run_carnet(*arguments: str, tmp_path: Path, **environ: str) -> subprocess.CompletedProcess:
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CARNET_")},
        "CARNET_DATA_DIR": str(tmp_path / "var"),
        "CARNET_DATABASE_URL": f"sqlite:///{tmp_path}/carnet.sqlite3",
        **environ,
    }
    return subprocess.run(
        [*CARNET, *arguments], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_commands(tmp_path):
    result = run_carnet("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "plugins"):
        assert command in result.stdout


def test_db_upgrade_twice(tmp_path):
    first = run_carnet("db", "upgrade", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_carnet("db", "upgrade", tmp_path=tmp_path)
    assert second.returncode == 0
    assert "up to date" in second.stdout


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CARNET_DATABASE_URL": "mysql://db/carnet"}, "CARNET_DATABASE_URL must start with"),
        (
            {"CARNET_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/carnet"},
            "cannot reach the database",
        ),
        ({"CARNET_ENV": "prod"}, "CARNET_SECRET_KEY"),
        ({"CARNET_DATABSE_URL": "sqlite:///x"}, "Did you mean CARNET_DATABASE_URL"),
    ],
)
def test_errors_are_one_line_without_a_traceback(tmp_path, environ, message):
    result = run_carnet("db", "upgrade", tmp_path=tmp_path, **environ)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("carnet: ")
    assert message in lines[0]


def test_serve_refuses_unsafe_production_settings(tmp_path):
    result = run_carnet(
        "serve",
        tmp_path=tmp_path,
        CARNET_ENV="prod",
        CARNET_SECRET_KEY="k" * 40,
        CARNET_ALLOWED_HOSTS="*",
        CARNET_BASE_URL="https://carnet.example.fr",
    )
    assert result.returncode == 1
    assert "CARNET_ALLOWED_HOSTS" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(tmp_path, *options: str) -> Iterator[tuple[str, list[str]]]:
    """``carnet serve`` on a new database: its base URL, and once the block ends, what it
    printed (a list, filled then)."""
    assert run_carnet("db", "upgrade", tmp_path=tmp_path).returncode == 0
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CARNET_")},
        "CARNET_DATA_DIR": str(tmp_path / "var"),
        "CARNET_DATABASE_URL": f"sqlite:///{tmp_path}/carnet.sqlite3",
    }
    server = subprocess.Popen(
        [*CARNET, "serve", "--port", str(port), *options],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base, printed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        printed.append(server.communicate(timeout=30)[0].decode())


def test_serve_with_several_workers(tmp_path):
    """Worker processes share nothing but the database and the secret: a form token handed
    out by any worker is accepted by every other."""
    with serving(tmp_path, "--workers", "2") as (base, printed):
        switched = 0
        for _ in range(12):  # new connections, spread by the kernel over both workers
            with urllib.request.urlopen(base + "/", timeout=5) as response:
                cookie = response.headers["set-cookie"].split(";")[0]
                token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode())[1]
            request = urllib.request.Request(
                base + "/language",
                method="POST",
                data=f"csrf_token={token}&language=en&next=/".encode(),
                headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
            )
            opener = urllib.request.build_opener(_NoRedirect)
            with opener.open(request, timeout=5) as response:
                switched += response.status == 303
    assert switched == 12
    assert printed[0].count("Started server process") == 2, printed[0]
    assert "serve SQLite with one worker, or use PostgreSQL" in printed[0]


def test_serve_spreads_a_burst_of_connections_over_the_workers(tmp_path):
    """Practice software opening its connections together is served by every worker, not by
    the first one awake: each worker listens on a socket of its own (SO_REUSEPORT), and the
    kernel spreads the connections."""
    with serving(tmp_path, "--workers", "2") as (base, _printed):
        port = int(base.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while [state for state, _peer, _inode in _tcp_sockets(port)].count(LISTEN) < 2:
            assert time.monotonic() < deadline, _tcp_sockets(port)
            time.sleep(0.1)
        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        try:
            for connection in connections:
                connection.sendall(
                    f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
                )
            for connection in connections:
                assert connection.recv(1024).startswith(b"HTTP/1.1 200")
            ours = {connection.getsockname()[1] for connection in connections}
            accepted = {inode for _state, peer, inode in _tcp_sockets(port) if peer in ours}
            assert len(accepted) == 16
            assert len(_holders(accepted)) == 2
        finally:
            for connection in connections:
                connection.close()


def test_serve_with_several_workers_says_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_carnet("serve", "--workers", "2", "--port", str(port), tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


#: The state of a listening socket in /proc/net/tcp.
LISTEN = "0A"


def _tcp_sockets(port: int) -> list[tuple[str, int, str]]:
    """The state, peer port and inode of each IPv4 TCP socket on local port ``port``."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            found.append((fields[3], int(fields[2].rsplit(":", 1)[1], 16), fields[9]))
    return found


def _holders(inodes: set[str]) -> set[int]:
    """The processes that hold these sockets."""
    holders = set()
    for descriptor in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(descriptor).removeprefix("socket:[").rstrip("]") in inodes:
                holders.add(int(descriptor.parts[2]))
    return holders


@pytest.mark.parametrize("options", [(), ("--access-log",)])
def test_serve_logs_each_request_only_when_asked(tmp_path, options):
    """The audit trail records every access to a dossier; a log of every request (addresses
    and paths, dossier ids among them) is kept only with ``--access-log``."""
    with serving(tmp_path, *options) as (base, printed):
        urllib.request.urlopen(base + "/login", timeout=5).close()
    assert ("GET /login HTTP/1.1" in printed[0]) == bool(options), printed[0]
    assert "warning" not in printed[0]  # one worker on SQLite: as it should be


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_303(self, request, response, code, message, headers):
        return response
