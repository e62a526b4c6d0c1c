"""Priorities: ``priority`` on the class (a number or a callable), ``set(priority=)``."""

from __future__ import annotations

from typing import Any

import pytest
from fixture_jobs.hello_job import HelloJob

import jobframe
from jobframe import registry
from jobframe.testing import JobsHelper


class UrgentJob(jobframe.Job):
    priority = 1

    def perform(self) -> None:
        pass


class SizedJob(jobframe.Job):
    priority = staticmethod(lambda job: 100 - job.args[0])  # type: ignore[assignment]

    def perform(self, size: int) -> None:
        pass


class LessUrgentJob(UrgentJob):
    priority = 20


def test_default_priority_is_none(jobs: JobsHelper) -> None:
    assert HelloJob.perform_later().priority is None
    assert jobs.enqueued_jobs[0].priority is None
    assert jobs.enqueued_jobs[0].payload["priority"] is None


def test_class_priority(jobs: JobsHelper) -> None:
    assert UrgentJob.perform_later().priority == 1
    jobs.assert_enqueued_with(job=UrgentJob, priority=1)


def test_priority_is_inherited_and_overridable() -> None:
    assert LessUrgentJob().priority == 20
    assert UrgentJob().priority == 1


def test_callable_priority_sees_the_job(jobs: JobsHelper) -> None:
    SizedJob.perform_later(10)
    SizedJob.perform_later(99)
    assert [r.priority for r in jobs.enqueued_jobs] == [90, 1]


@pytest.mark.parametrize("value", [0, -5, 7])
def test_set_priority_overrides_the_class(jobs: JobsHelper, value: int) -> None:
    job = UrgentJob.set(priority=value).perform_later()
    assert job.priority == value
    jobs.assert_enqueued_with(job=UrgentJob, priority=value)


def test_set_priority_none_clears_the_class_priority(jobs: JobsHelper) -> None:
    assert UrgentJob.set(priority=None).perform_later().priority is None
    assert jobs.enqueued_jobs[0].payload["priority"] is None


def test_set_queue_and_priority_together(jobs: JobsHelper) -> None:
    HelloJob.set(queue="urgent", priority=3).perform_later("Ann")
    jobs.assert_enqueued_with(job=HelloJob, args=["Ann"], queue="urgent", priority=3)


def test_priority_round_trips(jobs: JobsHelper) -> None:
    job = HelloJob.set(priority=4).perform_later()
    assert jobframe.Job.deserialize(job.serialize()).priority == 4


@pytest.mark.parametrize("value", [True, False, 1.5, "high", [1]])
def test_invalid_priority_fails_at_the_call_site(jobs: JobsHelper, value: Any) -> None:
    with pytest.raises(jobframe.InvalidOptionError, match="priority"):
        HelloJob.set(priority=value)
    with pytest.raises(jobframe.InvalidOptionError, match="priority"):
        HelloJob().enqueue(priority=value)
    jobs.assert_no_enqueued_jobs()


def test_invalid_class_priority_fails_at_perform_later(
    jobs: JobsHelper, request: pytest.FixtureRequest
) -> None:
    class BadPriorityJob(jobframe.Job):
        priority = "high"  # type: ignore[assignment]

        def perform(self) -> None:
            pass

    request.addfinalizer(lambda: registry.unregister(BadPriorityJob))

    with pytest.raises(jobframe.InvalidOptionError, match=r"BadPriorityJob\.priority"):
        BadPriorityJob.perform_later()
    jobs.assert_no_enqueued_jobs()


def test_malformed_priority_in_a_payload_is_rejected() -> None:
    data = HelloJob().serialize()
    data["priority"] = "1"
    with pytest.raises(jobframe.DeserializationError, match="priority"):
        jobframe.Job.deserialize(data)
