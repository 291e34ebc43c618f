"""``carnet serve --workers N`` killed with ``kill -9``: its workers end with it, the port is
free, and the next start serves."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_cli import CARNET, free_port, run_carnet

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")
#: Seconds a step may take at most; they take a fraction of it.
PATIENCE = 60


def _children(pid: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.add(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _serve(tmp_path: Path, port: int) -> subprocess.Popen:
    """``carnet serve --workers 2`` in a process group of its own (see `_stop`)."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CARNET_")},
        "CARNET_DATA_DIR": str(tmp_path / "var"),
        "CARNET_DATABASE_URL": f"sqlite:///{tmp_path}/carnet.sqlite3",
    }
    return subprocess.Popen(
        [*CARNET, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _until_serving(server: subprocess.Popen, port: int) -> None:
    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            assert server.poll() is None, "carnet serve ended"
            return False

    _until(healthy, "carnet serve did not answer")


def _stop(server: subprocess.Popen) -> None:
    """End whatever is left of ``server``'s process group, whatever the test came to."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=PATIENCE)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    assert run_carnet("db", "upgrade", tmp_path=tmp_path).returncode == 0
    port = free_port()
    server = _serve(tmp_path, port)
    try:
        _until_serving(server, port)
        _until(lambda: len(_children(server.pid)) >= 2, "no workers")
        workers = {pid for pid in _children(server.pid) if _alive(pid)}

        server.send_signal(signal.SIGKILL)
        server.wait(timeout=PATIENCE)

        _until(lambda: not any(map(_alive, workers)), "the workers go on serving")
        _until(lambda: _port_free(port), "the port is still taken")
        again = _serve(tmp_path, port)
        try:
            _until_serving(again, port)
        finally:
            _stop(again)
    finally:
        _stop(server)
