"""The fast enqueue paths on the real servers: one job is one INSERT on an autocommit pool, many
jobs on PostgreSQL are one COPY. Both must write the same rows as the general path, survive a
connection the server dropped, and (PostgreSQL) still wake listening workers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import jobframe
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.notify import Listener
from jobframe_sql.schema import jobs


class PathJob(jobframe.Job):
    queue_as = "paths"

    def perform(self, n: int, *, note: str = "") -> None:
        pass


def _rows(adapter: SQLAdapter) -> list[Any]:
    with adapter.engine.connect() as conn:
        return list(conn.execute(sa.select(jobs).order_by(jobs.c.seq)))


SERVERS = pytest.mark.parametrize("sql_url", ["postgresql", "mariadb"], indirect=True)


@SERVERS
def test_a_single_enqueue_writes_the_same_row_as_a_transaction(adapter: SQLAdapter) -> None:
    alone = PathJob.set(priority=3).perform_later(1, note="alone")
    later = PathJob.set(wait=timedelta(hours=1)).perform_later(2)
    with adapter.engine.begin() as conn:  # the general path, for comparison
        adapter.insert(conn, [_row_of(PathJob(3, note="general"))])
    first, second, third = _rows(adapter)
    assert (first.id, first.state, first.priority, first.queue) == (
        alone.provider_job_id, "ready", 3, "paths"
    )  # fmt: skip
    assert second.id == later.provider_job_id and second.state == "scheduled"
    assert second.run_at - second.enqueued_at >= 3_599_000
    for row in (first, third):
        assert row.job_class.endswith("PathJob") and row.crashes == 0 and row.attempts == 0
        assert bytes(row.payload).startswith(b'{"version":1')


def _row_of(job: Any) -> dict[str, Any]:
    from jobframe_sql.adapter import row

    job.enqueued_at = job.now()
    return row(job, None)


@SERVERS
def test_a_pooled_connection_the_server_dropped_is_replaced(
    sql_url: str, adapter: SQLAdapter
) -> None:
    PathJob.perform_later(1)  # the single-insert pool now holds an idle connection
    admin = sa.create_engine(sql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if adapter.engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        else:
            mine = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
            for (pid,) in conn.exec_driver_sql(
                "SELECT id FROM information_schema.processlist WHERE db = DATABASE()"
            ):
                if pid != mine:
                    conn.exec_driver_sql(f"KILL {pid}")
    admin.dispose()
    job = PathJob.perform_later(2)
    assert job.successfully_enqueued
    assert [r.id for r in _rows(adapter)][-1] == job.provider_job_id


@pytest.mark.parametrize("sql_url", ["postgresql"], indirect=True)
def test_a_bulk_copy_writes_every_column_and_wakes_listeners(adapter: SQLAdapter) -> None:
    listener = Listener(adapter.engine.url)
    try:
        assert not listener.wait(0.01)  # LISTENing now; nothing sent yet
        batch = [PathJob(n, note=f"n{n}") for n in range(50)]
        batch.append(PathJob(50).set(wait=timedelta(hours=1), priority=-5))
        assert jobframe.perform_all_later(batch) == 51
        assert listener.wait(5), "the COPY did not fire the NOTIFY trigger"
    finally:
        listener.close()
    rows = _rows(adapter)
    assert [r.id for r in rows] == [job.provider_job_id for job in batch]
    assert {r.state for r in rows[:50]} == {"ready"} and rows[50].state == "scheduled"
    assert rows[50].priority == -5 and rows[0].priority == 0
    assert [r.job_id for r in rows] == [job.job_id for job in batch]


@pytest.mark.parametrize("sql_url", ["postgresql"], indirect=True)
def test_on_postgresql_only_enqueues_wait_for_the_disk(adapter: SQLAdapter) -> None:
    """A worker's claims and outcomes may be lost to a server crash (the job then runs again);
    an enqueue may not."""
    backend = adapter.worker_backend()
    assert backend.engine is adapter.worker_backend().engine, "one pool for every worker"
    with backend.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    with adapter.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    assert adapter._single is not None
    raw = adapter._single.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
        cursor.close()
    finally:
        raw.close()
