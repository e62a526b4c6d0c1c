"""SQLite has no LISTEN/NOTIFY: idle workers wait on Unix datagram sockets that an enqueue pokes
once its row is committed (local_wake.py). Real SQLite files, sockets and worker backend."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.worker.backend import Claim, ProcessInfo
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import sqlite_file
from jobframe_sql.local_wake import LocalWaiter, poke, wake_folder


class WokenJob(jobframe.Job):
    def perform(self, n: int) -> None:
        pass


@pytest.fixture
def adapter(tmp_path: Path) -> Any:
    # A poll every 30 s: a job picked up within the test's few seconds was woken, not polled.
    made = SQLAdapter(f"sqlite:///{tmp_path}/woken.sqlite3", poll_interval=30)
    db.init(made.engine)
    with queue_adapters.override(made):
        yield made
    made.shutdown()


def test_an_enqueue_wakes_an_idle_sqlite_worker(adapter: SQLAdapter) -> None:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("idle-sqlite", ["*"], 1))
    waiting = threading.Event()
    wait = backend._waiter().wait  # made now rather than at the first idle wait

    def observed_wait(timeout: float) -> bool:
        waiting.set()
        return bool(wait(timeout))

    backend._local.wait = observed_wait
    got: list[list[Claim]] = []
    fetcher = threading.Thread(
        target=lambda: got.append(backend.fetch("idle-sqlite", ["*"], 1, 30))
    )
    fetcher.start()
    assert waiting.wait(10), "the worker never went idle"
    job = WokenJob.perform_later(1)
    fetcher.join(10)
    assert not fetcher.is_alive(), "the enqueue did not wake the idle worker (it polls every 30 s)"
    assert [c.id for c in got[0]] == [job.provider_job_id]
    backend.deregister("idle-sqlite")
    assert list(wake_folder(sqlite_file(adapter.engine) or "").glob("*.sock")) == []


def test_a_dead_workers_socket_is_removed_by_the_next_poke(tmp_path: Path) -> None:
    database = str(tmp_path / "stale.sqlite3")
    alive, dead = LocalWaiter(database), LocalWaiter(database)
    dead.sock.close()  # its process was SIGKILLed: the file stays, nobody reads it
    try:
        assert poke(database) == 1
        assert alive.wait(5)
        assert not dead.path.exists()
        assert not alive.wait(0), "one poke is one wake-up"
    finally:
        alive.close()


def test_no_poke_without_waiting_workers(tmp_path: Path) -> None:
    assert poke(str(tmp_path / "nobody.sqlite3")) == 0


def test_only_sqlite_files_get_sockets(adapter: SQLAdapter) -> None:
    assert sqlite_file(adapter.engine) is not None
    assert sqlite_file(SQLAdapter("sqlite://").engine) is None
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:  # the platform has them
        assert probe.family == socket.AF_UNIX
