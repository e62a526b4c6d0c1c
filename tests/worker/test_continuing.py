"""Continuations in the worker runtime (`jobframe.worker.continuing`), on the async adapter's
store with workers in threads: a graceful stop and a time limit interrupt a job at its next
checkpoint and re-enqueue it at once (same job_id, the run not counted, in the outcome's step);
another worker resumes it where it stopped; a job that reaches no checkpoint still gets its
`JobTimeout` after the grace; a cancel is settled ``cancelled`` and not re-enqueued."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.payload import load_payload
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions
from jobframe.worker.watchdog import Watchdog

log: list[tuple[str, int, int]] = []  # (what, row or -1, executions)
reached, release = threading.Event(), threading.Event()
times: dict[str, float] = {}


@pytest.fixture
def adapter() -> Iterator[AsyncAdapter]:
    log.clear()
    reached.clear()
    release.clear()
    made = AsyncAdapter(autostart=False)
    with queue_adapters.override(made):
        yield made
    release.set()
    made.shutdown(timeout=5)


@pytest.fixture
def events() -> Iterator[list[jobframe.Event]]:
    seen: list[jobframe.Event] = []
    stops = [jobframe.subscribe(name, seen.append) for name in ("interrupt", "timeout")]
    yield seen
    for stop in stops:
        stop()


def options(**extra: Any) -> WorkerOptions:
    return WorkerOptions(queues=["*"], concurrency=2, scheduler_interval=0.02,
                         fetch_timeout=0.2, **extra)  # fmt: skip


class RowsJob(jobframe.Job):
    """A download step, then ``count`` rows; it waits for `release` at row ``pause_at`` and
    sleeps ``pace`` seconds per row (work, not synchronisation)."""

    job_name = "tests.worker.continuing.RowsJob"

    def perform(self, count: int, pause_at: int = -1, pace: float = 0.0) -> None:
        self.count, self.pause_at, self.pace = count, pause_at, pace
        self.step("download", self.download)
        self.step("rows", self.rows, cursor=0)
        log.append(("end", -1, self.executions))

    def download(self, step: jobframe.Step) -> None:
        log.append(("download", -1, self.executions))

    def rows(self, step: jobframe.Step) -> None:
        for n in range(step.cursor, self.count):
            log.append(("row", n, self.executions))
            if n == self.pause_at:
                reached.set()
                release.wait(10)
            time.sleep(self.pace)
            step.advance()


class TimedRowsJob(RowsJob):
    job_name = "tests.worker.continuing.TimedRowsJob"
    timeout = 0.3


class AsyncTimedRowsJob(jobframe.Job):
    job_name = "tests.worker.continuing.AsyncTimedRowsJob"
    timeout = 0.3

    async def perform(self, count: int) -> None:
        await self.astep("fetch", self.fetch)  # skipped on resume: the rows step still postpones
        await self.astep("rows", self.rows, cursor=0)
        log.append(("end", -1, self.executions))

    def fetch(self, step: jobframe.Step) -> None:
        log.append(("download", -1, self.executions))

    async def rows(self, step: jobframe.Step) -> None:
        for n in range(step.cursor, step.cursor + 1_000_000):
            if n >= self.args[0]:
                return
            log.append(("row", n, self.executions))
            await asyncio.sleep(0.01)
            step.advance()


class StuckInStepJob(jobframe.Job):
    """In a step, but never at a checkpoint: its JobTimeout comes after the grace."""

    job_name = "tests.worker.continuing.StuckInStepJob"
    timeout = 0.3

    def perform(self) -> None:
        self.step("stuck", self.stuck)

    def stuck(self, step: jobframe.Step) -> None:
        times["start"] = time.monotonic()
        log.append(("start", -1, self.executions))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.01)

    @jobframe.rescue_from(jobframe.JobTimeout)
    def rescued(self, exc: Exception) -> None:
        times["timeout"] = time.monotonic()
        log.append(("timeout", -1, self.executions))


class CancelledMidStepJob(RowsJob):
    job_name = "tests.worker.continuing.CancelledMidStepJob"

    def rows(self, step: jobframe.Step) -> None:
        for n in range(step.cursor, self.count):
            log.append(("row", n, self.executions))
            if n == 3:
                self._cancel_requested = True  # as the worker's cancel poll does
            step.advance()


def rows(executions: int | None = None) -> list[int]:
    return [n for what, n, ex in log if what == "row" and executions in (None, ex)]


def test_a_stopped_worker_re_enqueues_at_the_checkpoint_and_another_resumes(
    adapter: AsyncAdapter, events: list[jobframe.Event], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", "jobframe")
    job = RowsJob.perform_later(40, pause_at=10)
    with worker_thread(adapter.store, options()) as first:
        wait_until(reached.is_set, 10, "row 10")
        first.stop()  # graceful: the job stops at its next checkpoint
        release.set()
    inspector = adapter.inspector()
    assert inspector.stats()["failed"] == 0
    [waiting] = inspector.jobs("ready")
    assert waiting.job_id == job.job_id and waiting.executions == 0, "the run is not counted"
    payload = load_payload(adapter.store.entries[waiting.id].payload)
    assert payload["continuation"] == {"completed": ["download"], "current": "rows", "cursor": 11}
    assert [e.name for e in events] == ["interrupt"]
    assert events[0].payload["steps"] == {"completed": ["download"], "current": "rows",
                                          "cursor": 11}  # fmt: skip
    assert "interrupted at step 'rows', cursor 11 (the worker is shutting down)" in caplog.text
    assert "Error performing" not in caplog.text
    report = jobframe.job_report(job.job_id)
    assert (report.status, report.attempts) == ("ready", None), "no record for the interruption"
    with worker_thread(adapter.store, options()):
        wait_until(lambda: ("end", -1, 1) in log, 10, "the resumed run to end")
    assert rows() == list(range(40)), "every row once"
    assert [what for what, _, _ in log].count("download") == 1
    assert rows(executions=1) == list(range(40)), "both runs are execution 1"
    assert adapter.wait_idle(5) and inspector.stats()["failed"] == 0
    report = jobframe.job_report(job.job_id)
    assert (report.status, report.attempts) == ("succeeded", 1)
    assert report.steps == {"completed": ["download", "rows"], "current": None, "cursor": None}
    # both runs took time: the interrupted one is counted in the class's run times, not failed
    timings = inspector.timings(int(time.time() // 60) - 5, job_class=RowsJob.job_name)
    assert (sum(t.count for t in timings), sum(t.failed for t in timings)) == (2, 0)


def test_a_running_continuation_shows_its_step_and_cursor_in_its_progress(
    adapter: AsyncAdapter,
) -> None:
    """Written at most every 0.25 s: ten rows of 30 ms make one write in the rows step."""
    job = RowsJob.perform_later(40, pause_at=10, pace=0.03)
    with worker_thread(adapter.store, options()):
        wait_until(reached.is_set, 10, "row 10")
        report = jobframe.job_report(job.job_id)
        release.set()
    assert report.status == "running"
    assert report.steps is not None and report.steps["completed"] == ["download"]
    assert report.steps["current"] == "rows" and 1 <= report.steps["cursor"] <= 10


@pytest.mark.parametrize("job_class", [TimedRowsJob, AsyncTimedRowsJob])
def test_a_time_limit_interrupts_at_a_checkpoint_instead_of_raising(
    adapter: AsyncAdapter, events: list[jobframe.Event], job_class: type[jobframe.Job]
) -> None:
    """100 rows of 10 ms under a 0.3 s time limit: several runs, each resuming where the last
    stopped, none timed out."""
    if job_class is TimedRowsJob:
        job_class.perform_later(100, pace=0.01)
    else:
        job_class.perform_later(100)
    with worker_thread(adapter.store, options(timeout_grace=5.0)):
        wait_until(lambda: any(what == "end" for what, _, _ in log), 20, "the last run to end")
    assert rows() == list(range(100))
    assert [what for what, _, _ in log].count("download") == 1
    interrupts = [e for e in events if e.name == "interrupt"]
    assert len(interrupts) >= 2 and "(time limit)" in interrupts[0].payload["message"]
    assert not [e for e in events if e.name == "timeout"]
    assert adapter.inspector().stats()["failed"] == 0


def test_a_job_that_reaches_no_checkpoint_still_times_out_after_the_grace(
    adapter: AsyncAdapter,
) -> None:
    StuckInStepJob.perform_later()
    with worker_thread(adapter.store, options(timeout_grace=0.5)):
        wait_until(lambda: len(log) == 2, 10, "the JobTimeout")
    (_, _, _), (what, _, _) = log
    assert what == "timeout"
    assert 0.3 + 0.5 <= times["timeout"] - times["start"] < 3.0, "not a grace after its limit"


def test_the_watchdog_gives_a_job_that_stops_by_itself_a_grace_once() -> None:
    watchdog = Watchdog(grace=1.0)
    asked: list[str] = []
    watchdog.start(("a", "t"), 10.0, None, lambda: asked.append("a") or True)
    watchdog.start(("b", "t"), 10.0, None, lambda: False)
    assert watchdog.check(10.0) == ([("b", "t")], [])  # b: at its deadline; a: a grace more
    assert watchdog.check(10.5) == ([], [])
    assert watchdog.check(11.0) == ([("a", "t")], [])
    assert asked == ["a"], "asked once"


def test_a_cancel_mid_step_is_settled_cancelled_and_not_re_enqueued(
    adapter: AsyncAdapter,
) -> None:
    job = CancelledMidStepJob.perform_later(10)
    inspector = adapter.inspector()
    with worker_thread(adapter.store, options()):
        wait_until(lambda: sum(inspector.history("cancelled").values()), 10, "the cancel")
    assert rows() == [0, 1, 2, 3]
    assert inspector.count("ready") == inspector.count("scheduled") == 0
    report = jobframe.job_report(job.job_id)
    assert report.status == "cancelled", "settled cancelled, not re-enqueued"
    assert report.steps == {"completed": ["download"], "current": "rows", "cursor": 4}
