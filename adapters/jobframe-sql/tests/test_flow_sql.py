"""Flow control on the SQL tables beyond the conformance suite: the schema upgrade, one token per
claimed row, the reaper and lapsed slots letting blocked jobs go, and how soon a blocked job
starts once its slot is free (with no maintenance pass to help)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import jobframe
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.testing.conformance_jobs import HeldLimitJob, RecordingJob, read
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.options import WorkerOptions
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import FLOW_COLUMNS, SCHEMA_VERSION, jobs, locks, versions


@jobframe.limits_concurrency(to=1, key=lambda tag: tag, duration=0.3)
class BrieflyLimitedJob(jobframe.Job):
    """One at a time per ``tag``, a slot lapsing after 0.3 s."""

    job_name = "tests.sql.BrieflyLimitedJob"

    def perform(self, tag: str) -> None: ...


@jobframe.unique(key=lambda tag, n=0: (tag, n))
@jobframe.limits_concurrency(to=1, key=lambda tag, n=0: tag, duration=60)
class UniqueLimitedJob(jobframe.Job):
    """Unique by (``tag``, ``n``), one at a time per ``tag``."""

    job_name = "tests.sql.UniqueLimitedJob"

    def perform(self, tag: str, n: int = 0) -> None: ...


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.jsonl")


def _to_version_2(engine: sa.Engine) -> None:
    """Make a database of this schema look like one made by schema version 2."""
    with engine.begin() as conn:
        for name in ("jobframe_jobs_concurrency", "jobframe_jobs_job_id"):
            on = "" if conn.dialect.name in ("sqlite", "postgresql") else f" ON {jobs.name}"
            conn.exec_driver_sql(f"DROP INDEX {name}{on}")
        for column in FLOW_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {jobs.name} DROP COLUMN {column.name}")
        for table in ("jobframe_locks", "jobframe_semaphores", "jobframe_rates"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.execute(sa.delete(versions))
        conn.execute(sa.insert(versions).values(version=2))


def test_a_version_2_database_upgrades_with_its_jobs(adapter: SQLAdapter, journal: str) -> None:
    RecordingJob.perform_later(journal, "old")
    _to_version_2(adapter.engine)
    assert db.upgrade(adapter.engine) == (2, SCHEMA_VERSION)
    assert db.upgrade(adapter.engine) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert UniqueLimitedJob.perform_later("a").successfully_enqueued
    assert not UniqueLimitedJob.perform_later("a").successfully_enqueued
    assert adapter.inspector().count("ready") == 2


def test_each_claimed_row_has_its_own_token_and_cancel_names_one(
    adapter: SQLAdapter, journal: str
) -> None:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], 3))
    jobs_ = [RecordingJob.perform_later(journal, str(n)) for n in range(3)]
    claims = backend.fetch("p1", ["*"], 3, 1.0)
    assert len({c.token for c in claims}) == 3
    assert jobframe.cancel(jobs_[1].job_id) == "running"
    [flagged] = backend.cancelled("p1", [c.token for c in claims])
    assert flagged == next(c.token for c in claims if c.id == jobs_[1].provider_job_id)
    backend.complete(
        "p1", [Outcome(c, "cancelled" if c.token == flagged else "done") for c in claims]
    )
    assert sum(adapter.inspector().history("cancelled").values()) == 1
    assert adapter.inspector().stats()["processed"] == 2


def test_the_reaper_frees_a_dead_workers_slot_and_lock(adapter: SQLAdapter) -> None:
    backend = adapter.worker_backend()
    inspector = adapter.inspector()
    backend.register(ProcessInfo("doomed", ["*"], 1))
    UniqueLimitedJob.perform_later("x", 0)
    [held] = backend.fetch("doomed", ["*"], 1, 1.0)
    UniqueLimitedJob.perform_later("x", 1)
    backend.register(ProcessInfo("alive", ["*"], 2))
    assert backend.fetch("alive", ["*"], 2, 0) == []
    assert inspector.count("blocked") == 1
    time.sleep(0.6)
    backend.heartbeat("alive")
    backend.maintain(heartbeat_timeout=0.5, max_crashes=1)  # "doomed" is reaped: dead
    assert inspector.count("dead") == 1 and inspector.count("blocked") == 0
    assert inspector.count("ready") == 1, "the blocked job got the dead worker's slot"
    with adapter.engine.connect() as conn:
        owners = conn.execute(sa.select(locks.c.owner)).scalars().all()
    assert len(owners) == 1, "the dead job's lock is gone, the waiting job's kept"
    assert UniqueLimitedJob.perform_later("x", 0).successfully_enqueued
    [claim] = backend.fetch("alive", ["*"], 2, 1.0)
    assert claim.id != held.id


def test_maintain_lets_a_blocked_job_go_when_a_slot_lapses(adapter: SQLAdapter) -> None:
    backend = adapter.worker_backend()
    inspector = adapter.inspector()
    backend.register(ProcessInfo("p", ["*"], 2))
    BrieflyLimitedJob.perform_later("k")
    BrieflyLimitedJob.perform_later("k")
    assert len(backend.fetch("p", ["*"], 2, 1.0)) == 1
    assert inspector.count("blocked") == 1
    backend.maintain(30, 3)
    assert inspector.count("blocked") == 1, "the slot is still held"
    wait_until(lambda: backend.maintain(30, 3)["unblocked"] == 1, 5.0, "the lapsed slot given away")
    assert len(backend.fetch("p", ["*"], 2, 1.0)) == 1


def test_a_blocked_job_starts_soon_after_its_slot_frees(
    adapter: SQLAdapter, journal: str, tmp_path: Path
) -> None:
    """No maintenance pass (every 60 s here): the settling of the claim readies the next."""
    options = WorkerOptions(queues=["*"], concurrency=2, scheduler_interval=60, fetch_timeout=1.0)
    delays = []
    with worker_thread(adapter.worker_backend(), options):
        for round in range(5):
            hold = tmp_path / f"hold{round}"
            HeldLimitJob.perform_later(journal, f"r{round}", hold=str(hold))
            # Started first: two fetches at once may take a key's jobs in either order.
            started = 2 * round + 1
            wait_until(lambda: len(read(journal)) == started, 10, "started")  # noqa: B023
            HeldLimitJob.perform_later(journal, f"r{round}")
            wait_until(lambda: adapter.inspector().count("blocked") == 1, 10, "one blocked")
            released = time.time()
            hold.touch()
            ran = 2 * (round + 1)
            wait_until(lambda: len(read(journal)) == ran, 10, "the blocked one ran")  # noqa: B023
            delays.append(max(e["ran_at"] for e in read(journal)) - released)
    # HeldLimitJob polls its hold file every 10 ms: that is part of each delay.
    assert statistics.median(delays) < 0.5, delays
