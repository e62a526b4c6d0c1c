"""A worker closes a job's obsolete Django database connections around it, as Django does
around a request: with ``CONN_MAX_AGE = 0`` each job gets a connection of its own, closed once
it ended, instead of one that lives (and may break) as long as the worker thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

import jobframe
from jobframe import queue_adapters
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions
from jobframe_sql.testing import sql_adapter

backend_pids: list[int] = []
lock = threading.Lock()


class CountCustomersJob(jobframe.Job):
    def perform(self) -> None:
        from django_testapp.models import Customer

        Customer.objects.count()
        with lock:
            backend_pids.append(connection.connection.info.backend_pid)


def _open_pids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def worker(django_tables: None, tmp_path: Path) -> Iterator[None]:
    backend_pids.clear()
    options = WorkerOptions(queues=["*"], concurrency=1, heartbeat_interval=1.0, fetch_timeout=0.2)
    with (
        sql_adapter("sqlite", tmp_path) as made,
        queue_adapters.override(made),
        worker_thread(made.worker_backend(), options),
    ):
        yield


@pytest.mark.usefixtures("worker")
def test_each_job_gets_a_fresh_connection_closed_after_it() -> None:
    CountCustomersJob.perform_later()
    first = wait_until(lambda: list(backend_pids), 20, "the worker to perform the first job")[0]
    wait_until(lambda: first not in _open_pids(), 20, "the job's connection to be closed")
    CountCustomersJob.perform_later()
    wait_until(lambda: len(backend_pids) == 2, 20, "the worker to perform the second job")
    assert backend_pids[1] != first
