"""SQLite and MariaDB have no LISTEN/NOTIFY: idle workers on the enqueuer's machine wait on Unix
datagram sockets that an enqueue pokes once its row is committed (local_wake.py). Real databases,
sockets and worker backend."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

import jobframe
from jobframe import queue_adapters
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe_sql.adapter import SQLAdapter, enqueue_in
from jobframe_sql.engine import local_wake_key, sqlite_file
from jobframe_sql.local_wake import LocalWaiter, poke, wake_folder

ERROR = {"class": "RuntimeError", "message": "boom", "traceback": "Traceback ...", "reason": "x"}


class WokenJob(jobframe.Job):
    def perform(self, n: int) -> None:
        pass


# The databases without NOTIFY, through conftest's `sql_url` (a fresh database with the tables).
without_notify = pytest.mark.parametrize("sql_url", ["sqlite", "mariadb"], indirect=True)


@pytest.fixture
def adapter(sql_url: str) -> Iterator[SQLAdapter]:
    # A poll every 30 s: a job picked up within the test's few seconds was woken, not polled.
    made = SQLAdapter(sql_url, poll_interval=30)
    with queue_adapters.override(made):
        yield made
    made.shutdown()


@without_notify
@pytest.mark.parametrize("bulk", [False, True], ids=["one", "bulk"])
def test_an_enqueue_wakes_an_idle_worker_on_this_machine(adapter: SQLAdapter, bulk: bool) -> None:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("idle-local", ["*"], 1))
    waiting = threading.Event()
    wait = backend._waiter().wait  # made now rather than at the first idle wait

    def observed_wait(timeout: float) -> bool:
        waiting.set()
        return bool(wait(timeout))

    backend._local.wait = observed_wait
    got: list[list[Claim]] = []
    fetcher = threading.Thread(target=lambda: got.append(backend.fetch("idle-local", ["*"], 5, 30)))
    fetcher.start()
    assert waiting.wait(10), "the worker never went idle"
    if bulk:
        jobs = [WokenJob(1), WokenJob(2)]
        jobframe.perform_all_later(jobs)
    else:
        jobs = [WokenJob.perform_later(1)]
    fetcher.join(10)
    assert not fetcher.is_alive(), "the enqueue did not wake the idle worker (it polls every 30 s)"
    assert {c.id for c in got[0]} == {job.provider_job_id for job in jobs}
    backend.deregister("idle-local")
    assert list(wake_folder(local_wake_key(adapter.engine) or "").glob("*.sock")) == []


@without_notify
def test_resume_and_retry_wake_idle_workers_on_this_machine(adapter: SQLAdapter) -> None:
    waiter = LocalWaiter(local_wake_key(adapter.engine) or "")
    try:
        inspector = adapter.inspector()
        inspector.pause("default")
        inspector.resume("default")
        assert waiter.wait(5), "resume did not wake the idle worker"
        job = WokenJob.perform_later(1)
        assert waiter.wait(5)
        backend = adapter.worker_backend()
        backend.register(ProcessInfo("failing", ["*"], 1))
        (claim,) = backend.fetch("failing", ["*"], 1, 0)
        backend.complete("failing", [Outcome(claim, "failed", ERROR, attempts=1)])
        assert inspector.retry([job.provider_job_id or ""]) == 1
        assert waiter.wait(5), "retry did not wake the idle worker"
        assert inspector.retry([job.provider_job_id or ""]) == 0
        assert not waiter.wait(0), "nothing was made ready: no wake-up"
    finally:
        waiter.close()


@without_notify
def test_jobs_enqueued_in_a_transaction_wake_workers_when_it_commits(adapter: SQLAdapter) -> None:
    waiter = LocalWaiter(local_wake_key(adapter.engine) or "")
    app = sa.create_engine(adapter.engine.url)  # the application's own engine
    make_session = sessionmaker(app)
    try:
        with make_session.begin() as session:
            with enqueue_in(session):
                WokenJob.perform_later(1)
                WokenJob.perform_later(2)
            assert not waiter.wait(0), "woken before the commit"
        assert waiter.wait(5), "the commit did not wake the idle worker"
        assert not waiter.wait(0), "one wake-up per transaction"

        with make_session() as session:
            with enqueue_in(session):
                WokenJob.perform_later(3)
            session.rollback()
        assert not waiter.wait(0.2), "a rolled-back job woke the worker"

        with app.begin() as conn, enqueue_in(conn):
            WokenJob.perform_later(4)
        assert waiter.wait(5), "a Connection's commit did not wake the idle worker"
        assert adapter.inspector().count("ready") == 3
    finally:
        waiter.close()
        app.dispose()


@without_notify
def test_poll_interval_defaults_to_a_tenth_of_a_second_where_others_are_not_woken(
    adapter: SQLAdapter,
) -> None:
    default = SQLAdapter(adapter.engine.url.render_as_string(hide_password=False))
    try:
        expected = 1.0 if adapter.engine.dialect.name == "sqlite" else 0.1
        assert default.poll_interval == expected
    finally:
        default.shutdown()


def test_wake_keys_name_the_database() -> None:
    assert local_wake_key(SQLAdapter("sqlite:///rel.sqlite3").engine) == str(
        Path("rel.sqlite3").absolute()
    )
    maria = SQLAdapter("mysql+pymysql://root@db.example:3307/shop").engine
    assert local_wake_key(maria) == "mysql://db.example:3307/shop"
    assert local_wake_key(SQLAdapter("postgresql+psycopg://u@h/d").engine) is None  # NOTIFY
    assert local_wake_key(SQLAdapter("sqlite://").engine) is None  # in memory: one process


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


def test_a_folder_this_process_cannot_read_is_no_error(tmp_path: Path) -> None:
    key = str(tmp_path / "theirs.sqlite3")
    folder = wake_folder(key)
    folder.mkdir(mode=0o700)
    try:
        folder.rmdir()
        folder.write_text("not a folder")  # scandir fails: NotADirectoryError, an OSError
        assert poke(key) == 0
    finally:
        folder.unlink()


def test_only_sqlite_files_get_sockets(tmp_path: Path) -> None:
    assert sqlite_file(SQLAdapter(f"sqlite:///{tmp_path}/a.sqlite3").engine) is not None
    assert sqlite_file(SQLAdapter("sqlite://").engine) is None
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:  # the platform has them
        assert probe.family == socket.AF_UNIX
