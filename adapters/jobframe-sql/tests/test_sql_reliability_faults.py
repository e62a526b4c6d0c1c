"""An enqueue while the database is unreachable fails at once with `EnqueueError` (DESIGN.md
section 3, "Faults"). Workers reconnecting after the server kills their connections is a test
of the conformance suite (`test_conformance_sql.py`)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

import jobframe
from jobframe import queue_adapters
from jobframe.testing.databases import SERVERS
from jobframe.testing.reliability_jobs import SleepJob
from jobframe_sql.adapter import SQLAdapter


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_perform_later_while_the_database_is_unreachable_raises(kind: str) -> None:
    url = sa.make_url(SERVERS[kind][3]).set(database="jobframe", port=1)
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
