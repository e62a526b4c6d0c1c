"""A job a worker cannot load goes to the dead set, and the worker's log says so at ERROR: which
job, on which queue, why, and how to fix it (issue #11: it used to vanish without a line)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

import jobframe
from jobframe import registry
from jobframe.testing.workers import wait_until
from jobframe.worker.runtime import Worker, WorkerOptions
from jobframe_redis.adapter import RedisAdapter


class NotImportedJob(jobframe.Job):
    """Enqueued by the app, unknown to the worker (its module is not in `imports`)."""

    def perform(self) -> None:
        pass


@pytest.fixture
def start_worker(adapter: RedisAdapter) -> Iterator[Callable[[], None]]:
    """Starts a worker in this process on the test's Redis prefix; stopped at teardown."""
    options = WorkerOptions(queues=["*"], concurrency=1, fetch_timeout=0.2)
    worker = Worker(adapter.worker_backend(), options)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False}, daemon=True)
    yield thread.start
    worker.stop()
    if thread.is_alive():
        thread.join(15)
        assert not thread.is_alive()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "jobframe.worker" and r.levelno == logging.ERROR
    ]


def test_a_job_of_a_class_the_worker_did_not_import_is_logged_with_the_fix(
    adapter: RedisAdapter, start_worker: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    job = NotImportedJob.set(queue="mailers").perform_later()
    registry.unregister(NotImportedJob)  # what a worker that never imported this module knows
    try:
        with caplog.at_level(logging.INFO, logger="jobframe.worker"):
            start_worker()
            wait_until(lambda: adapter.inspector().count("dead") == 1, 10, "the job to be dead")
            wait_until(lambda: _errors(caplog), 5, "the log line")
    finally:
        registry.register(NotImportedJob)
    [line] = _errors(caplog)
    name = registry.name_of(NotImportedJob)
    assert f"job {job.provider_job_id} on queue 'mailers' cannot be loaded" in line
    assert "(unknown job class)" in line and f"{name} is not a job class" in line
    module = name.rpartition(".")[0]
    assert f"add the module that defines it ({module}) to `imports` in [tool.jobframe]" in line
    assert "`jobframe work`" in line and f"jobframe retry {job.provider_job_id}" in line


def test_an_undecodable_payload_is_logged_with_its_reason(
    adapter: RedisAdapter, start_worker: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    job = NotImportedJob.perform_later()
    assert job.provider_job_id is not None
    adapter.store.client.hset(adapter.store.keys.jobs, job.provider_job_id, b"\xff not json")
    with caplog.at_level(logging.INFO, logger="jobframe.worker"):
        start_worker()
        wait_until(lambda: adapter.inspector().count("dead") == 1, 10, "the job to be dead")
        wait_until(lambda: _errors(caplog), 5, "the log line")
    [line] = _errors(caplog)
    assert f"job {job.provider_job_id} on queue 'default' cannot be loaded" in line
    assert "(undecodable payload)" in line and "fix what produced this payload" in line
