"""Continuations at the job level (`jobframe.job.continuation`): steps run, skip and resume from
the payload; checkpoints interrupt, cancel and check their cursor; misuse fails with the fix.
The worker's side (stop, time limit, re-enqueue) is in ``tests/worker/test_continuing.py``."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest
from fixture_jobs import buffer
from fixture_jobs.import_job import ImportJob

import jobframe
from jobframe.errors import Interrupted
from jobframe.job.continuation import Interruption


def resumed(payload: dict[str, Any], continuation: dict[str, Any]) -> ImportJob:
    return ImportJob.deserialize({**payload, "continuation": continuation})


def test_steps_run_in_order_with_their_cursor_and_a_job_without_steps_carries_none() -> None:
    job = ImportJob()
    assert "continuation" not in job.serialize()
    job.perform_now()
    assert buffer == ["download", *(f"row {n}" for n in range(10))]
    assert job.continuation == {"completed": ["download", "rows"], "current": None, "cursor": None}
    assert job.serialize()["continuation"] == job.continuation


def test_a_resumed_job_skips_finished_steps_and_starts_at_its_cursor() -> None:
    seen: list[jobframe.Step] = []

    class Spy(ImportJob):
        def rows(self, step: jobframe.Step) -> None:
            seen.append(step)
            super().rows(step)

    progress = {"completed": ["download"], "current": "rows", "cursor": 7}
    job = Spy.deserialize({**Spy().serialize(), "continuation": progress})
    job.perform_now()
    assert buffer == ["row 7", "row 8", "row 9"]
    assert (seen[0].name, seen[0].resumed) == ("rows", True)


def test_a_stop_interrupts_at_the_next_checkpoint_with_the_cursor_saved() -> None:
    job = ImportJob(stop_at=3)
    with pytest.raises(Interrupted) as info:
        job.perform_now()
    assert info.value.reason == "stopping"
    assert "at step 'rows', cursor 4" in str(info.value)
    assert buffer == ["download", "row 0", "row 1", "row 2", "row 3"]
    payload = job.serialize()
    assert payload["continuation"] == {"completed": ["download"], "current": "rows", "cursor": 4}
    buffer.clear()
    ImportJob.deserialize(payload).perform_now()
    assert buffer == [f"row {n}" for n in range(4, 10)], "the rest, and the download skipped"


def test_interrupted_passes_except_exception_handlers_retry_on_and_after_discard() -> None:
    discarded: list[BaseException] = []

    @jobframe.retry_on(Exception, wait=0, attempts=5)
    class Swallowing(ImportJob):
        def rows(self, step: jobframe.Step) -> None:
            try:
                super().rows(step)
            except Exception:
                buffer.append("swallowed")

        @jobframe.after_discard
        def note(self, exc: BaseException) -> None:
            discarded.append(exc)

    with pytest.raises(Interrupted):
        Swallowing(stop_at=0).perform_now()
    assert "swallowed" not in buffer and discarded == []
    assert not issubclass(Interrupted, Exception)


def test_a_stop_before_any_progress_waits_for_the_first_checkpoint_inside_a_step() -> None:
    """The start of the first step a run reaches is no checkpoint for a stop: a job stopped
    there would come back with nothing done."""
    job = ImportJob()
    stopping = threading.Event()
    stopping.set()
    job._interruption = Interruption(stopping=stopping)
    with pytest.raises(Interrupted):
        job.perform_now()
    assert buffer == ["download"], "the download step ran; the rows step's start interrupted"
    assert job.continuation == {"completed": ["download"], "current": None, "cursor": None}


def test_a_time_limit_interrupts_with_its_reason() -> None:
    job = ImportJob()
    job._interruption = Interruption(deadline=0.0)  # long past
    with pytest.raises(Interrupted) as info:
        job.perform_now()
    assert info.value.reason == "time limit" and "(time limit)" in str(info.value)


def test_a_cancel_stops_at_a_checkpoint_with_cancelled_and_keeps_the_cursor() -> None:
    class Cancelling(ImportJob):
        def rows(self, step: jobframe.Step) -> None:
            for n in range(step.cursor, 10):
                if n == 2:
                    self._cancel_requested = True
                step.advance()

    job = Cancelling()
    with pytest.raises(jobframe.Cancelled):
        job.perform_now()
    assert job.continuation == {"completed": ["download"], "current": "rows", "cursor": 3}


def test_a_retry_resumes_from_the_last_checkpoint(jobs: Any) -> None:
    ImportJob.perform_later(fail_at=6)
    jobs.perform_enqueued_jobs()  # the retry too, from its payload
    assert buffer == ["download", *(f"row {n}" for n in range(10))], "no row twice"


def test_cursors_are_any_argument_value_and_a_bad_one_fails_at_advance() -> None:
    class Cursors(jobframe.Job):
        def perform(self) -> None:
            self.step("pairs", self.pairs, cursor=(0, "a"))

        def pairs(self, step: jobframe.Step) -> None:
            step.advance(to=(1, "b"))
            buffer.append(repr(step.cursor))
            step.advance(to=object())

    job = Cursors()
    with pytest.raises(jobframe.SerializationError, match="step 'pairs': its cursor must be"):
        job.perform_now()
    assert buffer == ["(1, 'b')"]
    again = Cursors.deserialize(job.serialize())
    assert again._continuation is not None
    assert again._continuation.wire_cursor == {"_jf": "tuple", "value": [1, "b"]}


@pytest.mark.parametrize(
    ("perform", "message"),
    [
        (lambda job: (job.step("a", job.noop), job.step("a", job.noop)), "ran twice in one"),
        (lambda job: job.step("a", lambda step: job.step("b", job.noop)), "cannot nest"),
        (lambda job: job.step("", job.noop), "non-empty str"),
        (lambda job: job.step("a", job.coro), "await self.astep('a'"),
        (lambda job: job.step("a", lambda step: step.advance()), "adds 1 to an int cursor"),
    ],
)
def test_misused_steps_fail_with_the_fix(perform: Any, message: str) -> None:
    class Misused(jobframe.Job):
        def perform(self) -> None:
            perform(self)

        def noop(self, step: jobframe.Step) -> None:
            pass

        async def coro(self, step: jobframe.Step) -> None:
            pass

    with pytest.raises(jobframe.ContinuationError, match=re.escape(message)):
        Misused().perform_now()


@pytest.mark.parametrize(
    ("continuation", "message"),
    [
        ({"completed": ["rows"], "current": None}, "had finished step 'rows'"),
        ({"completed": [], "current": "rows", "cursor": 1}, "was in step 'rows'"),
    ],
)
def test_steps_out_of_the_recorded_order_fail_on_resume(
    continuation: dict[str, Any], message: str
) -> None:
    job = resumed(ImportJob().serialize(), continuation)
    with pytest.raises(jobframe.ContinuationError, match=re.escape(message)):
        job.perform_now()


def test_a_malformed_continuation_is_a_deserialization_error() -> None:
    with pytest.raises(jobframe.DeserializationError, match="continuation"):
        resumed(ImportJob().serialize(), {"completed": "download"})


def test_async_steps_run_with_astep_and_are_skipped_on_resume() -> None:
    class AsyncImport(jobframe.Job):
        async def perform(self) -> None:
            await self.astep("fetch", self.fetch)
            await self.astep("rows", self.rows, cursor=0)

        async def fetch(self, step: jobframe.Step) -> None:
            await asyncio.sleep(0)
            buffer.append("fetch")

        def rows(self, step: jobframe.Step) -> None:  # a plain method works too
            for n in range(step.cursor, 3):
                buffer.append(f"row {n}")
                step.advance()

    AsyncImport.perform_now()
    assert buffer == ["fetch", "row 0", "row 1", "row 2"]
    buffer.clear()
    progress = {"completed": ["fetch"], "current": "rows", "cursor": 2}
    job = AsyncImport.deserialize({**AsyncImport().serialize(), "continuation": progress})
    job.perform_now()
    assert buffer == ["row 2"]


def test_interrupt_at_stops_where_asked_and_gives_back_the_job_to_resume() -> None:
    from jobframe.testing import interrupt_at

    job = ImportJob()
    job.executions = 2  # a job on its third run
    resumed = interrupt_at(job, "rows", cursor=4)
    assert buffer == ["download", "row 0", "row 1", "row 2", "row 3"]
    assert resumed.job_id == job.job_id and resumed.executions == 2, "the run is not counted"
    assert resumed.continuation == {"completed": ["download"], "current": "rows", "cursor": 4}
    buffer.clear()
    resumed.perform_now()
    assert buffer == [f"row {n}" for n in range(4, 10)]
    with pytest.raises(AssertionError, match="without a checkpoint at step 'rows' with cursor 99"):
        interrupt_at(ImportJob(), "rows", cursor=99)
