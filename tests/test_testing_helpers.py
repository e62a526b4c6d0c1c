"""The ``jobs`` fixture and `JobTestCase`: assertions, context managers, failure messages."""

from __future__ import annotations

import unittest
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import jobframe
from jobframe.testing import JobsHelper, JobTestCase


class SignupMailJob(jobframe.Job):
    queue_as = "mailers"

    def perform(self, email: str, *, amount: Decimal = Decimal(0)) -> str:
        return email


class ReportJob(jobframe.Job):
    def perform(self, name: str) -> None:
        pass


class Chained(Exception):
    pass


class FanOutJob(jobframe.Job):
    def perform(self, count: int) -> None:
        for i in range(count):
            ReportJob.perform_later(f"child-{i}")


@jobframe.retry_on(Chained, wait=60, attempts=3)
class AlwaysFailsJob(jobframe.Job):
    def perform(self) -> None:
        raise Chained("again")


def signup(email: str) -> None:
    SignupMailJob.perform_later(email, amount=Decimal("9.99"))
    ReportJob.set(wait=timedelta(hours=1)).perform_later("signups")


def test_records_jobs_through_the_wire_format(jobs: JobsHelper) -> None:
    signup("a@example.com")
    assert [r.job_class for r in jobs.enqueued_jobs] == [SignupMailJob, ReportJob]
    record = jobs.enqueued_jobs[0]
    assert record.args == ("a@example.com",)
    assert record.kwargs == {"amount": Decimal("9.99")}
    assert type(record.kwargs["amount"]) is Decimal
    assert record.queue == "mailers"
    assert isinstance(record.payload["arguments"], list)


def test_unserializable_argument_fails_in_the_test_as_in_production(jobs: JobsHelper) -> None:
    with pytest.raises(jobframe.SerializationError):
        ReportJob.perform_later(object())  # type: ignore[arg-type]
    jobs.assert_no_enqueued_jobs()


def test_counting_assertions_now_and_as_context_managers(jobs: JobsHelper) -> None:
    signup("a@example.com")
    jobs.assert_enqueued_jobs(2)
    jobs.assert_enqueued_jobs(1, only=SignupMailJob)
    jobs.assert_enqueued_jobs(1, except_=SignupMailJob)
    jobs.assert_enqueued_jobs(1, queue="mailers")
    with jobs.assert_enqueued_jobs(2):
        signup("b@example.com")
    with jobs.assert_no_enqueued_jobs():
        pass
    jobs.assert_enqueued_jobs(4)


def test_counting_failure_lists_what_was_enqueued(jobs: JobsHelper) -> None:
    signup("a@example.com")
    with pytest.raises(AssertionError) as failure:
        jobs.assert_enqueued_jobs(3)
    message = str(failure.value)
    assert "Expected 3" in message and "found 2" in message
    assert "SignupMailJob('a@example.com', amount=Decimal('9.99'))" in message
    assert "queue='mailers'" in message
    with pytest.raises(AssertionError, match="found 1"), jobs.assert_enqueued_jobs(2):
        ReportJob.perform_later("x")


def test_assert_enqueued_with(jobs: JobsHelper) -> None:
    signup("a@example.com")
    record = jobs.assert_enqueued_with(job=SignupMailJob, args=["a@example.com"], queue="mailers")
    assert record.job_id == jobs.enqueued_jobs[0].job_id
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    jobs.assert_enqueued_with(job=ReportJob, args=("signups",), at=in_an_hour)
    with pytest.raises(
        AssertionError, match=r"No job enqueued with .*SignupMailJob.*were enqueued"
    ):
        jobs.assert_enqueued_with(job=SignupMailJob, args=["nobody@example.com"])
    with jobs.assert_enqueued_with(job=ReportJob, args=("in block",)):
        ReportJob.perform_later("in block")
    with pytest.raises(AssertionError), jobs.assert_enqueued_with(job=SignupMailJob):
        ReportJob.perform_later("other")


