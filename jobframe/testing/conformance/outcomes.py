"""What becomes of a job after it runs: retries with their backoff, ``discard_on``, the dead set
(and retrying or discarding from it), and priorities deciding which ready job starts first."""

from __future__ import annotations

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
    tells,
    unfinished,
)
from jobframe.testing.conformance_jobs import BackoffJob, DiscardedJob, RecordingJob, read
from jobframe.testing.workers import wait_until


class OutcomeTests(ConformanceBase):
    def test_a_retry_waits_for_its_backoff(self, active: QueueAdapter, journal: str) -> None:
        require(active, "delay")
        job = BackoffJob.perform_later(journal, "backoff")
        first, second = self._wait_for(active, journal, 2)
        assert (first["executions"], second["executions"]) == (1, 2)
        assert first["job_id"] == second["job_id"] == job.job_id
        assert second["ran_at"] >= first["ran_at"] + 1.5 - 0.05, "the retry ran before its wait"

    def test_discard_on_drops_the_job_without_a_retry(
        self, active: QueueAdapter, journal: str
    ) -> None:
        """Nothing is left unfinished (running jobs counted where the inspector
        `counts_pending`)."""
        DiscardedJob.perform_later(journal, "discarded")
        RecordingJob.perform_later(journal, "after")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "after")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "discarded")
        inspector = active.inspector()
        if inspector is not None:
            wait_until(lambda: unfinished(inspector) == 0, self.wait_timeout, "nothing pending")
            assert inspector.count("dead") == 0, "a discarded job is not a dead one"
        assert [e["tag"] for e in read(journal)].count("discarded") == 1

    def test_the_dead_set_retries_and_discards(self, active: QueueAdapter, journal: str) -> None:
        """A job that fails for good is dead with its error; retried, it runs again (its
        failures counted where the inspector `counts_outcomes`)."""
        inspector = require_inspector(active)
        doomed = [
            RecordingJob.perform_later(journal, f"doomed-{i}", raise_always=True) for i in range(3)
        ]
        dead = wait_until(
            lambda: len(inspector.jobs("dead")) == 3 and inspector.jobs("dead"),
            self.wait_timeout,
            "3 dead jobs",
        )
        by_job = {info.job_id: info for info in dead}
        assert set(by_job) == {job.job_id for job in doomed}
        error = by_job[doomed[0].job_id].error or {}
        assert "fails on purpose" in error["message"] and "RuntimeError" in error["class"]
        assert "Traceback" in error["traceback"]
        if tells(inspector, "counts_outcomes"):
            assert inspector.stats()["failed"] >= 3
        assert inspector.retry([by_job[doomed[0].job_id].id]) == 1
        self._wait_for(active, journal, 2, lambda e: e["tag"] == "doomed-0")
        wait_until(lambda: inspector.count("dead") == 3, self.wait_timeout, "it to be dead again")
        assert inspector.discard([by_job[doomed[1].job_id].id]) == 1
        assert inspector.job(by_job[doomed[1].job_id].id) is None
        assert inspector.discard(all=True) == 2
        assert inspector.count("dead") == 0 and unfinished(inspector) == 0

    def test_lower_priority_number_starts_first(self, quiet: QueueAdapter) -> None:
        require(quiet, "priority")
        backend = require_worker_backend(quiet)
        jobs = {
            p: RecordingJob.set(priority=p).perform_later("/dev/null", str(p)) for p in (7, 0, 3)
        }
        backend.register(ProcessInfo("p-priority", ["*"], 1))
        started = []
        for _ in jobs:
            (claim,) = wait_until(
                lambda: backend.fetch("p-priority", ["*"], 1, 0.2), 10, "a ready job"
            )
            started.append(claim.id)
            backend.complete("p-priority", [Outcome(claim, "done")])
        backend.deregister("p-priority")
        assert started == [jobs[p].provider_job_id for p in (0, 3, 7)]

    def test_bulk_enqueue_of_delayed_jobs_waits(self, quiet: QueueAdapter) -> None:
        require(quiet, "delay")
        inspector = require_inspector(quiet)
        assert (
            RecordingJob.set(wait=3600).perform_all_later(
                [RecordingJob("/dev/null", str(i)) for i in range(4)]
            )
            == 4
        )
        assert inspector.count("scheduled") == 4 and inspector.count("ready") == 0
        assert jobframe.perform_all_later([]) == 0
