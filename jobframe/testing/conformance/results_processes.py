"""Job status and results with the worker in other processes (`ResultTests`' settings): a waiter
here woken by the backend when another process's worker ends the job, and a job that kills its
worker process again and again ends ``dead`` with the reason."""

from __future__ import annotations

import contextlib
import statistics
import time

import pytest

import jobframe
from jobframe.testing.conformance.base import require
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance.results import ResultTests
from jobframe.testing.conformance_jobs import read
from jobframe.testing.reliability_jobs import KillerJob
from jobframe.testing.results_jobs import RESULTS_JOBS, ValueJob
from jobframe.testing.workers import wait_until


class ResultProcessTests(ResultTests):
    def test_status_and_result_from_another_process(
        self, workers: WorkerHarness, journal: str
    ) -> None:
        """The worker runs in another process: the waiter here is woken by the backend (the
        median over 5 jobs after a first one)."""
        require(jobframe.queue_adapters.get(), "results")
        jobs = [ValueJob.perform_later(journal, i, 0.2) for i in range(6)]
        workers.start(imports=[RESULTS_JOBS], concurrency=1)
        lags = []
        adapter = jobframe.queue_adapters.get()
        woken = self.wakes_across_processes(adapter)
        with self.polls_slowly(adapter) if woken else contextlib.nullcontext():
            for i, job in enumerate(jobs):
                assert job.result(timeout=self.wait_timeout) == i
                now = time.time()
                (entry,) = [e for e in read(journal) if e["job_id"] == job.job_id]
                lags.append(now - entry["returned_at"])
        assert [jobframe.job_status(j.job_id) for j in jobs] == ["succeeded"] * 6
        limit = self.wake_median if woken else self.polled_wake_median
        assert statistics.median(lags[1:]) < limit, f"waiters woke late: {lags}"

    @pytest.mark.slow
    def test_a_poison_pill_is_dead(self, workers: WorkerHarness, journal: str) -> None:
        require(jobframe.queue_adapters.get(), "results")
        workers.start("--processes", "2", "--max-crashes", "2", concurrency=1)
        pill = KillerJob.perform_later(journal)
        wait_until(lambda: pill.status() == "dead", 45, "the poison pill to be dead")
        report = jobframe.job_report(pill.job_id)
        assert report.error is not None and "poison pill" in report.error.get("reason", "")
