"""`jobframe.testing.workers`, the kit the Redis, SQL and RabbitMQ reliability suites share (and a
third-party adapter's suite can use): configuration files, journals, polling, worker processes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from jobframe import config
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.workers import Journal, Workers, wait_until, write_config


def test_write_config_is_read_back_by_the_real_loader(tmp_path: Path) -> None:
    write_config(tmp_path, "sql", url='sqlite:///a "quoted" name.db', poll_interval=0.5,
                 notify=False, pool_size=3)  # fmt: skip
    settings = config.load(tmp_path, environ={})
    assert settings.adapter == "sql"
    assert settings.adapter_options == {
        "url": 'sqlite:///a "quoted" name.db', "poll_interval": 0.5, "notify": False, "pool_size": 3
    }  # fmt: skip


def test_journal_reads_what_the_jobs_record(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    job = RecordJob(journal.name, "t")
    job.perform_now()
    job.perform_now()
    assert journal.ended() == {job.job_id: 2}
    assert [line["tag"] for line in journal.lines("end")] == ["t", "t"]
    assert journal.started(job.job_id) == []


def test_wait_until_returns_the_value_or_fails_naming_what(tmp_path: Path) -> None:
    values = iter([0, "", "done"])
    assert wait_until(lambda: next(values), 5, "a value", interval=0) == "done"
    with pytest.raises(AssertionError, match="waiting for nothing at all"):
        wait_until(lambda: None, 0.05, "nothing at all")


def test_workers_start_stop_and_report_what_exited(tmp_path: Path) -> None:
    from jobframe_sql import db
    from jobframe_sql.engine import create_engine

    url = f"sqlite:///{tmp_path}/jobs.sqlite3"
    engine = create_engine(url)
    db.init(engine)
    engine.dispose()
    write_config(tmp_path, "sql", url=url)
    workers = Workers(tmp_path, concurrency=1)
    try:
        proc = workers.start("--log-level", "WARNING")
        workers.kill(proc)
        assert proc.returncode == -signal.SIGKILL and proc.pid in workers.kills
        workers.check_alive()  # a SIGKILL is expected
        other = workers.start()
        os.kill(other.pid, signal.SIGTERM)  # exits 0 on its own: not a kill
        other.wait(30)
        with pytest.raises(AssertionError, match=f"worker {other.pid} exited with"):
            workers.check_alive()
    finally:
        workers.stop()
    assert all(p.poll() is not None for p in workers.procs)
