"""The SQL `RecurringStore` beyond the conformance suite: a claim whose connection is cut midway
writes nothing and the tick stays claimable; a pooled connection that died is replaced; task
names are case-sensitive on MariaDB too; a database at schema version 1 is told to upgrade and
upgrades to a working ``jobframe_recurring``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import jobframe
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.recurrence import RecurringTask
from jobframe.testing.conformance_jobs import RecordingJob
from jobframe.testing.databases import scratch_database
from jobframe.testing.tcp_proxy import Proxy
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.doctor import check
from jobframe_sql.schema import SCHEMA_VERSION, jobs, recurring, versions

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _claim(adapter: SQLAdapter, task: RecurringTask, tick: datetime) -> bool:
    job = task.job(tick)
    store = adapter.recurring()
    claimed = enqueue_claimed(job, adapter, lambda j: store.claim(task.name, tick, j))
    assert job.successfully_enqueued is claimed
    assert (job.provider_job_id is not None) is claimed
    return claimed


def _rows(engine: sa.Engine) -> tuple[list[Any], list[Any]]:
    """The marks and the jobs' (id, job_id, state) in the database."""
    with engine.connect() as conn:
        marks = conn.execute(sa.select(recurring)).all()
        found = conn.execute(sa.select(jobs.c.id, jobs.c.job_id, jobs.c.state)).all()
    return list(marks), list(found)


def _task(name: str = "nightly") -> RecurringTask:
    return RecurringTask.build(name, RecordingJob, "every second", args=("/dev/null", "tick"))


@pytest.fixture(params=["postgresql", "mariadb"])
def proxied(request: pytest.FixtureRequest) -> Iterator[tuple[SQLAdapter, Proxy, sa.Engine]]:
    """An adapter whose connections go through a `Proxy` the test can cut, and a direct engine
    to look at the database with."""
    with scratch_database(request.param) as url:
        direct = sa.create_engine(url)
        db.init(direct)
        target = sa.make_url(url)
        proxy = Proxy((target.host or "127.0.0.1", target.port or 0))
        adapter = SQLAdapter(target.set(port=proxy.port).render_as_string(hide_password=False))
        try:
            yield adapter, proxy, direct
        finally:
            adapter.shutdown()
            proxy.close()
            direct.dispose()


def test_a_claim_cut_off_midway_writes_nothing_and_the_tick_is_claimed_once_later(
    proxied: tuple[SQLAdapter, Proxy, sa.Engine],
) -> None:
    adapter, proxy, direct = proxied
    task = _task()
    cuts: list[int] = []

    def cut_before_the_job_row(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The mark has moved in this transaction; the job's row is next.
        if statement.lstrip().upper().startswith(f"INSERT INTO {jobs.name.upper()}"):
            cuts.append(proxy.cut())

    sa.event.listen(adapter.engine, "before_cursor_execute", cut_before_the_job_row)
    try:
        with pytest.raises(jobframe.EnqueueError, match="did not take"):
            _claim(adapter, task, T0)
    finally:
        sa.event.remove(adapter.engine, "before_cursor_execute", cut_before_the_job_row)
    assert cuts and cuts[0] >= 1, "the claim's connection was not cut"
    assert _rows(direct) == ([], []), "a failed claim wrote something"

    assert _claim(adapter, task, T0)
    assert not _claim(adapter, task, T0)
    marks, found = _rows(direct)
    [(_id, job_id, state)] = found
    assert state == "ready"
    [mark] = marks
    assert (mark.task, mark.job_id, mark.provider_id) == (task.name, job_id, _id)
    assert adapter.recurring().last_runs()[task.name].tick == T0


def test_a_claim_replaces_a_pooled_connection_that_died(
    proxied: tuple[SQLAdapter, Proxy, sa.Engine],
) -> None:
    adapter, proxy, direct = proxied
    task = _task()
    assert _claim(adapter, task, T0)
    assert proxy.cut() >= 1  # the pooled connection is dead; nothing was in flight
    assert _claim(adapter, task, T0 + timedelta(seconds=1))
    assert len(_rows(direct)[1]) == 2


def test_task_names_differing_in_case_are_two_tasks(adapter: SQLAdapter) -> None:
    upper, lower = _task("Report"), _task("report")
    assert _claim(adapter, upper, T0)
    assert _claim(adapter, lower, T0)
    assert not _claim(adapter, lower, T0)
    assert set(adapter.recurring().last_runs()) == {"Report", "report"}


def test_a_version_1_database_is_told_to_upgrade_and_then_claims(adapter: SQLAdapter) -> None:
    engine = adapter.engine
    with engine.begin() as conn:
        recurring.drop(conn)
        conn.execute(sa.delete(versions))
        conn.execute(sa.insert(versions).values(version=1))
    [problem] = check(engine, adapter.url)
    assert "schema version 1" in str(problem) and "jobframe db upgrade" in str(problem)
    with pytest.raises(jobframe.EnqueueError, match="jobframe_recurring"):
        _claim(adapter, _task(), T0)
    assert db.upgrade(engine) == (1, SCHEMA_VERSION)
    assert check(engine, adapter.url) == []
    assert _claim(adapter, _task(), T0)
