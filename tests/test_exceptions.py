"""``retry_on``, ``discard_on`` and ``rescue_from``: waits, attempts, counters, precedence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fixture_jobs import buffer
from fixture_jobs.retry_job import RetryJob

import jobframe
from jobframe import registry
from jobframe.testing import JobsHelper


def delay_of(jobs: JobsHelper, index: int = -1) -> float:
    """Seconds between a recorded retry's enqueue time and its scheduled time."""
    record = jobs.enqueued_jobs[index]
    assert record.at is not None
    enqueued = datetime.fromisoformat(record.payload["enqueued_at"])
    return (record.at - enqueued).total_seconds()


def run_once(jobs: JobsHelper) -> None:
    """Perform the one enqueued job (which re-enqueues itself on a retryable error)."""
    record = jobs.enqueued_jobs.pop(0)
    jobs.adapter.perform(record)


def test_retries_until_success_keeping_counters(jobs: JobsHelper) -> None:
    job = RetryJob.perform_later("DefaultsError", 2)
    assert jobs.perform_enqueued_jobs() == 3
    assert buffer == ["execution 1", "execution 2", "execution 3"]
    assert {r.job_id for r in jobs.performed_jobs} == {job.job_id}
    last = jobs.performed_jobs[-1].payload
    assert last["executions"] == 2
    assert last["exception_executions"] == {"fixture_jobs.retry_job.DefaultsError": 2}


def test_exhausted_retries_propagate_after_attempts(jobs: JobsHelper) -> None:
    from fixture_jobs.retry_job import DefaultsError

    RetryJob.perform_later("DefaultsError", 10)
    with pytest.raises(DefaultsError, match="failure 5"):
        jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == 5
    assert buffer[-1] == "discarded DefaultsError: failure 5"
    jobs.assert_no_enqueued_jobs()


def test_fixed_wait_from_a_timedelta(jobs: JobsHelper) -> None:
    RetryJob.perform_later("ShortWaitError", 1)
    run_once(jobs)
    assert delay_of(jobs) == pytest.approx(2, abs=0.01)


def test_fixed_wait_with_jitter_stays_in_bounds(jobs: JobsHelper) -> None:
    for _ in range(20):
        RetryJob.perform_later("JitterError", 1)
        run_once(jobs)
        assert 10 - 0.01 <= delay_of(jobs) <= 10 * 1.5 + 0.01
        jobs.clear_enqueued_jobs()


def test_callable_wait_receives_executions(jobs: JobsHelper) -> None:
    RetryJob.perform_later("CallableWaitError", 2)
    run_once(jobs)
    assert delay_of(jobs) == pytest.approx(10, abs=0.01)
    run_once(jobs)
    assert delay_of(jobs) == pytest.approx(20, abs=0.01)


def test_callable_wait_may_return_a_timedelta(
    jobs: JobsHelper, request: pytest.FixtureRequest
) -> None:
    @jobframe.retry_on(KeyError, wait=lambda executions: timedelta(minutes=executions))
    class MinutesJob(jobframe.Job):
        def perform(self) -> None:
            raise KeyError("x")

    request.addfinalizer(lambda: registry.unregister(MinutesJob))
    MinutesJob.perform_later()
    run_once(jobs)
    assert delay_of(jobs) == pytest.approx(60, abs=0.01)


def test_polynomially_longer() -> None:
    assert [jobframe.polynomially_longer(n) for n in (1, 2, 3)] == [3, 18, 83]


def test_polynomially_longer_delays_with_jitter(jobs: JobsHelper) -> None:
    RetryJob.perform_later("PolynomialError", 3)
    for base in (1, 16, 81):
        run_once(jobs)
        assert base + 2 - 0.01 <= delay_of(jobs) <= base * 1.15 + 2 + 0.01


def test_built_in_retry_waits_stay_within_the_longest_wait() -> None:
    from jobframe.job.configured import MAX_WAIT
    from jobframe.job.exceptions import RetryPolicy

    cap = MAX_WAIT.total_seconds()
    forever = RetryPolicy((KeyError,), jobframe.polynomially_longer, "unlimited", 0.15, None, None)
    assert forever.delay(200) < cap
    assert forever.delay(237) == forever.delay(10_000) == cap
    fixed = RetryPolicy((KeyError,), cap, "unlimited", 0.15, None, None)
    assert fixed.delay(1) == cap


def test_unlimited_attempts(jobs: JobsHelper) -> None:
    RetryJob.perform_later("UnlimitedError", 12)
    assert jobs.perform_enqueued_jobs() == 13
    assert buffer[-1] == "execution 13"


def test_retry_goes_to_its_own_queue_and_priority(jobs: JobsHelper) -> None:
    from fixture_jobs.retry_job import RequeueError

    RetryJob.perform_later("RequeueError", 5)
    run_once(jobs)
    jobs.assert_enqueued_with(job=RetryJob, queue="retries", priority=1)
    with pytest.raises(RequeueError):
        run_once(jobs)


def test_discard_on_drops_the_job_without_failing(jobs: JobsHelper) -> None:
    RetryJob.perform_later("DiscardableError", 3)
    assert jobs.perform_enqueued_jobs() == 1
    assert buffer == ["execution 1", "discarded DiscardableError: failure 1"]
    jobs.assert_no_enqueued_jobs()


def test_rescue_from_handles_the_error() -> None:
    assert RetryJob.perform_now("RescuedError", 1) is None
    assert buffer == ["execution 1", "rescued failure 1"]


