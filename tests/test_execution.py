"""Execution: ``perform_now`` on the class and on a job, ``async def perform``, ``execute``."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fixture_jobs import buffer
from fixture_jobs.async_job import AsyncJob
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.kwargs_job import KwargsJob

import jobframe
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing import JobsHelper


def test_perform_now_on_the_class_returns_the_result(jobs: JobsHelper) -> None:
    assert HelloJob.perform_now("Ann") == "Ann says hello"
    assert KwargsJob.perform_now(3, flag=True) == (3, True)
    assert buffer == ["Ann says hello", "3 flag=True"]
    jobs.assert_no_enqueued_jobs()


def test_perform_now_on_an_instance_counts_executions() -> None:
    job = HelloJob("Bo")
    assert job.perform_now() == "Bo says hello"
    assert job.executions == 1
    job.perform_now()
    assert job.executions == 2
    assert job.successfully_enqueued is False


def test_executions_is_one_during_the_first_run(request: pytest.FixtureRequest) -> None:
    seen: list[int] = []

    class CountingJob(jobframe.Job):
        def perform(self) -> None:
            seen.append(self.executions)

    request.addfinalizer(lambda: jobframe.registry.unregister(CountingJob))
    CountingJob.perform_now()
    assert seen == [1]


def test_configured_perform_now_applies_options() -> None:
    assert HelloJob.set(queue="urgent", priority=2).perform_now("Cy") == "Cy says hello"


def test_perform_now_with_wrong_arguments_fails_before_running() -> None:
    with pytest.raises(TypeError, match=r"HelloJob\.perform"):
        HelloJob.perform_now("a", "b")
    assert buffer == []


def test_async_perform_via_perform_now_without_a_loop() -> None:
    assert AsyncJob.perform_now(21) == 42
    job = AsyncJob(5)
    assert job.perform_now() == 10
    assert job.executions == 1
    assert buffer == ["async 21", "async 5"]


def test_async_perform_inside_a_running_loop() -> None:
    async def main() -> tuple[int, str]:
        job = AsyncJob(4)
        with pytest.raises(jobframe.JobframeError, match="perform_now_async"):
            job.perform_now()
        assert job.executions == 0
        doubled = await job.perform_now_async()
        greeting = await HelloJob("Di").perform_now_async()
        return doubled, greeting

    assert asyncio.run(main()) == (8, "Di says hello")
    assert buffer == ["async 4", "Di says hello"]


def test_async_job_on_the_async_adapter() -> None:
    adapter = AsyncAdapter(concurrency=2)
    done = threading.Event()

    class SignalJob(AsyncJob):
        async def perform(self, value: int) -> int:
            result = await super().perform(value)
            done.set()
            return result

    try:
        with jobframe.queue_adapters.override(adapter):
            SignalJob.perform_later(7)
        assert done.wait(5)
        assert adapter.wait_idle(5)
        assert buffer == ["async 7"]
        assert adapter.performed == 1
    finally:
        adapter.shutdown(5)
        jobframe.registry.unregister(SignalJob)


def test_execute_a_payload(jobs: JobsHelper) -> None:
    job = KwargsJob.perform_later("x", flag=True)
    payload = jobs.enqueued_jobs[0].payload
    performed = jobframe.Job.execute(payload)
    assert isinstance(performed, KwargsJob)
    assert performed.job_id == job.job_id
    assert performed.args == ("x",)
    assert performed.kwargs == {"flag": True}
    assert performed.executions == 1
    assert buffer == ["'x' flag=True"]


def test_execute_on_a_subclass_checks_the_payload_class() -> None:
    with pytest.raises(jobframe.DeserializationError):
        KwargsJob.execute(HelloJob().serialize())
    assert buffer == []
