"""Continuations (``self.step``, DESIGN.md 6.4) on a backend that declares
``Capabilities.continuations``: a job stopped at a checkpoint by a graceful stop (an in-process
worker's ``stop()``, a ``jobframe work`` process's SIGTERM) or by its time limit is re-enqueued
at once and resumes, on another worker, at its checkpointed row: every row is handled, the rows
before the checkpoint are not repeated (beyond the one in flight), and the finished ``download``
step is not run again. A retry resumes at the last checkpoint too.

Rows are journaled (`jobframe.testing.conformance_jobs.ImportRowsJob`) with the pid of the
process that handled them; the tests wait on the journal, never on a fixed sleep.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_worker_backend,
)
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import ImportRowsJob, read
from jobframe.testing.workers import wait_until, worker_thread


def rows_of(journal: str, job_id: str) -> list[dict[str, Any]]:
    return [e for e in read(journal) if e["tag"] == "row" and e["job_id"] == job_id]


def tags(journal: str, tag: str) -> int:
    return sum(1 for e in read(journal) if e["tag"] == tag)


def assert_resumed(journal: str, job_id: str, count: int, first_run: set[int]) -> None:
    """Every row handled; only the row in flight at the stop handled twice; the rows after the
    first run's last one handled by the resumed run; the download step run once."""
    handled = Counter(e["row"] for e in rows_of(journal, job_id))
    assert set(handled) == set(range(count)), "a row was never handled"
    repeated = [row for row, n in handled.items() if n > 1]
    assert len(repeated) <= 1 and all(handled[row] == 2 for row in repeated), (
        f"rows handled again on resume: {repeated}"
    )
    assert repeated in ([], [max(first_run)]), "a row before the checkpoint was repeated"
    assert tags(journal, "download") == 1, "the finished download step ran again"
    assert tags(journal, "end") == 1


class ContinuationTests(ConformanceBase):
    def test_a_stopped_worker_re_enqueues_a_continuation_another_resumes(
        self, adapter: QueueAdapter, journal: str
    ) -> None:
        require(adapter, "continuations")
        backend = require_worker_backend(adapter)
        with queue_adapters.override(adapter):
            job = ImportRowsJob.perform_later(journal, 300, pace=0.002)
            with worker_thread(backend, self.worker_options()) as first:
                wait_until(lambda: len(rows_of(journal, job.job_id)) >= 20, 20, "20 rows")
                first.stop()
            before = {e["row"] for e in rows_of(journal, job.job_id)}
            assert len(before) < 300, "the job ended before the stop: nothing was resumed"
            inspector = adapter.inspector()
            if inspector is not None:
                assert inspector.count("ready") == 1, "the interrupted job is not waiting"
                assert inspector.count("dead") == 0, "an interruption is no failure"
            if type(adapter).capabilities.results:
                report = jobframe.job_report(job.job_id, adapter)
                assert (report.status, report.attempts) == ("ready", None), (
                    "the interrupted run wrote a record"
                )
            with worker_thread(backend, self.worker_options()):
                wait_until(lambda: tags(journal, "end"), 30, "the resumed run to end")
        assert_resumed(journal, job.job_id, 300, before)
        if type(adapter).capabilities.results:
            report = jobframe.job_report(job.job_id, adapter)
            assert (report.status, report.attempts) == ("succeeded", 1)
            assert report.steps == {"completed": ["download", "rows"], "current": None,
                                    "cursor": None}  # fmt: skip

    def test_a_time_limit_interrupts_at_a_checkpoint_and_the_job_resumes(
        self, adapter: QueueAdapter, journal: str
    ) -> None:
        """200 rows of 5 ms under a 0.3 s ``--job-timeout``: runs stop at checkpoints, none
        fails with `jobframe.JobTimeout`."""
        require(adapter, "continuations")
        require(adapter, "timeouts")
        backend = require_worker_backend(adapter)
        options = self.worker_options()
        options.job_timeout, options.timeout_grace = 0.3, 10.0
        with queue_adapters.override(adapter):
            job = ImportRowsJob.perform_later(journal, 200, pace=0.005)
            with worker_thread(backend, options):
                wait_until(lambda: tags(journal, "end"), 30, "the last run to end")
        handled = Counter(e["row"] for e in rows_of(journal, job.job_id))
        assert set(handled) == set(range(200)) and max(handled.values()) == 1
        assert tags(journal, "download") == 1
        inspector = adapter.inspector()
        if inspector is not None:
            assert inspector.count("dead") == 0, "a run timed out instead of stopping"

    def test_a_retry_resumes_at_the_last_checkpoint(
        self, adapter: QueueAdapter, active: QueueAdapter, journal: str
    ) -> None:
        require(adapter, "continuations")
        job = ImportRowsJob.perform_later(journal, 10, fail_at=6)
        self._wait_for(adapter, journal, 1, lambda e: e["tag"] == "end")
        handled = [e["row"] for e in rows_of(journal, job.job_id)]
        assert handled == list(range(10)), "a retry started the rows step over"
        assert tags(journal, "download") == 1

    @pytest.mark.slow
    def test_sigterm_mid_step_resumes_on_another_worker_at_the_checkpoint(
        self, adapter: QueueAdapter, workers: WorkerHarness, journal: str, tmp_path: Path
    ) -> None:
        """The issue's test: SIGTERM a ``jobframe work`` process in the middle of a 1,000-row
        step; another process resumes the job at its checkpointed row."""
        require(adapter, "continuations")
        proc = workers.start("--shutdown-timeout", "20", concurrency=1)
        job = ImportRowsJob.perform_later(journal, 1000, pace=0.003)
        wait_until(lambda: len(rows_of(journal, job.job_id)) >= 100, 30, "100 rows")
        workers.terminate(proc)
        assert proc.wait(25) == 0, "the worker did not stop at the checkpoint"
        first = rows_of(journal, job.job_id)
        before = {e["row"] for e in first}
        assert len(before) < 1000, "the job ended before the SIGTERM: nothing was resumed"
        inspector = adapter.inspector()
        if inspector is not None:
            assert inspector.count("ready") == 1 and inspector.count("dead") == 0
        second = workers.start(concurrency=1)
        wait_until(lambda: tags(journal, "end"), 60, "the resumed run to end")
        resumed = [e for e in rows_of(journal, job.job_id) if e["pid"] == second.pid]
        assert resumed and resumed[0]["row"] in (max(before), max(before) + 1), (
            f"the resumed run started at row {resumed[0]['row'] if resumed else None}, "
            f"not at the checkpoint after row {max(before)}"
        )
        assert_resumed(journal, job.job_id, 1000, before)
