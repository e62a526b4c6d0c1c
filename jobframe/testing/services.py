"""Real services for tests: fail under CI, skip locally, when one is not answering; and a private
``redis-server`` a test may configure, stop and start without touching the shared one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from jobframe.testing.workers import free_port, wait_until

# Without these a private server would snapshot to its folder as the stock redis.conf does; a test
# that wants persistence names --save or --appendonly itself.
NO_PERSISTENCE = {"--save": "", "--appendonly": "no"}


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail the test when ``CI`` is set, skip it otherwise, if ``name`` is down."""
    if port_open(host, port):
        return
    missing(f"{name} is not answering on {host}:{port}; start it with ../shared/services.sh")


def missing(message: str) -> NoReturn:
    """Fail the test when ``CI`` is set (a dependency of the dev group or a Debian package the
    project's scripts install must be there), skip it otherwise."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def answers_ping(port: int) -> bool:
    """Whether a Redis server on loopback ``port`` replies to PING (a password-protected one
    replies NOAUTH, which says as much that it is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


class RedisServer:
    """A private ``redis-server`` on a spare loopback port, its files and log in ``folder``.

    Parameters:
        folder: an existing directory for the server's data files and ``redis.log``.
        settings: more ``redis-server`` arguments; ``--save ""`` and ``--appendonly no`` are added
            unless ``settings`` names that option.
        password: set as ``--requirepass`` and put in ``url``.
    """

    def __init__(self, folder: Path, *settings: str, password: str | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        defaults = [part for option, value in NO_PERSISTENCE.items() if option not in settings
                    for part in (option, value)]  # fmt: skip
        self.command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                        "--dir", str(folder), *defaults, *settings]  # fmt: skip
        if password:
            self.command += ["--requirepass", password]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and return once it answers PING (within 10 seconds)."""
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: answers_ping(self.port), 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        """SIGTERM, as an operator's restart sends: Redis flushes its append-only file and exits."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@contextmanager
def redis_server(
    folder: Path, *settings: str, password: str | None = None
) -> Iterator[RedisServer]:
    """A started `RedisServer` (see there for the arguments), stopped on exit.

    A test needing it fails under ``CI``, and skips otherwise, when ``redis-server`` is not on PATH.
    """
    if shutil.which("redis-server") is None:
        missing("redis-server is not on PATH; install Debian's redis-server")
    server = RedisServer(folder, *settings, password=password)
    try:
        server.start()
        yield server
    finally:
        server.stop()
