"""Enqueuing: ``perform_later``, scheduling with ``set``, bulk enqueue, adapters and failures."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fixture_jobs import buffer
from fixture_jobs.callback_job import CallbackJob
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.inline_job import InlineJob
from fixture_jobs.kwargs_job import KwargsJob
from fixture_jobs.unreachable import UnreachableAdapter

import jobframe
from jobframe import queue_adapters
from jobframe.backend import Capabilities
from jobframe.job.enqueuing import GC_PAUSE_AT
from jobframe.testing import JobsHelper


class CountingAdapter(jobframe.QueueAdapter):
    """Records every adapter call and the payloads it received."""

    name = "counting"
    capabilities = Capabilities(bulk=True)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.payloads: list[dict[str, Any]] = []

    def enqueue(self, job: Any) -> None:
        self.calls.append(("enqueue", 1))
        self.payloads.append(job.serialize())

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        self.calls.append(("enqueue_at", 1))
        self.payloads.append(job.serialize())

    def enqueue_all(self, jobs: Sequence[Any]) -> int:
        self.calls.append(("enqueue_all", len(jobs)))
        for job in jobs:
            self.payloads.append(job.serialize())
            job.successfully_enqueued = True
        return len(jobs)


class PickyJob(CallbackJob):
    @jobframe.before_enqueue
    def refuse_skips(self) -> None:
        if self.args == ("skip",):
            raise jobframe.Abort


@pytest.fixture
def counting() -> Iterator[CountingAdapter]:
    with queue_adapters.override(CountingAdapter()) as adapter:
        yield adapter


def test_perform_later_returns_the_enqueued_job(jobs: JobsHelper) -> None:
    job = HelloJob.perform_later("Ann")
    assert isinstance(job, HelloJob)
    assert job.successfully_enqueued is True
    assert job.enqueue_error is None
    assert job.scheduled_at is None
    assert jobs.enqueued_jobs[0].job_id == job.job_id
    jobs.assert_enqueued_with(job=HelloJob, args=["Ann"], at=None)
    assert buffer == []


def test_perform_later_with_keyword_arguments(jobs: JobsHelper) -> None:
    KwargsJob.perform_later("x", flag=True)
    jobs.assert_enqueued_with(job=KwargsJob, args=["x"], kwargs={"flag": True})


@pytest.mark.parametrize("wait", [timedelta(minutes=10), 600, 600.0])
def test_set_wait_schedules_the_job(jobs: JobsHelper, wait: Any) -> None:
    before = datetime.now(UTC)
    job = HelloJob.set(wait=wait).perform_later()
    after = datetime.now(UTC)
    assert job.scheduled_at is not None
    assert before + timedelta(minutes=10) <= job.scheduled_at <= after + timedelta(minutes=10)
    assert jobs.enqueued_jobs[0].at == job.scheduled_at


def test_set_wait_until_schedules_at_that_instant(jobs: JobsHelper) -> None:
    moment = datetime(2030, 1, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    job = HelloJob.set(wait_until=moment).perform_later()
    assert job.scheduled_at == moment
    assert job.scheduled_at is not None and job.scheduled_at.tzinfo is UTC
    jobs.assert_enqueued_with(job=HelloJob, at=moment)


def test_enqueue_on_an_instance_with_wait(jobs: JobsHelper) -> None:
    job = HelloJob("Ann").enqueue(wait=30)
    assert job.scheduled_at is not None
    assert jobs.enqueued_jobs[0].at == job.scheduled_at


@pytest.mark.parametrize(
    "options",
    [
        {"wait_until": datetime(2030, 1, 1, 9, 0)},
        {"wait_until": "2030-01-01T09:00:00+00:00"},
        {"wait": -1},
        {"wait": timedelta(seconds=-5)},
        {"wait": float("nan")},
        {"wait": True},
        {"wait": "5"},
        {"wait": 5, "wait_until": datetime(2030, 1, 1, tzinfo=UTC)},
        {"priority": True},
        {"queue": ""},
    ],
)
def test_invalid_options_fail_at_the_call_site(jobs: JobsHelper, options: dict[str, Any]) -> None:
    with pytest.raises(jobframe.InvalidOptionError):
        HelloJob.set(**options)
    with pytest.raises(jobframe.InvalidOptionError):
        HelloJob().enqueue(**options)
    jobs.assert_no_enqueued_jobs()


def test_set_chains_options(jobs: JobsHelper) -> None:
    HelloJob.set(queue="a").set(priority=2).perform_later()
    jobs.assert_enqueued_with(job=HelloJob, queue="a", priority=2)


def test_perform_all_later_makes_one_adapter_call(counting: CountingAdapter) -> None:
    batch = [HelloJob("a"), KwargsJob(1, flag=True), HelloJob("b").set(wait=60)]
    assert jobframe.perform_all_later(batch) == 3
    assert counting.calls == [("enqueue_all", 3)]
    assert [p["job_id"] for p in counting.payloads] == [j.job_id for j in batch]
    assert all(j.successfully_enqueued and j.enqueued_at is not None for j in batch)


def test_perform_all_later_with_no_jobs(counting: CountingAdapter) -> None:
    assert jobframe.perform_all_later([]) == 0
    assert counting.calls == []


class GCWatchingAdapter(CountingAdapter):
    """Records whether the cyclic garbage collector was on while it wrote a batch."""

    def enqueue_all(self, jobs: Sequence[Any]) -> int:
        self.gc_enabled = gc.isenabled()
        return super().enqueue_all(jobs)


def test_large_batches_pause_the_garbage_collector() -> None:
    adapter = GCWatchingAdapter()
    with queue_adapters.override(adapter):
        assert (
            jobframe.perform_all_later([HelloJob(str(i)) for i in range(GC_PAUSE_AT)])
            == GC_PAUSE_AT
        )
        assert adapter.gc_enabled is False
        assert gc.isenabled()  # turned back on
        jobframe.perform_all_later([HelloJob(str(i)) for i in range(GC_PAUSE_AT - 1)])
        assert adapter.gc_enabled is True  # small batches leave it alone


def test_a_collector_turned_off_by_the_application_stays_off() -> None:
    gc.disable()
    try:
        with queue_adapters.override(GCWatchingAdapter()):
            jobframe.perform_all_later([HelloJob(str(i)) for i in range(GC_PAUSE_AT)])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_back_on_when_a_batch_fails() -> None:
    with queue_adapters.override(UnreachableAdapter()), pytest.raises(jobframe.EnqueueError):
        jobframe.perform_all_later([HelloJob(str(i)) for i in range(GC_PAUSE_AT)])
    assert gc.isenabled()


def test_batches_performed_in_the_caller_keep_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(InlineJob, "perform", lambda self, word: seen.append(gc.isenabled()))
    jobframe.perform_all_later([InlineJob(str(i)) for i in range(GC_PAUSE_AT)])
    assert len(seen) == GC_PAUSE_AT and all(seen)


def test_perform_all_later_groups_by_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = CountingAdapter(), CountingAdapter()
    monkeypatch.setattr(HelloJob, "queue_adapter", first)
    monkeypatch.setattr(KwargsJob, "queue_adapter", second)
    batch = [HelloJob("a"), KwargsJob(1), HelloJob("b")]
    assert jobframe.perform_all_later(batch) == 3
    assert first.calls == [("enqueue_all", 2)]
    assert second.calls == [("enqueue_all", 1)]


def test_perform_all_later_runs_callbacks_and_leaves_out_aborted(jobs: JobsHelper) -> None:
    batch = [PickyJob("a"), PickyJob("skip"), PickyJob("c")]
    assert jobframe.perform_all_later(batch) == 2
    assert [j.successfully_enqueued for j in batch] == [True, False, True]
    assert [r.args for r in jobs.enqueued_jobs] == [("a",), ("c",)]
    assert buffer.count("before_enqueue") == 3
    assert buffer.count("around_enqueue start") == 2
    assert buffer.count("around_enqueue stop") == 2
    assert buffer.count("after_enqueue") == 2


def test_perform_all_later_serializes_everything_first(counting: CountingAdapter) -> None:
    batch = [CallbackJob("a"), CallbackJob("b"), CallbackJob(object())]  # type: ignore[arg-type]
    with pytest.raises(jobframe.SerializationError, match=r"args\[0\]"):
        jobframe.perform_all_later(batch)
    assert counting.calls == []
    assert buffer == []
    assert not any(j.successfully_enqueued for j in batch)


def test_configured_perform_all_later_applies_options(jobs: JobsHelper) -> None:
    assert HelloJob.set(queue="bulk", priority=5).perform_all_later([HelloJob("a")]) == 1
    jobs.assert_enqueued_with(job=HelloJob, queue="bulk", priority=5)


def test_class_adapter_override(jobs: JobsHelper) -> None:
    InlineJob.perform_later("recorded")
    assert buffer == []
    jobs.assert_enqueued_with(job=InlineJob, args=["recorded"])


def test_class_adapter_override_without_the_test_adapter() -> None:
    job = InlineJob.perform_later("now")
    assert job.successfully_enqueued is True
    assert buffer == ["inline now"]


def test_inline_adapter_refuses_wait() -> None:
    with pytest.raises(jobframe.InvalidOptionError, match="inline"):
        InlineJob.set(wait=5).perform_later("later")
    assert buffer == []


def test_adapter_failure_is_an_enqueue_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CallbackJob, "queue_adapter", UnreachableAdapter())
    job = CallbackJob("a")
    with pytest.raises(jobframe.EnqueueError, match="connection refused") as info:
        job.enqueue()
    assert isinstance(info.value.__cause__, ConnectionError)
    assert job.successfully_enqueued is False
    assert job.enqueue_error is info.value
    assert "after_enqueue" not in buffer
    with pytest.raises(jobframe.EnqueueError):
        jobframe.perform_all_later([CallbackJob("b")])


def test_inline_accepts_a_wait_that_is_already_due() -> None:
    jobframe.configure(adapter="inline")
    job = HelloJob.set(wait=0).perform_later("now")
    assert job.successfully_enqueued and job.scheduled_at is None
