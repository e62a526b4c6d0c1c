"""``jobframe work --processes 2``: the supervisor restarts a child that dies, and jobs keep
running. A real supervisor in a subprocess, on SQLite (a file: no server needed)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobframe import queue_adapters
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.workers import Journal, Workers, wait_until, write_config

pytestmark = pytest.mark.slow


def parent_of(pid: int) -> int | None:
    """The parent process id of ``pid``, or None once it is gone (Linux ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[object]:
    from jobframe_sql import db
    from jobframe_sql.adapter import SQLAdapter

    url = f"sqlite:///{tmp_path}/jobs.sqlite3"
    adapter = SQLAdapter(url)
    db.init(adapter.engine)
    write_config(tmp_path, "sql", url=url)
    with queue_adapters.override(adapter):
        yield adapter
    adapter.shutdown()


def test_a_child_killed_with_sigkill_is_replaced_and_jobs_keep_running(
    sqlite: object, tmp_path: Path
) -> None:
    from jobframe_sql.adapter import SQLAdapter

    assert isinstance(sqlite, SQLAdapter)
    journal = Journal(tmp_path / "journal.jsonl")
    workers = Workers(tmp_path, concurrency=1)
    try:
        supervisor = workers.start("--processes", "2")

        def children() -> set[int]:
            pids = {info.pid for info in sqlite.inspector().workers()}
            return {pid for pid in pids if parent_of(pid) == supervisor.pid}

        first = wait_until(lambda: len(children()) == 2 and children(), 30, "two children")
        before = RecordJob.perform_later(journal.name, "before")
        wait_until(lambda: journal.ended()[before.job_id], 30, "a job before the kill")

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: parent_of(victim) is None, 10, "the killed child to be reaped")
        replaced = wait_until(
            lambda: (now := children()) - first and len(now) == 2 and now,
            60,
            "a new child in place of the killed one",
        )
        assert victim not in replaced and max(first) in replaced
        assert supervisor.poll() is None, "the supervisor exited"

        after = [RecordJob.perform_later(journal.name, f"after-{n}") for n in range(10)]
        wait_until(
            lambda: all(journal.ended()[job.job_id] for job in after), 30, "jobs after the kill"
        )
    finally:
        workers.stop()


def test_a_job_stuck_past_its_timeout_recycles_its_process_and_counts_a_crash(
    sqlite: object, tmp_path: Path
) -> None:
    from worker.stuck_jobs import StuckJob

    from jobframe.testing.workers import RELIABILITY_JOBS
    from jobframe_sql.adapter import SQLAdapter

    assert isinstance(sqlite, SQLAdapter)
    inspector = sqlite.inspector()
    journal, marker = Journal(tmp_path / "journal.jsonl"), tmp_path / "stuck.pid"
    tests = str(Path(__file__).parent.parent)
    workers = Workers(tmp_path, (RELIABILITY_JOBS, "worker.stuck_jobs"), [tests], concurrency=2)
    try:
        supervisor = workers.start(
            "--processes", "2", "--job-timeout", "0.5", "--timeout-grace", "1",
            "--max-crashes", "1",
        )  # fmt: skip

        def children() -> set[int]:
            pids = {info.pid for info in inspector.workers()}
            return {pid for pid in pids if parent_of(pid) == supervisor.pid}

        first = wait_until(lambda: len(children()) == 2 and children(), 30, "two children")
        stuck = StuckJob.perform_later(str(marker))
        wait_until(marker.exists, 30, "the stuck job to start")
        wait_until(lambda: marker.read_text(), 5, "its process id")
        victim = int(marker.read_text())
        assert victim in first
        wait_until(lambda: parent_of(victim) is None, 30, "its process to exit")
        wait_until(
            lambda: (now := children()) - first and len(now) == 2, 60, "a child in its place"
        )
        assert supervisor.poll() is None, "the supervisor exited"
        # Taken back by the reaper as a crash: with --max-crashes 1 that sends it dead.
        wait_until(lambda: inspector.count("dead") == 1, 30, "the stuck job dead")
        [dead] = inspector.jobs("dead")
        assert dead.job_id == stuck.job_id and dead.error is not None
        assert dead.error["class"] == "jobframe.WorkerCrashed", dead.error
        logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
        assert "did not stop within 1.0s of its time limit (0.5s)" in logs
        after = RecordJob.perform_later(journal.name, "after")
        wait_until(lambda: journal.ended()[after.job_id], 30, "a job after the recycle")
    finally:
        workers.stop()
