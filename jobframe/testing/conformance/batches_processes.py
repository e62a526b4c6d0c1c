"""Batches with real ``jobframe work`` processes: workers SIGKILLed in the middle of a batch (their
jobs taken back by the reaper and run again) and the batch's callbacks still enqueued exactly
once, counted in the journal file the callback jobs write."""

from __future__ import annotations

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.batch_jobs import BATCH_JOBS, BatchJob
from jobframe.testing.conformance.base import ConformanceBase, require
from jobframe.testing.conformance.batches import callbacks, callbacks_run
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import read
from jobframe.testing.workers import wait_until


class BatchProcessTests(ConformanceBase):
    @pytest.mark.slow
    def test_callbacks_fire_once_when_workers_are_killed_mid_batch(
        self, adapter: QueueAdapter, workers: WorkerHarness, journal: str
    ) -> None:
        require(adapter, "batches")
        self.require_reaper(adapter)
        first = workers.start(imports=[BATCH_JOBS])
        second = workers.start(imports=[BATCH_JOBS])
        with jobframe.batch(**callbacks(journal), description="killed") as batch:
            jobframe.perform_all_later(
                BatchJob(journal, f"job-{i}", "sleep", 0.2) for i in range(30)
            )
        assert batch.total == 30

        def done() -> int:
            return len([e for e in read(journal) if e["tag"].startswith("job-")])

        def running_on(pid: int) -> set[str]:
            """Jobs started on the process ``pid`` and not ended there (yet)."""
            lines = [e for e in read(journal) if e["pid"] == pid]
            ended = {e["tag"] for e in lines if e["tag"].startswith("job-")}
            return {e["tag"][6:] for e in lines if e["tag"].startswith("start:")} - ended

        wait_until(lambda: done() >= 4 and running_on(first.pid), 30,
                   "a job of the batch running on the first worker")  # fmt: skip
        workers.kill(first)  # mid-job: its running jobs are reaped and run again
        cut_short = running_on(first.pid)
        third = workers.start(imports=[BATCH_JOBS])
        wait_until(lambda: done() >= 12 and running_on(second.pid), 30,
                   "a job of the batch running on the second worker")  # fmt: skip
        workers.kill(second)
        cut_short |= running_on(second.pid)
        wait_until(lambda: callbacks_run(journal)["on_success"] == 1, 60,
                   "the on_success callback")  # fmt: skip
        wait_until(lambda: callbacks_run(journal)["on_complete"] == 1, 30,
                   "the on_complete callback")  # fmt: skip
        info = jobframe.batch_status(batch.id)
        assert info is not None
        assert (info.total, info.succeeded, info.pending, info.failed) == (30, 30, 0, 0), info
        assert sorted(info.fired) == ["on_complete", "on_success"]
        ran = {e["tag"] for e in read(journal) if e["tag"].startswith("job-")}
        assert ran == {f"job-{i}" for i in range(30)}, "a job of the batch never ran"
        assert cut_short, "no job was running when its worker was killed"
        # Give a duplicate callback every chance to show: the last worker idles with an empty
        # queue once both callbacks ran; anything enqueued twice would run now.
        inspector = adapter.inspector()
        if inspector is not None:
            wait_until(lambda: inspector.count("ready") + inspector.count("running") == 0, 30,
                       "the queue to drain")  # fmt: skip
        workers.terminate(third)
        assert third.wait(30) == 0
        assert callbacks_run(journal) == {"on_complete": 1, "on_success": 1}