def test_perform_enqueued_jobs_runs_until_nothing_matches(jobs: JobsHelper) -> None:
    FanOutJob.perform_later(3)
    ReportJob.set(wait=timedelta(days=1)).perform_later("tomorrow")
    assert jobs.perform_enqueued_jobs() == 5
    jobs.assert_performed_jobs(5)
    jobs.assert_performed_jobs(4, only=ReportJob)
    jobs.assert_no_enqueued_jobs()
    jobs.assert_performed_with(job=ReportJob, args=["child-2"])


def test_perform_enqueued_jobs_filters(jobs: JobsHelper) -> None:
    signup("a@example.com")
    assert jobs.perform_enqueued_jobs(only=SignupMailJob) == 1
    assert jobs.perform_enqueued_jobs(at=datetime.now(UTC)) == 0
    assert jobs.perform_enqueued_jobs(at=datetime.now(UTC) + timedelta(hours=2)) == 1
    FanOutJob.perform_later(2)
    assert jobs.perform_enqueued_jobs(except_=ReportJob) == 1
    jobs.assert_enqueued_jobs(2, only=ReportJob)
    assert jobs.perform_enqueued_jobs(queue="mailers") == 0


def test_exhausted_retries_propagate_out_of_perform_enqueued_jobs(jobs: JobsHelper) -> None:
    AlwaysFailsJob.perform_later()
    with pytest.raises(Chained):
        jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == 3
    assert [r.payload["executions"] for r in jobs.performed_jobs] == [0, 1, 2]


def test_perform_and_performed_assertions_as_blocks(jobs: JobsHelper) -> None:
    with jobs.perform_enqueued_jobs():
        FanOutJob.perform_later(2)
    jobs.assert_no_enqueued_jobs()
    jobs.assert_performed_jobs(3)
    with jobs.assert_performed_jobs(1):
        ReportJob.perform_later("one")
    with jobs.assert_performed_with(job=ReportJob, args=["two"]):
        ReportJob.perform_later("two")
    with jobs.assert_no_performed_jobs():
        pass
    with pytest.raises(AssertionError, match="Expected 0"), jobs.assert_no_performed_jobs():
        ReportJob.perform_later("three")


def test_clear_enqueued_jobs(jobs: JobsHelper) -> None:
    signup("a@example.com")
    jobs.clear_enqueued_jobs()
    jobs.assert_no_enqueued_jobs()


def test_fixture_overrides_a_class_adapter(jobs: JobsHelper) -> None:
    class InlineOnly(jobframe.Job):
        queue_adapter = "inline"

        def perform(self) -> None:
            raise AssertionError("must not run: the jobs fixture records it")

    try:
        InlineOnly.perform_later()
        jobs.assert_enqueued_jobs(1, only=InlineOnly)
    finally:
        jobframe.registry.unregister(InlineOnly)


class TestUnittestCase(JobTestCase):
    def test_same_methods(self) -> None:
        signup("a@example.com")
        self.assert_enqueued_jobs(2)
        self.assert_enqueued_with(job=SignupMailJob, args=["a@example.com"])
        with self.assert_enqueued_jobs(1):
            ReportJob.perform_later("x")
        self.perform_enqueued_jobs()
        self.assert_performed_jobs(3)
        self.assertEqual(len(self.performed_jobs), 3)
        self.assert_no_enqueued_jobs()


def test_unittest_case_runs_under_unittest() -> None:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TestUnittestCase)
    result = unittest.TestResult()
    suite.run(result)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun == 1


def test_a_failing_block_restores_deferred_performing(jobs: JobsHelper) -> None:
    with pytest.raises(RuntimeError), jobs.perform_enqueued_jobs():
        raise RuntimeError("the block failed")
    ReportJob.perform_later("after")
    jobs.assert_enqueued_jobs(1)
    jobs.assert_no_performed_jobs()


