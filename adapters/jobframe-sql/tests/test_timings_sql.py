"""``jobframe_timings`` on SQLite, PostgreSQL and MariaDB, beyond the conformance suite's
`jobframe.testing.conformance.timings`: the upgrade from schema version 4, the purge of minutes
past the retention in bounded batches (by `maintain`), a run counted once when its outcome is
written twice, and class names longer than the column."""

from __future__ import annotations

import sqlalchemy as sa

import jobframe
from jobframe.backend.timings import BUCKETS_MS, RETENTION_MINUTES
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe_sql import db
from jobframe_sql import timings as sql_timings
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import SCHEMA_VERSION, TIMED_CLASS_LENGTH, timings, versions


class TimedJob(jobframe.Job):
    """Does nothing; the tests settle its claims by hand."""

    job_name = "tests.sql.TimedJob"

    def perform(self, n: int = 0) -> None: ...


def claims(adapter: SQLAdapter, n: int) -> list[Outcome]:
    """``n`` jobs enqueued and claimed, as outcomes that ran 20 ms (``done``)."""
    for i in range(n):
        TimedJob.perform_later(i)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], n))
    found = backend.fetch("p1", ["*"], n, 1.0)
    assert len(found) == n
    return [Outcome(c, "done", runtime=0.02, job_class=TimedJob.job_name) for c in found]


def now_minute() -> int:
    return now_ms() // 60000


def row(minute: int, job_class: str) -> dict[str, object]:
    """A stored run of 2 ms."""
    buckets = {f"b{i}": int(i == 1) for i in range(len(BUCKETS_MS) + 1)}
    counters = {"count": 1, "failed": 0, "total_ms": 2.0}
    return {"minute": minute, "job_class": job_class, **counters, **buckets}


def test_a_version_4_database_upgrades_to_timings(adapter: SQLAdapter) -> None:
    with adapter.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE jobframe_timings")
        conn.execute(sa.delete(versions))
        conn.execute(sa.insert(versions).values(version=4))
    assert db.upgrade(adapter.engine) == (4, SCHEMA_VERSION) == (4, 6)
    assert db.upgrade(adapter.engine) == (6, 6)
    adapter.worker_backend().complete("p1", claims(adapter, 2))
    [timing] = adapter.inspector().timings(now_minute() - 1)
    assert (timing.job_class, timing.count, timing.total_ms) == (TimedJob.job_name, 2, 40.0)


def test_an_outcome_written_twice_is_counted_once(adapter: SQLAdapter) -> None:
    """Also on MariaDB, which has no RETURNING: a transaction that committed but whose
    acknowledgement was lost is run again whole (`in_transaction`)."""
    outcomes = claims(adapter, 3)
    backend = adapter.worker_backend()
    backend.complete("p1", outcomes[:1])
    backend.complete("p1", outcomes)
    backend.complete("p1", outcomes)
    [timing] = adapter.inspector().timings(now_minute() - 1)
    assert timing.count == 3
    assert adapter.inspector().stats()["processed"] == 3


def test_maintain_purges_minutes_past_the_retention_in_batches(adapter: SQLAdapter) -> None:
    now = now_minute()
    old = [row(now - RETENTION_MINUTES - 1 - i // 3, f"Old{i}") for i in range(7)]
    kept = [row(now - RETENTION_MINUTES + 5, "Recent"), row(now, "Now")]
    with adapter.engine.begin() as conn:
        conn.execute(sa.insert(timings), old + kept)
    assert sql_timings.purge(adapter.engine, now - RETENTION_MINUTES, limit=2) == 7
    with adapter.engine.begin() as conn:
        conn.execute(sa.insert(timings), old)
    counts = adapter.worker_backend().maintain(heartbeat_timeout=60, max_crashes=3)
    assert counts["purged"] == 7
    left = adapter.inspector().timings(0)
    assert [t.job_class for t in left] == ["Recent", "Now"]


def test_a_class_name_longer_than_the_column_is_cut(adapter: SQLAdapter) -> None:
    [outcome] = claims(adapter, 1)
    name = "x" * (TIMED_CLASS_LENGTH + 40)
    long = Outcome(outcome.claim, "failed", {"class": "E"}, runtime=0.5, job_class=name)
    adapter.worker_backend().complete("p1", [long])
    [timing] = adapter.inspector().timings(now_minute() - 1, job_class=name)
    assert timing.job_class == name[:TIMED_CLASS_LENGTH]
    assert (timing.count, timing.failed) == (1, 1)
