"""Callbacks: the seven kinds, their order, inheritance, halting and around generators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixture_jobs import buffer
from fixture_jobs.callback_job import CallbackJob

import jobframe
from jobframe.testing import JobsHelper


class ChildCallbackJob(CallbackJob):
    def note_before_perform(self) -> None:  # overrides the parent's callback by name
        buffer.append("child before_perform")

    @jobframe.after_perform
    def child_after_perform(self) -> None:
        buffer.append("child after_perform")


class NestedAroundJob(jobframe.Job):
    @jobframe.around_perform
    def outer(self) -> Iterator[None]:
        buffer.append("outer start")
        yield
        buffer.append("outer stop")

    @jobframe.around_perform
    def inner(self) -> Iterator[None]:
        buffer.append("inner start")
        yield
        buffer.append("inner stop")

    def perform(self) -> None:
        buffer.append("perform")


class HaltingJob(jobframe.Job):
    @jobframe.before_enqueue
    def maybe_halt_enqueue(self) -> None:
        if self.args[0] == "enqueue":
            raise jobframe.Abort

    @jobframe.before_perform
    def maybe_halt_perform(self) -> None:
        if self.args[0] == "perform":
            raise jobframe.Abort

    @jobframe.around_perform
    def maybe_skip(self) -> Iterator[None]:
        if self.args[0] == "around":
            return
        yield

    @jobframe.after_perform
    def note_after(self) -> None:
        buffer.append("after_perform")

    def perform(self, where: str) -> str:
        buffer.append("perform")
        return "performed"


class Oops(Exception):
    pass


class ClosedJob(jobframe.Job):
    @jobframe.around_enqueue
    def closed(self) -> Iterator[None]:
        buffer.append("closed")
        return
        yield

    @jobframe.after_enqueue
    def note_after(self) -> None:
        buffer.append("after_enqueue")

    def perform(self) -> None:
        pass


class RescuingAroundJob(jobframe.Job):
    @jobframe.around_perform
    def guard(self) -> Iterator[None]:
        try:
            yield
        except Oops as exc:
            buffer.append(f"caught {exc}")
            if self.args[0] == "reraise":
                raise RuntimeError("wrapped") from exc

    @jobframe.after_perform
    def note_after(self) -> None:
        buffer.append("after_perform")

    def perform(self, mode: str) -> None:
        raise Oops(mode)


class NotAGeneratorJob(jobframe.Job):
    @jobframe.around_perform
    def wrong(self) -> None:
        buffer.append("wrong")

    def perform(self) -> None:
        buffer.append("perform")


@jobframe.discard_on(Oops)
class DiscardingJob(jobframe.Job):
    @jobframe.after_discard
    def note_discard(self, exc: BaseException) -> None:
        buffer.append(f"discarded {type(exc).__name__}: {exc}")

    def perform(self, error: str) -> None:
        raise Oops(error) if error == "oops" else ValueError(error)


class AuditMixin:
    """A plain mixin (not a Job) that brings its own callbacks."""

    @jobframe.before_perform
    def audit(self) -> None:
        buffer.append("audit")


class AuditedJob(AuditMixin, CallbackJob):
    pass


def test_enqueue_callbacks_run_in_order(jobs: JobsHelper) -> None:
    CallbackJob.perform_later()
    assert buffer == ["before_enqueue", "around_enqueue start", "around_enqueue stop",
                      "after_enqueue"]  # fmt: skip


def test_perform_callbacks_run_in_order(jobs: JobsHelper) -> None:
    CallbackJob.perform_later("ann")
    buffer.clear()
    jobs.perform_enqueued_jobs()
    assert buffer == ["before_perform", "around_perform start", "perform ann",
                      "around_perform stop", "after_perform"]  # fmt: skip


def test_perform_now_runs_perform_callbacks_only() -> None:
    CallbackJob.perform_now("bob")
    assert "before_enqueue" not in buffer
    assert buffer[2] == "perform bob"
    assert buffer[-1] == "after_perform"


def test_callbacks_are_inherited_and_overridden_by_name() -> None:
    ChildCallbackJob.perform_now()
    assert buffer == ["child before_perform", "around_perform start", "perform david",
                      "around_perform stop", "after_perform", "child after_perform"]  # fmt: skip


def test_callbacks_from_a_plain_mixin_run() -> None:
    AuditedJob.perform_now()
    assert buffer[:2] == ["before_perform", "audit"]
    assert buffer.count("audit") == 1


def test_subclass_does_not_change_the_parent_chain() -> None:
    CallbackJob.perform_now()
    assert "child after_perform" not in buffer
    assert "before_perform" in buffer


def test_first_around_callback_is_outermost() -> None:
    NestedAroundJob.perform_now()
    assert buffer == ["outer start", "inner start", "perform", "inner stop", "outer stop"]


def test_abort_in_before_enqueue_enqueues_nothing(jobs: JobsHelper) -> None:
    job = HaltingJob.perform_later("enqueue")
    assert job.successfully_enqueued is False
    assert job.enqueued_at is None
    jobs.assert_no_enqueued_jobs()
    assert HaltingJob.perform_later("fine").successfully_enqueued is True
    jobs.assert_enqueued_jobs(1)


def test_abort_in_before_perform_skips_perform_and_after() -> None:
    assert HaltingJob.perform_now("perform") is None
    assert buffer == []
    assert HaltingJob.perform_now("fine") == "performed"
    assert buffer == ["perform", "after_perform"]


def test_around_callback_that_does_not_yield_halts() -> None:
    assert HaltingJob.perform_now("around") is None
    assert buffer == []


def test_around_enqueue_that_does_not_yield_halts(jobs: JobsHelper) -> None:
    assert ClosedJob.perform_later().successfully_enqueued is False
    jobs.assert_no_enqueued_jobs()
    assert buffer == ["closed"]


def test_exception_from_perform_is_thrown_into_around() -> None:
    assert RescuingAroundJob.perform_now("swallow") is None
    assert buffer == ["caught swallow", "after_perform"]


def test_around_can_replace_the_exception() -> None:
    with pytest.raises(RuntimeError, match="wrapped") as info:
        RescuingAroundJob.perform_now("reraise")
    assert isinstance(info.value.__cause__, Oops)
    assert buffer == ["caught reraise"]


def test_around_callback_must_be_a_generator() -> None:
    with pytest.raises(jobframe.JobDefinitionError, match="generator"):
        NotAGeneratorJob.perform_now()
    assert "perform" not in buffer


def test_after_discard_receives_the_discarded_exception() -> None:
    DiscardingJob.perform_now("oops")
    assert buffer == ["discarded Oops: oops"]


def test_after_discard_runs_for_an_unhandled_exception() -> None:
    with pytest.raises(ValueError, match="bad"):
        DiscardingJob.perform_now("bad")
    assert buffer == ["discarded ValueError: bad"]


def test_after_discard_runs_when_retries_run_out(jobs: JobsHelper) -> None:
    from fixture_jobs.retry_job import RetryJob, ShortWaitError

    RetryJob.perform_later("ShortWaitError", 5)
    with pytest.raises(ShortWaitError, match="failure 3"):
        jobs.perform_enqueued_jobs()
    assert buffer[-1] == "discarded ShortWaitError: failure 3"
    assert sum(line.startswith("discarded") for line in buffer) == 1


def test_callback_markers_keep_the_function() -> None:
    def note(self: object) -> None:
        pass

    assert jobframe.before_perform(note) is note
    assert jobframe.after_enqueue.__name__ == "after_enqueue"
