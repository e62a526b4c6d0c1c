"""Fixtures of the SQL reliability tests, on `jobframe.testing.workers`: worker subprocesses
(``python -m jobframe work jobframe.testing.reliability_jobs``) in the test's temporary folder,
which holds a ``jobframe.toml`` pointing them at the test's database (the ``sql_url`` fixture: a
fresh SQLite file, PostgreSQL or MariaDB database), polling with deadlines, and the jobs' journal.
Every process a test starts is killed (with its process group) at teardown, whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jobframe.testing import workers as kit
from jobframe.testing.workers import QUIET, Journal, Workers, wait_until
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import jobs

__all__ = ["QUIET", "Journal", "Workers", "counts", "enqueue_in_chunks", "idle", "stored",
           "wait_until", "write_config"]  # fmt: skip


def write_config(folder: Path, url: str) -> None:
    kit.write_config(folder, "sql", url=url)


@pytest.fixture(name="workdir")
def workdir_fixture(tmp_path: Path, sql_url: str) -> Path:
    write_config(tmp_path, sql_url)
    return tmp_path


@pytest.fixture(name="journal")
def journal_fixture(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture(name="workers")
def workers_fixture(workdir: Path) -> Iterator[Workers]:
    pool = Workers(workdir)
    try:
        yield pool
    finally:
        pool.close()
        print(f"worker logs (tails), kills {pool.kills}:\n{pool.logs()}")  # shown if it failed


def counts(adapter: SQLAdapter) -> dict[str, int]:
    inspector = adapter.inspector()
    return {state: inspector.count(state) for state in ("ready", "scheduled", "running", "dead")}


def idle(dead: int = 0) -> dict[str, int]:
    """What `counts` is once every job has run."""
    return {"ready": 0, "scheduled": 0, "running": 0, "dead": dead}


def stored(adapter: SQLAdapter, id: str) -> Any:
    """The ``jobframe_jobs`` row of one enqueue, read straight from the table."""
    with adapter.engine.connect() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == id)).one()


def enqueue_in_chunks(jobs_: list[Any], chunk: int = 2000) -> None:
    import jobframe

    for start in range(0, len(jobs_), chunk):
        part = jobs_[start : start + chunk]
        assert jobframe.perform_all_later(part) == len(part)
