"""Eight worker processes against one PostgreSQL or MariaDB, as if on eight hosts: each process
has its own engines and pools, and none is woken by another's enqueue (``notify = false``: they
find work by polling, as workers on other machines do). Every job is performed exactly once: no
claim is taken twice, none is lost, and the table ends with every row finished."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import jobframe
from jobframe import queue_adapters
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.workers import QUIET, Journal, Workers, wait_until, write_config
from jobframe_sql.schema import jobs
from jobframe_sql.testing import sql_adapter

PROCESSES = 8
JOBS = 3000


@pytest.mark.slow
@pytest.mark.parametrize("database", ["postgresql", "mariadb"])
def test_eight_processes_perform_every_job_exactly_once(database: str, tmp_path: Path) -> None:
    with sql_adapter(database) as adapter, queue_adapters.override(adapter):  # type: ignore[arg-type]
        url = adapter.engine.url.render_as_string(hide_password=False)
        write_config(tmp_path, "sql", url=url, notify=False, poll_interval=0.05)
        journal = Journal(tmp_path / "runs.jsonl")
        first = [RecordJob(journal.name, str(i)) for i in range(JOBS // 2)]
        assert jobframe.perform_all_later(first) == len(first)
        workers = Workers(tmp_path, concurrency=4)
        try:
            for _ in range(PROCESSES):
                workers.start(*QUIET)
            # The other half arrives while the processes compete for the first.
            later = [RecordJob(journal.name, str(i)) for i in range(JOBS // 2, JOBS)]
            for start in range(0, len(later), 100):
                assert jobframe.perform_all_later(later[start : start + 100]) == 100
            began = time.monotonic()
            wait_until(lambda: len(journal.ended()) >= JOBS, 180, f"{JOBS} jobs to run")
            workers.check_alive()
            elapsed = time.monotonic() - began
        finally:
            workers.stop()
        ended = journal.ended()
        assert set(ended) == {job.job_id for job in first + later}, "a job was lost"
        twice = {job_id: n for job_id, n in ended.items() if n != 1}
        assert not twice, f"{len(twice)} jobs ran more than once, e.g. {list(twice.items())[:3]}"
        by_pid: dict[int, int] = {}
        for line in journal.lines("end"):
            by_pid[line["pid"]] = by_pid.get(line["pid"], 0) + 1
        print(f"{database}: {JOBS} jobs, {elapsed:.1f}s after the last enqueue; per process "
              f"{sorted(by_pid.values(), reverse=True)}")  # fmt: skip
        assert len(by_pid) >= 2, "one process ran every job: the test proved nothing"
        with adapter.engine.connect() as conn:
            states = dict(
                conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)).all()
            )
        assert states == {"finished": JOBS}