def test_unhandled_error_propagates_from_perform_now() -> None:
    from fixture_jobs.retry_job import UnhandledError

    with pytest.raises(UnhandledError):
        RetryJob.perform_now("UnhandledError", 1)
    assert buffer == ["execution 1", "discarded UnhandledError: failure 1"]


class ParentError(Exception):
    pass


class ChildError(ParentError):
    pass


class Reraised(Exception):
    pass


@jobframe.discard_on(ParentError)
class ParentJob(jobframe.Job):
    def perform(self, error: str) -> None:
        raise {"parent": ParentError, "child": ChildError, "key": KeyError}[error](error)

    @jobframe.rescue_from(KeyError)
    def on_key_error(self, exc: BaseException) -> None:
        buffer.append("parent rescued")


@jobframe.discard_on(ChildError)
@jobframe.retry_on(ParentError, wait=1, attempts=2)
class SubJob(ParentJob):
    @jobframe.rescue_from(KeyError)
    def on_key_error_again(self, exc: BaseException) -> None:
        buffer.append("sub rescued")
        raise Reraised("handler failed") from exc


@jobframe.retry_on(ParentError, wait=1, attempts=2)
@jobframe.discard_on(ChildError)
class ReversedSubJob(ParentJob):
    pass


def test_newest_handler_wins(jobs: JobsHelper) -> None:
    SubJob.perform_later("child")
    jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == 1  # discarded by the outer (newest) decorator
    ReversedSubJob.perform_later("child")
    with pytest.raises(ChildError):
        jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == 3  # retried once by the outer retry_on, then failed


def test_subclass_handler_before_parent(jobs: JobsHelper) -> None:
    SubJob.perform_later("parent")
    with pytest.raises(ParentError):
        jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == 2  # retried by SubJob's retry_on, not discarded


def test_parent_handler_applies_to_subclass_and_parent() -> None:
    ParentJob.perform_now("child")
    ParentJob.perform_now("key")
    assert buffer == ["parent rescued"]


def test_reraise_inside_a_rescue_handler_fails_the_job() -> None:
    with pytest.raises(Reraised, match="handler failed"):
        SubJob.perform_now("key")
    assert buffer == ["sub rescued"]


class LookupRescuer:
    """A plain mixin (not a Job) that brings its own handler."""

    @jobframe.rescue_from(LookupError)
    def lookup_failed(self, exc: BaseException) -> None:
        buffer.append(f"mixin rescued {exc!r}")


class MixedInJob(LookupRescuer, jobframe.Job):
    def perform(self) -> None:
        raise IndexError(3)


def test_rescue_from_in_a_plain_mixin() -> None:
    MixedInJob.perform_now()
    assert buffer == ["mixin rescued IndexError(3)"]


@pytest.mark.parametrize(
    ("decorator", "kwargs", "error"),
    [
        (jobframe.retry_on, {}, jobframe.JobDefinitionError),
        (jobframe.discard_on, {}, jobframe.JobDefinitionError),
        (jobframe.rescue_from, {}, jobframe.JobDefinitionError),
    ],
)
def test_decorators_need_exception_classes(decorator: Any, kwargs: Any, error: Any) -> None:
    with pytest.raises(error):
        decorator(**kwargs)
    with pytest.raises(error):
        decorator(ValueError("an instance"))
    with pytest.raises(error):
        decorator(int)


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": 0},
        {"attempts": True},
        {"attempts": "forever"},
        {"attempts": 2.5},
        {"wait": -1},
        {"wait": "soon"},
        {"jitter": -0.1},
        {"jitter": "some"},
        {"queue": ""},
        {"priority": "high"},
    ],
)
def test_invalid_retry_options_fail_at_decoration(options: dict[str, Any]) -> None:
    with pytest.raises(jobframe.InvalidOptionError):
        jobframe.retry_on(ValueError, **options)


def test_discard_on_deserialization_error_in_arguments(request: pytest.FixtureRequest) -> None:
    @jobframe.discard_on(jobframe.DeserializationError)
    class TolerantJob(jobframe.Job):
        @jobframe.after_discard
        def note(self, exc: BaseException) -> None:
            buffer.append(type(exc).__name__)

        def perform(self, value: Any) -> None:
            buffer.append("perform")

    request.addfinalizer(lambda: registry.unregister(TolerantJob))
    payload = TolerantJob(1).serialize()
    payload["arguments"] = [{"_jf": "no-such-serializer", "value": 1}]
    job = jobframe.Job.execute(payload)
    assert isinstance(job, TolerantJob)
    assert buffer == ["DeserializationError"]


def test_malformed_arguments_fail_without_discard_on() -> None:
    payload = RetryJob("DefaultsError", 0).serialize()
    payload["arguments"] = [{"_jf": "no-such-serializer", "value": 1}]
    with pytest.raises(jobframe.DeserializationError):
        jobframe.Job.execute(payload)
    assert len(buffer) == 1
    assert buffer[0].startswith("discarded DeserializationError: ")


def test_retry_with_a_bad_wait_callable_result(
    jobs: JobsHelper, request: pytest.FixtureRequest
) -> None:
    @jobframe.retry_on(KeyError, wait=lambda executions: -5)
    class BadWaitJob(jobframe.Job):
        def perform(self) -> None:
            raise KeyError("x")

    request.addfinalizer(lambda: registry.unregister(BadWaitJob))
    BadWaitJob.perform_later()
    with pytest.raises(jobframe.InvalidOptionError, match="wait callable"):
        jobs.perform_enqueued_jobs()


def test_retry_on_accepts_timedelta_and_unlimited() -> None:
    decorate = jobframe.retry_on(KeyError, wait=timedelta(minutes=1), attempts="unlimited")
    assert callable(decorate)