def test_queue_filters_accept_the_unprefixed_name(jobs: JobsHelper) -> None:
    jobframe.configure(queue_name_prefix="staging")
    SignupMailJob.perform_later("a@example.com")
    assert jobs.enqueued_jobs[0].queue == "staging_mailers"
    jobs.assert_enqueued_jobs(1, queue="mailers")
    jobs.assert_enqueued_with(job=SignupMailJob, queue="mailers")


@jobframe.unique(key=lambda name, again=False: name)
class UniqueDigestJob(jobframe.Job):
    def perform(self, name: str, again: bool = False) -> None:
        if again:
            seen.append(UniqueDigestJob.perform_later(name).successfully_enqueued)


@jobframe.unique(key=lambda name, again=False: name, until="started")
class UniqueUntilStartedJob(jobframe.Job):
    def perform(self, name: str, again: bool = False) -> None:
        if again:
            seen.append(UniqueUntilStartedJob.perform_later(name).successfully_enqueued)


@jobframe.unique(key=lambda name: name, until="scheduled", on_conflict="raise")
class UniqueUntilScheduledJob(jobframe.Job):
    def perform(self, name: str) -> None:
        pass


@jobframe.retry_on(Chained, wait=0, attempts=2)
@jobframe.unique(key=lambda name: name)
class UniqueRetriedJob(jobframe.Job):
    def perform(self, name: str) -> None:
        if self.executions == 1:
            raise Chained("first run")


seen: list[bool] = []


def test_a_unique_job_is_skipped_while_an_equal_one_is_enqueued(jobs: JobsHelper) -> None:
    first = UniqueDigestJob.perform_later("ann")
    second = UniqueDigestJob.perform_later("ann")
    assert first.successfully_enqueued and not second.successfully_enqueued
    assert isinstance(second.enqueue_error, jobframe.DuplicateJobError)
    assert "perform or clear that job first" in str(second.enqueue_error)
    batch = [UniqueDigestJob("ann"), UniqueDigestJob("bob"), UniqueDigestJob("bob")]
    assert jobframe.perform_all_later(batch) == 1
    jobs.assert_enqueued_jobs(2, only=UniqueDigestJob)
    jobs.clear_enqueued_jobs()
    assert UniqueDigestJob.perform_later("ann").successfully_enqueued, "clearing releases it"


def test_the_lock_is_held_until_its_until_point(jobs: JobsHelper) -> None:
    seen.clear()
    UniqueDigestJob.perform_later("cat", again=True)
    UniqueUntilStartedJob.perform_later("cat", again=True)
    jobs.perform_enqueued_jobs(only=[UniqueDigestJob, UniqueUntilStartedJob])
    # each run enqueued an equal job: refused while running (finished), accepted once started
    assert seen == [False, True]
    jobs.assert_performed_jobs(3)  # the accepted one was performed too
    assert UniqueDigestJob.perform_later("cat").successfully_enqueued, "finished: released"


def test_until_scheduled_holds_only_while_the_job_is_due_later(jobs: JobsHelper) -> None:
    UniqueUntilScheduledJob.set(wait=timedelta(hours=1)).perform_later("dan")
    with pytest.raises(jobframe.DuplicateJobError):
        UniqueUntilScheduledJob.perform_later("dan")
    jobs.clear_enqueued_jobs()
    UniqueUntilScheduledJob.perform_later("dan")  # ready at once: the lock is released
    UniqueUntilScheduledJob.perform_later("dan")
    jobs.assert_enqueued_jobs(2, only=UniqueUntilScheduledJob)


def test_a_retry_keeps_the_lock_of_its_job(jobs: JobsHelper) -> None:
    UniqueRetriedJob.perform_later("eve")
    jobs.perform_enqueued_jobs(at=datetime.now(UTC) - timedelta(seconds=1))
    assert [r.payload["executions"] for r in jobs.performed_jobs] == [0]
    jobs.assert_enqueued_jobs(1, only=UniqueRetriedJob)  # the retry, holding the lock
    assert not UniqueRetriedJob.perform_later("eve").successfully_enqueued
    jobs.perform_enqueued_jobs()
    assert UniqueRetriedJob.perform_later("eve").successfully_enqueued
