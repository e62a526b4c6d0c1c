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
