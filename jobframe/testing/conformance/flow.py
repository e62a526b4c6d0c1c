"""Flow control on a backend (`jobframe.backend.flow`): unique jobs, concurrency limits, the rate
limiter's primitives and throttling, expiry, cancellation and time limits.

Each test is gated on the `Capabilities` field it checks. The locks, slots and the limiter live
in the backend, so threads of the test's process race as processes on several hosts would.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from pathlib import Path

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.worker import ProcessInfo
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
    tells,
)
from jobframe.testing.conformance_jobs import (
    AsyncTimedJob,
    CancellableJob,
    ExpiringJob,
    HeldLimitJob,
    LimitedJob,
    RatedJob,
    RecordingJob,
    SharedLimitJobA,
    SharedLimitJobB,
    TimedJob,
    UniqueBrieflyJob,
    UniqueFlakyJob,
    UniqueJob,
    UniqueRaisingJob,
    UniqueUntilScheduledJob,
    UniqueUntilStartedJob,
    read,
)
from jobframe.testing.workers import wait_until


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


def _max_overlap(entries: list[dict[str, float]]) -> int:
    """The most runs that were under way at one instant."""
    edges = sorted([(e["start"], 1) for e in entries] + [(e["end"], -1) for e in entries])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


class FlowTests(ConformanceBase):
    def test_the_flow_flags_match_the_declared_capabilities(self, adapter: QueueAdapter) -> None:
        """The runtime and the dashboard read these flags; the adapter's `Capabilities` promise
        the same methods."""
        declared = type(adapter).capabilities
        backend, inspector = adapter.worker_backend(), adapter.inspector()
        if backend is not None:
            assert (backend.throttles, backend.cancels) == (declared.rate_limits, declared.cancel)
        if inspector is not None:
            assert inspector.cancels == declared.cancel

    # -- unique ---------------------------------------------------------------------------------

    def test_a_unique_job_is_not_enqueued_while_an_equal_one_waits(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "unique")
        key = _key()
        first = UniqueJob.perform_later(journal, key)
        second = UniqueJob.perform_later(journal, key)
        other = UniqueJob.perform_later(journal, _key())
        assert first.successfully_enqueued and other.successfully_enqueued
        assert not second.successfully_enqueued
        assert isinstance(second.enqueue_error, jobframe.DuplicateJobError)
        with pytest.raises(jobframe.DuplicateJobError):
            UniqueRaisingJob.perform_later(journal, key)  # another class: its own lock
            UniqueRaisingJob.perform_later(journal, key)

    def test_racing_producers_enqueue_a_unique_job_once(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "unique")
        key = _key()
        barrier = threading.Barrier(8)
        jobs: list[UniqueJob] = []

        def produce() -> None:
            barrier.wait(10)
            jobs.append(UniqueJob.perform_later(journal, key))

        threads = [threading.Thread(target=produce) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(jobs) == 8
        assert sum(job.successfully_enqueued for job in jobs) == 1
        assert all(
            isinstance(job.enqueue_error, jobframe.DuplicateJobError)
            for job in jobs
            if not job.successfully_enqueued
        )

    def test_bulk_enqueue_skips_duplicates_also_inside_the_batch(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "unique")
        taken, fresh = _key(), _key()
        UniqueJob.perform_later(journal, taken)
        batch = [UniqueJob(journal, taken), UniqueJob(journal, fresh), UniqueJob(journal, fresh)]
        assert jobframe.perform_all_later(batch) == 1
        assert [job.successfully_enqueued for job in batch] == [False, True, False]
        assert isinstance(batch[0].enqueue_error, jobframe.DuplicateJobError)
        assert isinstance(batch[2].enqueue_error, jobframe.DuplicateJobError)

    def test_the_lock_is_released_when_the_job_finishes(
        self, active: QueueAdapter, journal: str, tmp_path: Path
    ) -> None:
        require(active, "unique")
        require_worker_backend(active)
        key, hold = _key(), str(tmp_path / "hold")
        assert UniqueJob.perform_later(journal, key, hold=hold).successfully_enqueued
        self._wait_for(active, journal, 1)  # running, holding the lock (until="finished")
        assert not UniqueJob.perform_later(journal, key).successfully_enqueued
        Path(hold).touch()
        wait_until(
            lambda: UniqueJob.perform_later(journal, key).successfully_enqueued,
            self.wait_timeout,
            "the lock released once the job finished",
        )

    def test_until_started_releases_the_lock_when_a_worker_takes_the_job(
        self, active: QueueAdapter, journal: str, tmp_path: Path
    ) -> None:
        require(active, "unique")
        require_worker_backend(active)
        key, hold = _key(), str(tmp_path / "hold")
        assert UniqueUntilStartedJob.perform_later(journal, key, hold=hold).successfully_enqueued
        self._wait_for(active, journal, 1)  # started: the lock is gone although it runs
        try:
            assert UniqueUntilStartedJob.perform_later(journal, key).successfully_enqueued
        finally:
            Path(hold).touch()

    def test_until_scheduled_holds_the_lock_only_while_the_job_is_scheduled(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "unique")
        require(quiet, "delay")
        inspector = require_inspector(quiet)
        key = _key()
        assert UniqueUntilScheduledJob.set(wait=60).perform_later(journal, key)
        assert (
            not UniqueUntilScheduledJob.set(wait=60)
            .perform_later(journal, key)
            .successfully_enqueued
        )
        assert inspector.run_now(all=True) == 1  # ready now: the lock is released
        assert UniqueUntilScheduledJob.perform_later(journal, key).successfully_enqueued

    def test_the_lock_lapses_after_for(self, quiet: QueueAdapter, journal: str) -> None:
        require(quiet, "unique")
        key = _key()
        assert UniqueBrieflyJob.perform_later(journal, key).successfully_enqueued
        assert not UniqueBrieflyJob.perform_later(journal, key).successfully_enqueued
        time.sleep(1.1)  # the lock's own lifetime (for_=1s) is what is tested
        assert UniqueBrieflyJob.perform_later(journal, key).successfully_enqueued

    def test_discarding_a_waiting_job_releases_its_lock(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "unique")
        inspector = require_inspector(quiet)
        key = _key()
        job = UniqueJob.perform_later(journal, key)
        [info] = [i for i in inspector.jobs("ready") if i.job_id == job.job_id]
        assert inspector.discard([info.id], state="ready") == 1
        assert UniqueJob.perform_later(journal, key).successfully_enqueued

    def test_a_dead_job_releases_its_lock_and_a_retry_keeps_it(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "unique")
        require(active, "delay")
        require_worker_backend(active)
        inspector = require_inspector(active)
        flaky, doomed = _key(), _key()
        UniqueFlakyJob.perform_later(journal, flaky)
        self._wait_for(active, journal, 1, lambda e: e["tag"] == flaky)
        # its retry waits a second: the lock is still held by the same job
        assert not UniqueFlakyJob.perform_later(journal, flaky).successfully_enqueued
        self._wait_for(active, journal, 2, lambda e: e["tag"] == flaky)
        UniqueJob.perform_later(journal, doomed, fail=True)
        wait_until(lambda: inspector.count("dead") == 1, self.wait_timeout, "a dead job")
        assert UniqueJob.perform_later(journal, doomed).successfully_enqueued

    # -- concurrency limits ---------------------------------------------------------------------

    def test_at_most_to_jobs_of_a_key_run_at_once(self, active: QueueAdapter, journal: str) -> None:
        require(active, "concurrency_limits")
        require_worker_backend(active)
        busy, other = _key(), _key()
        jobframe.perform_all_later([LimitedJob(journal, busy, 0.2) for _ in range(8)])
        LimitedJob.perform_later(journal, other, 0.2)
        entries = self._wait_for(active, journal, 9)
        assert _max_overlap([e for e in entries if e["tag"] == busy]) <= 2
        assert len([e for e in entries if e["tag"] == busy]) == 8, "every blocked job ran"

    def test_a_group_shares_one_limit_between_classes(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "concurrency_limits")
        require_worker_backend(active)
        jobs: list[jobframe.Job] = [SharedLimitJobA(journal, "a", 0.15) for _ in range(3)]
        jobs += [SharedLimitJobB(journal, "b", 0.15) for _ in range(3)]
        jobframe.perform_all_later(jobs)
        entries = self._wait_for(active, journal, 6)
        assert _max_overlap(entries) == 1

    def test_blocked_jobs_are_shown_and_start_as_slots_free(
        self, active: QueueAdapter, journal: str, tmp_path: Path
    ) -> None:
        require(active, "concurrency_limits")
        require_worker_backend(active)
        inspector = require_inspector(active)
        key, hold = _key(), str(tmp_path / "hold")
        for _ in range(3):
            HeldLimitJob.perform_later(journal, key, hold=hold)
        self._wait_for(active, journal, 1)
        wait_until(lambda: inspector.count("blocked") == 2, self.wait_timeout, "2 blocked jobs")
        assert {info.state for info in inspector.jobs("blocked")} == {"blocked"}
        assert len(read(journal)) == 1, "a blocked job ran"
        Path(hold).touch()
        self._wait_for(active, journal, 3)
        wait_until(lambda: inspector.count("blocked") == 0, self.wait_timeout, "none blocked")

    # -- rate limits ----------------------------------------------------------------------------

    def test_reserve_spaces_the_starts_of_a_key(self, adapter: QueueAdapter) -> None:
        require(adapter, "rate_limits")
        backend = require_worker_backend(adapter)
        key = _key()
        before = time.time()
        starts = [backend.reserve(key, 0.25) for _ in range(4)]
        assert before - 0.5 <= starts[0] <= time.time() + 0.05
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(abs(gap - 0.25) < 0.01 for gap in gaps), starts
        assert backend.reserve(_key(), 0.25) <= time.time() + 0.05, "keys are independent"

    def test_defer_gives_a_claim_back_for_later_without_an_attempt(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "rate_limits")
        backend = require_worker_backend(quiet)
        inspector = require_inspector(quiet)
        RecordingJob.perform_later(journal, "deferred")
        backend.register(ProcessInfo("p-defer", ["*"], 1))
        [claim] = backend.fetch("p-defer", ["*"], 1, 1.0)
        due = time.time() + 0.5
        backend.defer("p-defer", claim, due, claim.payload)
        assert inspector.count("running") == 0 and inspector.count("scheduled") == 1
        assert backend.fetch("p-defer", ["*"], 1, 0.1) == []
        wait_until(
            lambda: backend.maintain(30, 3) is not None and inspector.count("ready") == 1,
            self.wait_timeout,
            "the deferred job ready again",
        )
        [again] = backend.fetch("p-defer", ["*"], 1, 1.0)
        assert again.payload == claim.payload and again.token != claim.token
        assert time.time() >= due - 0.05
        if tells(inspector, "counts_outcomes"):
            assert sum(inspector.history("throttled").values()) == 1

    def test_a_rate_limited_key_starts_no_faster_than_its_rate(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "rate_limits")
        require_worker_backend(active)
        key = _key()
        jobframe.perform_all_later([RatedJob(journal, key) for _ in range(15)])
        entries = self._wait_for(active, journal, 15)
        starts = sorted(e["start"] for e in entries)
        assert starts[-1] - starts[0] >= 14 * 0.1 - 0.15, "10/second: 15 starts take 1.4 s"
        assert all(e["executions"] == 1 for e in entries), "a throttled start is no attempt"

    # -- expiry ---------------------------------------------------------------------------------

    def test_a_job_not_started_in_time_expires_unrun(
        self, adapter: QueueAdapter, journal: str
    ) -> None:
        require(adapter, "expiry")
        backend = require_worker_backend(adapter)
        events: list[jobframe.Event] = []
        unsubscribe = jobframe.subscribe("expire", events.append)
        try:
            from jobframe import queue_adapters

            with queue_adapters.override(adapter):
                ExpiringJob.perform_later(journal, "late")
                RecordingJob.set(expires_in=30).perform_later(journal, "in time")
                time.sleep(0.4)  # past ExpiringJob.expires_in (0.3 s), before any worker runs
                from jobframe.testing.workers import worker_thread

                with worker_thread(backend, self.worker_options()):
                    self._wait_for(adapter, journal, 1, lambda e: e["tag"] == "in time")
                    wait_until(lambda: len(events) == 1, self.wait_timeout, "an expire event")
        finally:
            unsubscribe()
        assert [e["tag"] for e in read(journal)] == ["in time"]
        inspector = adapter.inspector()
        if inspector is not None and tells(inspector, "counts_outcomes"):
            assert sum(inspector.history("expired").values()) == 1

    # -- cancellation ---------------------------------------------------------------------------

    def test_cancel_removes_a_waiting_job(self, quiet: QueueAdapter, journal: str) -> None:
        require(quiet, "cancel")
        inspector = require_inspector(quiet)
        job = RecordingJob.perform_later(journal, "cancelled")
        later = RecordingJob.set(wait=60).perform_later(journal, "cancelled later")
        assert jobframe.cancel(job.job_id) == "cancelled"
        assert later.cancel() == "cancelled"
        assert inspector.count("ready") == 0 and inspector.count("scheduled") == 0
        assert jobframe.cancel(job.job_id) == "unknown"
        assert jobframe.cancel("no-such-job") == "unknown"
        if tells(inspector, "counts_outcomes"):
            assert sum(inspector.history("cancelled").values()) == 2

    def test_a_running_job_is_cancelled_at_its_next_checkpoint(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "cancel")
        require_worker_backend(active)
        job = CancellableJob.perform_later(journal, "running")
        self._wait_for(active, journal, 1)
        asked = time.monotonic()
        assert jobframe.cancel(job.job_id) == "running"
        inspector = require_inspector(active)
        wait_until(
            lambda: inspector.count("running") == 0, self.wait_timeout, "the cancelled job ended"
        )
        assert time.monotonic() - asked < 3.0, "a running job sees a cancel within a second"
        assert [e.get("phase") for e in read(journal)] == ["start"]
        assert inspector.count("dead") == 0
        if tells(inspector, "counts_outcomes"):
            assert sum(inspector.history("cancelled").values()) == 1

    def test_cancelling_one_running_job_leaves_the_others_of_its_fetch_running(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "cancel")
        require_worker_backend(active)
        inspector = require_inspector(active)
        # One enqueue: the worker claims both in one fetch (a backend may share a claim token
        # between them; a cancel must still reach only the job it names).
        jobs = [CancellableJob(journal, "stop"), CancellableJob(journal, "keep")]
        jobframe.perform_all_later(jobs)
        self._wait_for(active, journal, 2)
        assert jobframe.cancel(jobs[0].job_id) == "running"
        wait_until(
            lambda: inspector.count("running") == 1, self.wait_timeout, "the cancelled job ended"
        )
        time.sleep(1.5)  # more than one poll of the worker: the other job is still not told
        assert inspector.count("running") == 1, "the job not cancelled was stopped too"
        assert jobframe.cancel(jobs[1].job_id) == "running"
        wait_until(lambda: inspector.count("running") == 0, self.wait_timeout, "both ended")

    # -- time limits ----------------------------------------------------------------------------

    def test_a_job_over_its_timeout_is_stopped_and_handled(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "timeouts")
        require_worker_backend(active)
        TimedJob.perform_later(journal, "thread")
        AsyncTimedJob.perform_later(journal, "async")
        self._wait_for(active, journal, 2)
        inspector = require_inspector(active)
        wait_until(lambda: inspector.count("running") == 0, self.wait_timeout, "both stopped")
        time.sleep(0.2)
        assert [e.get("phase") for e in read(journal)] == ["start", "start"]
        assert inspector.count("dead") == 0, "discard_on(JobTimeout) dropped them"
