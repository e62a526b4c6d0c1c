"""The runtime's flow control middleware on the in-memory store: expiry, time limits (a class's
``timeout`` and ``--job-timeout``), cancelled jobs, and the `Middleware` interface itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from worker.memory_runtime import Runtime

import jobframe
from jobframe.backend.worker import Claim, Outcome
from jobframe.testing.workers import wait_until
from jobframe.worker.expiry import Expiry
from jobframe.worker.middleware import Middleware
from jobframe.worker.time_limits import TimeLimits, time_limit

state: dict[str, Any] = {}


class Recorder(Middleware):
    """Records each finished job's outcome (what the runtime reports)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}
        self.performed: list[str] = []

    def started(self, claim: Claim, job: Any) -> None:
        self.performed.append(job.job_id)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        self.outcomes[job.job_id] = outcome
        return outcome


@pytest.fixture
def events() -> Iterator[list[jobframe.Event]]:
    seen: list[jobframe.Event] = []
    stops = [jobframe.subscribe(name, seen.append) for name in ("expire", "timeout", "cancel")]
    yield seen
    for stop in stops:
        stop()


class NoteJob(jobframe.Job):
    job_name = "tests.worker.flow.NoteJob"

    def perform(self, tag: str) -> None:
        state.setdefault("ran", []).append(tag)


class SlowJob(jobframe.Job):
    """Pure Python past its 0.3 s ``timeout``: JobTimeout, which ``rescue_from`` takes."""

    job_name = "tests.worker.flow.SlowJob"
    timeout = 0.3

    def perform(self) -> None:
        state.setdefault("tries", []).append(time.monotonic())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.01)

    @jobframe.rescue_from(jobframe.JobTimeout)
    def rescued(self, exc: Exception) -> None:
        state["rescued"], state["stopped"] = str(exc), time.monotonic()


@jobframe.retry_on(Exception, wait=0, attempts=5)
class SelfCancellingJob(jobframe.Job):
    """Cancelled by its own flag: retry_on(Exception) must not see it."""

    job_name = "tests.worker.flow.SelfCancellingJob"

    def perform(self) -> None:
        state["runs"] = state.get("runs", 0) + 1
        self._cancel_requested = True
        self.check_cancelled()

    @jobframe.after_discard
    def note(self, exc: BaseException) -> None:
        state["discarded_with"] = type(exc).__name__


def test_an_expired_job_is_settled_expired_unrun(
    runtime: Runtime, events: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    state.clear()
    late = NoteJob("late").set(expires_in=0.05)
    late.flow = late.compute_flow()
    runtime.push(late, NoteJob("fresh").set(expires_in=60))
    time.sleep(0.1)  # past the first job's expires_in: its expiry is what is tested
    recorder = Recorder()
    runtime.start(middleware=[recorder, Expiry()])
    wait_until(lambda: state.get("ran") == ["fresh"], 10, "the fresh job")
    wait_until(lambda: events, 10, "an expire event")
    assert late.job_id not in recorder.performed
    assert [(e.name, e.job.job_id) for e in events] == [("expire", late.job_id)]
    assert events[0].payload["late"] > 0
    assert f"Expired NoteJob (Job ID: {late.job_id})" in caplog.text


def test_the_smaller_of_the_class_timeout_and_the_job_timeout_wins() -> None:
    job = SlowJob()
    job.flow = job.compute_flow()
    assert time_limit(job, None) == 0.3
    assert time_limit(job, 0.1) == 0.1
    assert time_limit(job, 5.0) == 0.3
    plain = NoteJob("x")
    plain.flow = plain.compute_flow()
    assert time_limit(plain, None) is None and time_limit(plain, 2.0) == 2.0


def test_a_class_timeout_raises_job_timeout_through_rescue_from(
    runtime: Runtime, events: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    state.clear()
    recorder = Recorder()
    job = SlowJob()
    runtime.push(job)
    runtime.start(
        middleware=[recorder, TimeLimits(job_timeout=None, grace=5)], scheduler_interval=0.05
    )
    wait_until(lambda: job.job_id in recorder.outcomes, 20, "the slow job stopped")
    assert recorder.outcomes[job.job_id].status == "done", "rescue_from handled the JobTimeout"
    assert "rescued" in state
    assert 0.25 < state["stopped"] - state["tries"][0] < 1.5
    assert [e.name for e in events] == ["timeout"]
    assert events[0].payload["limit"] == 0.3
    assert "ran past its time limit of 0.3s" in caplog.text


def test_a_cancelled_job_is_settled_cancelled_not_retried(
    runtime: Runtime, events: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", "jobframe")
    state.clear()
    job = SelfCancellingJob()
    recorder = Recorder()
    from jobframe.worker.cancelling import Cancelling

    runtime.push(job)
    runtime.start(middleware=[Cancelling(), recorder])
    wait_until(lambda: job.job_id in recorder.outcomes, 10, "the job's outcome")
    assert recorder.outcomes[job.job_id].status == "cancelled"
    assert state["runs"] == 1, "retry_on(Exception) did not retry a cancel"
    assert state["discarded_with"] == "Cancelled"
    wait_until(lambda: [e.name for e in events] == ["cancel"], 5, "a cancel event")
    # the log line comes from the log subscriber of the same event, maybe a moment after it
    wait_until(lambda: "Cancelled SelfCancellingJob" in caplog.text, 5, "the cancel's log line")
    assert "Error performing" not in caplog.text, "a cancel is no error"


def test_a_failing_middleware_tick_does_not_stop_the_others(runtime: Runtime) -> None:
    ticked = threading.Event()

    class Broken(Middleware):
        def tick(self, now: float) -> None:
            raise RuntimeError("broken tick")

    class Counting(Middleware):
        def tick(self, now: float) -> None:
            ticked.set()

    runtime.start(middleware=[Broken(), Counting()], scheduler_interval=0.05)
    assert ticked.wait(5)


@jobframe.rate_limit("4/second", key="tests-flow-rated")
class RatedNoteJob(jobframe.Job):
    job_name = "tests.worker.flow.RatedNoteJob"

    def perform(self, tag: str) -> None:
        state.setdefault("ran", []).append((tag, time.time(), self.executions, self.flow))


def test_a_start_over_the_rate_is_deferred_to_its_slot_and_runs_then(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    state.clear()
    caplog.set_level("INFO", "jobframe")
    throttled: list[jobframe.Event] = []
    stop = jobframe.subscribe("throttle", throttled.append)
    try:
        runtime.push(*[RatedNoteJob(str(n)) for n in range(3)])
        runtime.start(concurrency=3, scheduler_interval=0.05)
        wait_until(lambda: len(state.get("ran", [])) == 3, 10, "three rated jobs")
    finally:
        stop()
    starts = sorted(start for _, start, _, _ in state["ran"])
    assert starts[2] - starts[0] >= 2 * 0.25 - 0.01, "4/second: one start every 0.25 s"
    assert len(throttled) == 2 and {e.payload["key"] for e in throttled} == {"tests-flow-rated"}
    assert all(executions == 1 for _, _, executions, _ in state["ran"]), "no attempt counted"
    assert all(flow.rate_slot is None for _, _, _, flow in state["ran"]), "a retry reserves anew"
    assert "Throttled RatedNoteJob" in caplog.text
