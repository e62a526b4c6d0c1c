"""Reliability of the SQL backend against database faults: connections killed by the server under
a running worker, and an enqueue while the database is unreachable (DESIGN.md section 3)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import SERVERS
from sql_reliability_support import (  # noqa: F401 (fixtures)
    Journal,
    Workers,
    counts,
    idle,
    journal_fixture,
    wait_until,
    workdir_fixture,
    workers_fixture,
)

import jobframe
from jobframe import queue_adapters
from jobframe.testing.reliability_jobs import SleepJob
from jobframe_sql.adapter import SQLAdapter


def _kill_postgresql(admin: sa.Connection, database: str) -> int:
    found = admin.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = :db AND pid <> pg_backend_pid()"
        ),
        {"db": database},
    ).all()
    return sum(1 for (ok,) in found if ok)


def _kill_mariadb(admin: sa.Connection, database: str) -> int:
    ids = admin.execute(
        sa.text(
            "SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"
        ),
        {"db": database},
    ).scalars()
    killed = 0
    for id in ids:
        try:
            admin.exec_driver_sql(f"KILL {int(id)}")
            killed += 1
        except sa.exc.DBAPIError:  # it went away by itself meanwhile
            pass
    return killed


KILLERS: dict[str, Callable[[sa.Connection, str], int]] = {
    "postgresql": _kill_postgresql,
    "mariadb": _kill_mariadb,
}


@pytest.mark.slow
@pytest.mark.parametrize("sql_url", ["postgresql", "mariadb"], indirect=True)
def test_worker_reconnects_after_its_connections_are_killed(
    sql_url: str, adapter: SQLAdapter, workers: Workers, journal: Journal
) -> None:
    url = sa.make_url(sql_url)
    kind = "postgresql" if url.get_backend_name() == "postgresql" else "mariadb"
    database = url.database or ""
    # A longer heartbeat timeout: the reconnects must not make the live worker look dead.
    workers.start("--heartbeat-timeout", "10", concurrency=4)
    jobs = [SleepJob(journal.name, 0.02, tag=str(i)) for i in range(400)]
    waves = [jobs[i : i + 50] for i in range(0, len(jobs), 50)]
    jobframe.perform_all_later(waves.pop(0))
    wait_until(lambda: len(journal.ended()) >= 10, 15, "the worker to get going")

    admin = sa.create_engine(url.set(database="postgres" if kind == "postgresql" else None))
    kills = 0
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for wave in waves:
                done = len(journal.ended())
                kills += KILLERS[kind](conn, database)
                jobframe.perform_all_later(wave)  # the test's own pool pings and reconnects
                wait_until(lambda d=done: len(journal.ended()) > d, 20, "jobs after a kill")
    finally:
        admin.dispose()
    assert kills >= len(waves), f"only {kills} connections were killed"

    ids = {job.job_id for job in jobs}
    wait_until(lambda: set(journal.ended()) >= ids, 60, "every job to end after the kills")
    wait_until(lambda: counts(adapter) == idle(), 15, "every claim to be acknowledged")
    assert set(journal.ended().values()) == {1}, "a job ran twice"
    assert adapter.inspector().stats() == {"processed": len(jobs), "failed": 0}
    assert all(p.poll() is None for p in workers.procs), "the worker died"
    log = "".join(p.read_text() for p in workers.folder.glob("worker-*.log"))
    assert " failed (" in log, "no kill hit a connection the worker was using"


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_perform_later_while_the_database_is_unreachable_raises(kind: str) -> None:
    url = sa.make_url(SERVERS[kind][3].format(db="jobframe")).set(port=1)
    adapter = SQLAdapter(url.render_as_string(hide_password=False))
    try:
        with queue_adapters.override(adapter):
            job = SleepJob("/dev/null", 0.0)
            started = time.monotonic()
            with pytest.raises(jobframe.EnqueueError, match="did not take"):
                job.enqueue()
            assert time.monotonic() - started < 10, "the enqueue hung"
            assert not job.successfully_enqueued
            bulk = [SleepJob("/dev/null", 0.0) for _ in range(3)]
            with pytest.raises(jobframe.EnqueueError):
                jobframe.perform_all_later(bulk)
            assert not any(j.successfully_enqueued for j in bulk)
            with pytest.raises(jobframe.EnqueueError):
                SleepJob.set(wait=5).perform_later("/dev/null", 0.0)
    finally:
        adapter.shutdown()
