"""Reconnecting: workers whose connections the backend drops (a restart, a failover, a network
failure) reconnect with backoff and go on; no job is lost and, unless the backend redelivers
unacknowledged jobs by design, none runs twice."""

from __future__ import annotations

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance.base import ConformanceBase, counts, idle, not_applicable
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.reliability_jobs import SleepJob
from jobframe.testing.workers import Journal, wait_until


class FaultTests(ConformanceBase):
    @pytest.mark.slow
    def test_workers_reconnect_after_the_backend_drops_their_connections(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        if workers.drop is None:
            not_applicable(adapter, "has no connections to drop (its harness has no "
                           "drop_connections)")  # fmt: skip
        log = Journal(workers.folder / "reconnect.jsonl")
        # A longer heartbeat timeout: the reconnects must not make the live worker look dead.
        workers.start("--heartbeat-timeout", "15", concurrency=4)
        jobs = [SleepJob(log.name, 0.02, tag=str(i)) for i in range(400)]
        waves = [jobs[i : i + 50] for i in range(0, len(jobs), 50)]
        jobframe.perform_all_later(waves.pop(0))
        wait_until(lambda: len(log.ended()) >= 10, 20, "the worker to get going")
        dropped = 0
        for wave in waves:
            dropped += workers.drop_connections()
            jobframe.perform_all_later(wave)
            wave_ids = {job.job_id for job in wave}  # they need a worker that has reconnected

            def ran(wanted: set[str] = wave_ids) -> bool:
                return set(log.ended()) >= wanted

            wait_until(ran, 30, "a wave to run after a drop")
        assert dropped >= len(waves), f"only {dropped} connections were dropped"

        ids = {job.job_id for job in jobs}
        wait_until(lambda: set(log.ended()) >= ids, 90, "every job to end after the drops")
        if not self.redelivers:
            assert set(log.ended().values()) == {1}, "a job ran twice"
        inspector = adapter.inspector()
        if inspector is not None:
            wait_until(lambda: counts(inspector) == idle(), 20, "every claim to be acknowledged")
            if not self.redelivers:
                assert inspector.stats() == {"processed": len(jobs), "failed": 0}
        assert all(p.poll() is None for p in workers.procs), "the worker died"
