"""Instrumentation: every event is published with its job, adapter, duration and exception."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fixture_jobs import buffer
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.retry_job import RetryJob, ShortWaitError

import jobframe
from jobframe import notifications, queue_adapters
from jobframe.notifications import EVENTS, Event
from jobframe.testing import JobsHelper


class Unreachable(jobframe.QueueAdapter):
    def enqueue(self, job: Any) -> None:
        raise ConnectionError("down")

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        raise ConnectionError("down")


@pytest.fixture
def events() -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = jobframe.subscribe("*", seen.append)
    yield seen
    unsubscribe()


def named(events: list[Event], name: str) -> list[Event]:
    return [e for e in events if e.name == name]


def enqueue(jobs: JobsHelper) -> Any:
    return HelloJob.perform_later("Ann")


def enqueue_at(jobs: JobsHelper) -> Any:
    return HelloJob.set(wait=60).perform_later("Ann")


def enqueue_all(jobs: JobsHelper) -> Any:
    jobframe.perform_all_later([HelloJob("a"), HelloJob("b")])


def perform(jobs: JobsHelper) -> Any:
    job = HelloJob.perform_later("Ann")
    jobs.perform_enqueued_jobs()
    return job


def retry(jobs: JobsHelper) -> Any:
    job = RetryJob.perform_later("ShortWaitError", 5)
    with pytest.raises(ShortWaitError):
        jobs.perform_enqueued_jobs()
    return job


def discard(jobs: JobsHelper) -> Any:
    job = RetryJob.perform_later("DiscardableError", 5)
    jobs.perform_enqueued_jobs()
    return job


SCENARIOS: dict[str, Callable[[JobsHelper], Any]] = {
    "enqueue": enqueue,
    "enqueue_at": enqueue_at,
    "enqueue_all": enqueue_all,
    "perform_start": perform,
    "perform": perform,
    "enqueue_retry": retry,
    "retry_stopped": retry,
    "discard": discard,
}


#: published by the worker runtime's flow control; tests/worker/test_flow_middleware.py and the
#: conformance FlowTests see each happen (``interrupt``: tests/worker/test_continuing.py)
WORKER_EVENTS = {"expire", "throttle", "cancel", "timeout", "interrupt"}


def test_every_event_has_a_scenario() -> None:
    assert set(SCENARIOS) | WORKER_EVENTS == EVENTS


@pytest.mark.parametrize("name", sorted(EVENTS - WORKER_EVENTS))
def test_event_is_published(jobs: JobsHelper, events: list[Event], name: str) -> None:
    job = SCENARIOS[name](jobs)
    found = named(events, name)
    assert found, f"no {name} event among {[e.name for e in events]}"
    event = found[0]
    assert event.duration >= 0
    if name == "enqueue_all":
        assert event.job is None
        assert [j.args for j in event.payload["jobs"]] == [("a",), ("b",)]
    else:
        assert event.job.job_id == job.job_id
    assert event.adapter is jobs.adapter
    if name in ("enqueue_retry", "retry_stopped", "discard"):
        assert type(event.payload["error"]).__name__ in ("ShortWaitError", "DiscardableError")


def test_perform_event_carries_the_exception(jobs: JobsHelper, events: list[Event]) -> None:
    retry(jobs)
    performs = named(events, "perform")
    assert len(performs) == 3
    assert all(isinstance(e.exception, ShortWaitError) for e in performs)
    assert [e.job.executions for e in performs] == [1, 2, 3]
    retries = named(events, "enqueue_retry")
    assert [e.payload["wait"] for e in retries] == [2, 2]
    assert all(e.exception is None for e in retries)
    (stopped,) = named(events, "retry_stopped")
    assert stopped.payload["error"] is performs[-1].exception
    assert stopped.exception is performs[-1].exception


def test_successful_perform_has_no_exception(jobs: JobsHelper, events: list[Event]) -> None:
    perform(jobs)
    (event,) = named(events, "perform")
    assert event.exception is None
    assert named(events, "perform_start")[0].job is event.job


def test_failed_enqueue_carries_the_error(events: list[Event]) -> None:
    adapter = Unreachable()
    with queue_adapters.override(adapter), pytest.raises(jobframe.EnqueueError):
        HelloJob.perform_later()
    (event,) = named(events, "enqueue")
    assert event.adapter is adapter
    assert isinstance(event.exception, jobframe.EnqueueError)


def test_subscribe_to_one_event_and_unsubscribe(jobs: JobsHelper) -> None:
    seen: list[str] = []
    unsubscribe = jobframe.subscribe("enqueue", lambda e: seen.append(e.name))
    try:
        HelloJob.perform_later()
        HelloJob.set(wait=5).perform_later()
    finally:
        unsubscribe()
    HelloJob.perform_later()
    assert seen == ["enqueue"]
    unsubscribe()  # a second call is harmless


def test_unknown_event_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="perform_done"):
        jobframe.subscribe("perform_done", lambda e: None)


def test_failing_subscriber_does_not_break_the_job(
    jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = jobframe.subscribe("perform", broken)
    try:
        with caplog.at_level(logging.ERROR, logger="jobframe"):
            assert HelloJob.perform_now("Ed") == "Ed says hello"
    finally:
        unsubscribe()
    assert buffer == ["Ed says hello"]
    assert "subscriber" in caplog.text and "subscriber bug" in caplog.text


def test_instrument_runs_the_block_and_yields_the_event() -> None:
    ran: list[bool] = []
    with notifications.instrument("discard") as event:
        ran.append(True)
    assert ran == [True]
    assert event.name == "discard"


def test_perform_start_is_built_only_for_a_listener_that_wants_it(
    jobs: JobsHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log subscriber wants ``perform_start`` only at DEBUG: with nothing else listening,
    the event is not built at all (`notifications.wanted`); another subscriber still gets it."""
    built: list[str] = []
    real = notifications.instrument

    def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        built.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr("jobframe.job.instrumentation.instrument", counting)
    jobframe_logger = logging.getLogger("jobframe")
    original = jobframe_logger.level
    try:
        _perform_start_by_level(jobs, jobframe_logger, built)
    finally:
        jobframe_logger.setLevel(original)


def _perform_start_by_level(
    jobs: JobsHelper, jobframe_logger: logging.Logger, built: list[str]
) -> None:
    jobframe_logger.setLevel(logging.INFO)
    assert not notifications.wanted("perform_start") and notifications.wanted("perform")
    perform(jobs)
    assert built.count("perform_start") == 0 and built.count("perform") == 1

    jobframe_logger.setLevel(logging.DEBUG)  # the start line is logged: the event is built
    assert notifications.wanted("perform_start")
    perform(jobs)
    assert built.count("perform_start") == 1
    jobframe_logger.setLevel(logging.INFO)

    seen: list[Event] = []
    unsubscribe = jobframe.subscribe("perform_start", seen.append)
    try:
        assert notifications.wanted("perform_start")
        job = perform(jobs)
    finally:
        unsubscribe()
    assert [e.job.job_id for e in seen] == [job.job_id]
    assert not notifications.wanted("perform_start")
