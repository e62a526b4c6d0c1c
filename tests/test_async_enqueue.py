"""`aperform_later`, `aenqueue` and `aperform_all_later`: enqueueing from coroutines without
blocking the event loop, with the same checks, callbacks and context as the sync calls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import pytest
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.kwargs_job import KwargsJob
from fixture_jobs.unreachable import UnreachableAdapter

import jobframe
from jobframe import queue_adapters
from jobframe.backend import Capabilities
from jobframe.testing import JobsHelper

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class BlockingAdapter(jobframe.QueueAdapter):
    """Each enqueue waits until ``release`` is set (or fails after 5 s): while it waits, the
    event loop must still run the coroutine that sets it."""

    name = "blocking"
    capabilities = Capabilities(bulk=True)

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.threads: list[str] = []
        self.seen: list[str | None] = []
        self.batches: list[int] = []

    def _wait(self) -> None:
        self.threads.append(threading.current_thread().name)
        self.seen.append(request_id.get())
        if not self.release.wait(5):
            raise TimeoutError("the event loop was blocked: nothing released the enqueue")

    def enqueue(self, job: Any) -> None:
        self._wait()

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        self._wait()

    def enqueue_all(self, jobs: Sequence[Any]) -> int:
        self._wait()
        self.batches.append(len(jobs))
        for job in jobs:
            job.successfully_enqueued = True
        return len(jobs)


async def _release_soon(adapter: BlockingAdapter) -> None:
    await asyncio.sleep(0)  # runs only if the loop is free while the enqueue waits
    adapter.release.set()


def test_aperform_later_enqueues_without_blocking_the_event_loop() -> None:
    adapter = BlockingAdapter()

    async def main() -> Any:
        request_id.set("req-42")
        job, _ = await asyncio.gather(HelloJob.aperform_later("Ann"), _release_soon(adapter))
        return job

    with queue_adapters.override(adapter):
        job = asyncio.run(main())
    assert job.successfully_enqueued and job.args == ("Ann",)
    assert adapter.threads and adapter.threads[0] != threading.main_thread().name
    assert adapter.seen == ["req-42"]  # the caller's context variables reach the adapter


def test_aperform_later_records_on_the_test_adapter(jobs: JobsHelper) -> None:
    job = asyncio.run(HelloJob.set(queue="mail", priority=3, wait=60).aperform_later("Bo"))
    record = jobs.assert_enqueued_with(job=HelloJob, args=["Bo"], queue="mail", priority=3)
    assert record.job_id == job.job_id and record.at is not None


def test_aenqueue_takes_the_enqueue_options(jobs: JobsHelper) -> None:
    job = asyncio.run(KwargsJob(1, flag=True).aenqueue(queue="low"))
    jobs.assert_enqueued_with(job=KwargsJob, kwargs={"flag": True}, queue="low")
    assert job.queue_name == "low"


def test_bad_arguments_fail_in_the_caller_before_anything_is_written(jobs: JobsHelper) -> None:
    with pytest.raises(TypeError, match="perform"):
        asyncio.run(HelloJob.aperform_later("a", "b", "c"))
    with pytest.raises(jobframe.SerializationError):
        asyncio.run(HelloJob.aperform_later(object()))
    with pytest.raises(jobframe.InvalidOptionError):
        asyncio.run(HelloJob("x").aenqueue(priority="high"))
    assert jobs.enqueued_jobs == []


def test_a_backend_failure_is_an_enqueue_error() -> None:
    with queue_adapters.override(UnreachableAdapter()), pytest.raises(jobframe.EnqueueError):
        asyncio.run(HelloJob.aperform_later("x"))


def test_aperform_all_later_writes_one_batch_off_the_loop() -> None:
    adapter = BlockingAdapter()

    async def main() -> int:
        count, _ = await asyncio.gather(
            jobframe.aperform_all_later([HelloJob("a"), HelloJob("b"), KwargsJob(2)]),
            _release_soon(adapter),
        )
        return int(count)

    with queue_adapters.override(adapter):
        assert asyncio.run(main()) == 3
    assert adapter.batches == [3]


def test_configured_aperform_all_later_applies_options(jobs: JobsHelper) -> None:
    batch = [HelloJob("a"), HelloJob("b")]
    assert asyncio.run(HelloJob.set(queue="bulk").aperform_all_later(batch)) == 2
    assert [r.queue for r in jobs.enqueued_jobs] == ["bulk", "bulk"]


def test_aperform_all_later_serializes_everything_first(jobs: JobsHelper) -> None:
    with pytest.raises(jobframe.SerializationError):
        asyncio.run(jobframe.aperform_all_later([HelloJob("ok"), HelloJob(object())]))
    assert jobs.enqueued_jobs == []
