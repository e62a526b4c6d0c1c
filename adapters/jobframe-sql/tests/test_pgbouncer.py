"""PostgreSQL behind a real PgBouncer in transaction mode (Debian's ``pgbouncer``, started on a
loopback port for the test): undeclared, the workers are refused with a `ConfigurationError` that
names ``pgbouncer = true``; declared, many threads enqueue through it and a worker runs every job
(no prepared statement crosses server connections, no LISTEN, polling)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

import jobframe
from jobframe import queue_adapters
from jobframe.backend.worker import ProcessInfo
from jobframe.testing.databases import scratch_database
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.services import missing, port_open
from jobframe.testing.workers import Journal, free_port, wait_until, worker_thread
from jobframe.worker.options import WorkerOptions
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import create_engine

THREADS = 8
EACH = 25  # past psycopg's prepare threshold (5) on every thread


@contextmanager
def pgbouncer(folder: Path, target: str) -> Iterator[str]:
    """A PgBouncer in transaction mode on a free loopback port in front of ``target``'s server,
    with two server connections per database (so transactions of one client move between
    them); yields ``target``'s URL through it."""
    binary = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if binary is None:
        missing("pgbouncer is not installed (apt-get install pgbouncer; scripts/test does)")
    url = sa.make_url(target)
    port = free_port()
    server = f"host={url.host} port={url.port} user={url.username}"
    if url.password:
        server += f" password={url.password}"
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = {server}\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        f"listen_port = {port}\nunix_socket_dir =\nauth_type = any\npool_mode = transaction\n"
        "default_pool_size = 2\n"
    )
    # PgBouncer will not run as root: it reads its file, then becomes nobody.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with open(folder / "pgbouncer.log", "wb") as log:
        proc = subprocess.Popen([binary, *user, str(folder / "pgbouncer.ini")], stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: port_open("127.0.0.1", port) or proc.poll() is not None, 10, "pgbouncer")
        assert proc.poll() is None, (folder / "pgbouncer.log").read_text()
        yield url.set(port=port).render_as_string(hide_password=False)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def bounced(tmp_path: Path) -> Iterator[str]:
    with scratch_database("postgresql") as url:
        engine = create_engine(url)
        db.init(engine)
        engine.dispose()
        with pgbouncer(tmp_path, url) as through:
            yield through


def test_workers_behind_an_undeclared_pgbouncer_are_refused(bounced: str) -> None:
    adapter = SQLAdapter(bounced)
    try:
        backend = adapter.worker_backend()
        with pytest.raises(jobframe.ConfigurationError, match=r"pgbouncer = true") as refused:
            backend.register(ProcessInfo("p1", ["*"], 1))
        assert "PgBouncer" in str(refused.value)
    finally:
        adapter.shutdown()


def test_enqueues_through_an_undeclared_pgbouncer_fail_naming_the_option(bounced: str) -> None:
    """Two processes' enqueuers in turn: psycopg prepares its INSERT at the 5th run, on the server
    connection PgBouncer lent it, and the other's 5th run lands on that same connection."""
    refusals = []
    for adapter in (SQLAdapter(bounced), SQLAdapter(bounced)):
        with queue_adapters.override(adapter):
            for _ in range(6):
                try:
                    RecordJob.perform_later("/dev/null", "x")
                except jobframe.EnqueueError as exc:
                    refusals.append(str(exc))
        adapter.shutdown()
    assert refusals, "no enqueue met another's prepared statement"
    assert all("set adapter_options = { pgbouncer = true }" in r for r in refusals), refusals


def test_a_declared_pgbouncer_runs_every_job(bounced: str, tmp_path: Path) -> None:
    adapter = SQLAdapter(bounced, pgbouncer=True)
    assert not adapter.notify and adapter.poll_interval == 0.1, "LISTEN needs a session"
    assert adapter.results()._listen() is None, "result waits poll too"
    journal = Journal(tmp_path / "runs.jsonl")
    failures: list[BaseException] = []

    def enqueue(thread: int) -> None:
        try:
            for i in range(EACH):
                RecordJob.perform_later(journal.name, f"{thread}-{i}")
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    try:
        with queue_adapters.override(adapter):
            threads = [threading.Thread(target=enqueue, args=(n,)) for n in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not failures, failures
            bulk = [RecordJob(journal.name, f"bulk-{i}") for i in range(50)]
            assert jobframe.perform_all_later(bulk) == 50
            total = THREADS * EACH + 50
            options = WorkerOptions(queues=["*"], concurrency=4, fetch_timeout=0.5)
            with worker_thread(adapter.worker_backend(), options):
                wait_until(lambda: len(journal.ended()) >= total, 60, f"{total} jobs to run")
        ended = journal.ended()
        assert len(ended) == total and set(ended.values()) == {1}
    finally:
        adapter.shutdown()


def test_the_pgbouncer_option_is_for_postgresql_only(tmp_path: Path) -> None:
    with pytest.raises(jobframe.ConfigurationError, match="pgbouncer"):
        SQLAdapter(f"sqlite:///{tmp_path}/jobs.sqlite3", pgbouncer=True)
