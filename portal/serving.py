"""Serving the portal with several worker processes, each accepting its own connections.

Uvicorn's workers share one listening socket: the worker that wakes first accepts every
connection waiting, so a burst of clients (practice software opening their keep-alive
connections together) lands on one worker while the others stay idle. Here each worker
listens on a socket of its own, bound with ``SO_REUSEPORT`` to the same address, and the
kernel spreads new connections across them.
"""

from __future__ import annotations

import contextlib
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other sockets may bind too (``SO_REUSEPORT``);
    ``OSError`` when the port is taken by a program that does not share it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class WorkerSocket(socket.socket):
    """The supervisor's socket, which each worker receives as a new socket of its own bound to
    the same address (`listening_socket`), not as a copy of the supervisor's.

    The supervisor's socket is bound but never listens: it holds the address (a port taken
    by another program fails at start-up, once) and receives no connection itself."""

    def __reduce__(self):
        return listening_socket, self.getsockname()[:2]


def serve(config: uvicorn.Config) -> None:
    """Run ``config``'s app, with ``config.workers`` processes when more than one (see the
    module's docstring); exit with uvicorn's start-up failure status if it cannot start."""
    if config.workers == 1:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    try:
        held = listening_socket(config.host, config.port)
    except OSError as error:
        print(f"carnet: cannot listen on {config.host}:{config.port}: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    sock = WorkerSocket(held.family, held.type, held.proto, fileno=held.detach())
    with contextlib.closing(sock), contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()
