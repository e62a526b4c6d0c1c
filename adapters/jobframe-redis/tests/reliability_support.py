"""Fixtures of the Redis reliability tests, on `jobframe.testing.workers`: worker subprocesses
(``python -m jobframe work jobframe.testing.reliability_jobs``) in a temporary folder holding a
``jobframe.toml`` that points them at the test's Redis and key prefix, polling with deadlines, and
the jobs' journal. Every process a test starts is killed (with its process group) at teardown,
whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobframe.testing import workers as kit
from jobframe.testing.workers import QUIET, Journal, Workers, free_port, wait_until
from jobframe_redis.adapter import RedisAdapter

__all__ = ["QUIET", "Journal", "Workers", "counts", "free_port", "wait_until", "write_config"]


def write_config(folder: Path, url: str, prefix: str) -> None:
    kit.write_config(folder, "redis", url=url, prefix=prefix)


@pytest.fixture(name="workdir")
def workdir_fixture(tmp_path: Path, redis_url: str, prefix: str) -> Path:
    write_config(tmp_path, redis_url, prefix)
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


def counts(adapter: RedisAdapter) -> dict[str, int]:
    inspector = adapter.inspector()
    return {state: inspector.count(state) for state in ("ready", "scheduled", "running", "dead")}
