"""Wake-ups for databases without LISTEN/NOTIFY (SQLite, MariaDB, MySQL): idle workers wait on a
Unix datagram socket, and an enqueue sends each of them one byte once its row is committed.

The sockets of one database are in a folder of the temporary directory named after the
database's wake key (`jobframe_sql.engine.local_wake_key`): a SQLite file's absolute path, or a
server's dialect, host, port and database. Every process using one SQLite file runs on one machine
(SQLite over a network file system is not supported), so there every worker is reached; for a
database server, the workers on the enqueuer's machine are, and the others poll. Socket paths are
capped at 108 bytes, hence a hash for the folder rather than the key itself. A socket whose worker
died refuses the datagram and is removed by the next enqueue. Waking is best effort: a worker that
misses one still polls.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import tempfile
import uuid
from pathlib import Path


def wake_folder(key: str) -> Path:
    """The folder of the idle workers' sockets for one database (``key``: its wake key)."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"jobframe-wake-{digest}"


class LocalWaiter:
    """A worker process's socket. ``wait(t)`` returns early (True) when an enqueue pokes it."""

    def __init__(self, key: str) -> None:
        self.folder = wake_folder(key)
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self.path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.setblocking(False)

    def wait(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):  # several pokes count as one
            while True:
                self.sock.recv(64)
        return True

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __del__(self) -> None:
        # A backend dropped without deregister() (a script, a test) must not leak its socket.
        if hasattr(self, "sock") and self.sock.fileno() != -1:
            with contextlib.suppress(Exception):
                self.close()


def poke(key: str) -> int:
    """Send one byte to every idle worker of the database ``key`` names; returns how many were
    reached."""
    folder = wake_folder(key)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0  # no worker has ever waited on this database
    except OSError:
        # Another user's workers (their folder is 0700): they poll. An enqueue that committed
        # must not fail over a wake-up.
        return 0
    if not entries:
        return 0
    reached = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for entry in entries:
            try:
                sender.sendto(b"1", entry.path)
                reached += 1
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)  # its worker is gone
            except (BlockingIOError, OSError):
                pass  # a full buffer means it has been poked already
    return reached
