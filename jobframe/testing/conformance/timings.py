"""Run times per job class (`jobframe.backend.timings`, ``capabilities.timings``): what
`WorkerBackend.complete` counts from `Outcome.runtime` and `Inspector.timings` answers.

Real jobs of known durations (they sleep) give the counts per class, the failures and a lower
bound on every run; outcomes written straight to the worker backend give exact buckets and
percentiles, and show that a claim no longer held (taken back by the reaper) is not counted.
On a durable backend, runs in two worker processes are summed in the one answer.
"""

from __future__ import annotations

import time

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import Inspector
from jobframe.backend.timings import BUCKETS_MS, ClassTiming, bucket_of, empty
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
)
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import RecordingJob, read
from jobframe.testing.timing_jobs import TIMING_JOBS, OtherTimedJob, TimedJob
from jobframe.testing.workers import wait_until

ERROR = {"class": "ValueError", "message": "boom", "traceback": "", "reason": "x"}
TIMED = "jobframe.conformance.TimedJob"
OTHER = "jobframe.conformance.OtherTimedJob"


def _minute() -> int:
    return int(time.time() // 60)


def summed(
    inspector: Inspector, since: int, until: int | None = None, job_class: str | None = None
) -> dict[str, ClassTiming]:
    """`Inspector.timings` of the range, summed per class over its minutes."""
    found: dict[str, ClassTiming] = {}
    for timing in inspector.timings(since, until, job_class):
        assert timing.count > 0, f"a minute without runs was answered: {timing}"
        assert len(timing.buckets) == len(BUCKETS_MS) + 1, timing
        assert sum(timing.buckets) == timing.count, f"buckets do not add up to count: {timing}"
        previous = found.get(timing.job_class)
        found[timing.job_class] = timing if previous is None else previous + timing
    return found


def _counted(inspector: Inspector, since: int, want: dict[str, int]) -> dict[str, ClassTiming]:
    """Wait until the classes of ``want`` have that many runs counted (the worker writes its
    outcome after the job journals its run)."""

    def check() -> dict[str, ClassTiming] | None:
        found = summed(inspector, since)
        counts = {cls: found[cls].count if cls in found else 0 for cls in want}
        return found if counts == want else None

    return wait_until(check, 20, f"runs counted per class: {want}")  # type: ignore[no-any-return]


def _claim(backend: WorkerBackend, process: str) -> Claim:
    backend.register(ProcessInfo(process, ["*"], 1))
    claims: list[Claim] = wait_until(
        lambda: backend.fetch(process, ["*"], 1, 0.2), 10, "a ready job"
    )
    return claims[0]


class TimingTests(ConformanceBase):
    def test_real_runs_counted_per_class_with_failures(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "timings")
        inspector = require_inspector(active)
        since = _minute()
        jobframe.perform_all_later(
            [TimedJob(journal, f"a{i}", 30) for i in range(4)]
            + [TimedJob(journal, f"f{i}", 30, fail=True) for i in range(2)]
            + [OtherTimedJob(journal, f"b{i}", 120) for i in range(3)]
        )
        wait_until(lambda: len(read(journal)) >= 9, self.wait_timeout, "9 timed runs")
        found = _counted(inspector, since, {TIMED: 6, OTHER: 3})
        fast, slow = found[TIMED], found[OTHER]
        assert (fast.failed, slow.failed) == (2, 0)
        assert fast.failure_rate == pytest.approx(2 / 6)
        # a run lasts at least its sleep: no run below the bucket holding the sleep
        assert sum(fast.buckets[: bucket_of(30)]) == 0, fast
        assert sum(slow.buckets[: bucket_of(120)]) == 0, slow
        assert 6 * 30 <= fast.total_ms < 6 * (30 + 2000), fast
        assert 3 * 120 <= slow.total_ms < 3 * (120 + 2000), slow
        p50, p99 = fast.percentile(0.5), slow.percentile(0.99)
        assert p50 is not None and p99 is not None
        assert p50 >= BUCKETS_MS[bucket_of(30) - 1] and p99 >= BUCKETS_MS[bucket_of(120) - 1]
        assert slow.mean_ms > fast.mean_ms
        only = summed(inspector, since, job_class=OTHER)
        assert set(only) == {OTHER} and only[OTHER].count == 3, "the class filter"

    def test_buckets_and_percentiles_of_written_outcomes(self, quiet: QueueAdapter) -> None:
        require(quiet, "timings")
        inspector, backend = require_inspector(quiet), require_worker_backend(quiet)
        runtimes = [0.0005, 0.003, 0.003, 0.2, 0.2, 0.2, 0.2, 400.0]  # seconds
        jobframe.perform_all_later(
            [RecordingJob("/dev/null", str(n)) for n in range(len(runtimes) + 2)]
        )
        since = _minute()
        for n, runtime in enumerate(runtimes):
            claim = _claim(backend, "p-timed")
            if n == 3:
                outcome = Outcome(claim, "failed", dict(ERROR), 1, runtime=runtime,
                                  job_class="timed.Exact")  # fmt: skip
            else:
                outcome = Outcome(claim, "done", None, 1, runtime=runtime, job_class="timed.Exact")
            backend.complete("p-timed", [outcome])
        # outcomes that did not perform carry no runtime: nothing is counted for them
        backend.complete("p-timed", [Outcome(_claim(backend, "p-timed"), "expired", attempts=1)])
        backend.complete("p-timed", [Outcome(_claim(backend, "p-timed"), "dead", {}, 1)])
        backend.deregister("p-timed")
        expected = empty("timed.Exact", since)
        for runtime in runtimes:
            bucket = [0] * (len(BUCKETS_MS) + 1)
            bucket[bucket_of(runtime * 1000)] = 1
            expected += ClassTiming("timed.Exact", since, 1, 0, runtime * 1000, tuple(bucket))
        found = summed(inspector, since)
        assert set(found) == {"timed.Exact"}, found
        got = found["timed.Exact"]
        assert (got.count, got.failed, got.buckets) == (8, 1, expected.buckets)
        assert got.buckets[0] == 1 and got.buckets[-1] == 1  # the first and the open bucket
        assert got.total_ms == pytest.approx(expected.total_ms, abs=1.0)
        for q in (0.5, 0.95, 0.99, 1.0):
            assert got.percentile(q) == pytest.approx(expected.percentile(q)), q
        assert got.percentile(0.99) == BUCKETS_MS[-1]  # the open bucket answers its lower bound

    def test_a_claim_no_longer_held_is_not_counted(self, quiet: QueueAdapter) -> None:
        require(quiet, "timings")
        self.require_reaper(quiet)
        inspector, backend = require_inspector(quiet), require_worker_backend(quiet)
        RecordingJob.perform_later("/dev/null", "reaped")
        since = _minute()
        stale = _claim(backend, "p-gone")
        wait_until(lambda: backend.maintain(0.05, 3).get("requeued"), 10, "the reaper")
        backend.complete("p-gone", [Outcome(stale, "done", runtime=0.5, job_class="timed.Reaped")])
        assert summed(inspector, since) == {}, "a run whose claim was taken back was counted"
        fresh = _claim(backend, "p-new")
        backend.complete("p-new", [Outcome(fresh, "done", runtime=0.5, job_class="timed.Reaped")])
        backend.complete("p-new", [Outcome(fresh, "done", runtime=0.5, job_class="timed.Reaped")])
        backend.deregister("p-new")
        found = summed(inspector, since)
        assert found["timed.Reaped"].count == 1, "one run completed twice was counted twice"

    def test_minute_range_and_class_filter(self, quiet: QueueAdapter) -> None:
        require(quiet, "timings")
        inspector, backend = require_inspector(quiet), require_worker_backend(quiet)
        jobframe.perform_all_later([RecordingJob("/dev/null", str(n)) for n in range(3)])
        now = _minute()
        for cls in ("timed.A", "timed.B", "timed.B"):
            outcome = Outcome(_claim(backend, "p-range"), "done", runtime=0.01, job_class=cls)
            backend.complete("p-range", [outcome])
        backend.deregister("p-range")
        end = _minute()
        for timing in inspector.timings(now, end):
            assert now <= timing.minute <= end, timing
        assert {c: t.count for c, t in summed(inspector, now - 60).items()} == {
            "timed.A": 1,
            "timed.B": 2,
        }
        assert {c: t.count for c, t in summed(inspector, now, end, "timed.B").items()} == {
            "timed.B": 2
        }
        assert summed(inspector, now, end, "timed.None") == {}
        assert summed(inspector, end + 1) == {}, "minutes after the runs answered runs"
        assert summed(inspector, now - 30, now - 1) == {}, "minutes before the runs answered runs"

    @pytest.mark.slow
    def test_runs_of_two_worker_processes_are_summed(
        self, adapter: QueueAdapter, workers: WorkerHarness, journal: str
    ) -> None:
        require(adapter, "timings")
        inspector = require_inspector(adapter)
        since = _minute()
        first = workers.start(queues="timings-a", imports=[TIMING_JOBS])
        second = workers.start(queues="timings-b", imports=[TIMING_JOBS])
        for i in range(5):
            TimedJob.set(queue="timings-a").perform_later(journal, f"a{i}", 50)
            TimedJob.set(queue="timings-b").perform_later(journal, f"b{i}", 50)
        OtherTimedJob.set(queue="timings-b").perform_later(journal, "o", 50, fail=True)
        wait_until(lambda: len(read(journal)) >= 11, 60, "11 timed runs in two workers")
        assert {e["pid"] for e in read(journal)} == {first.pid, second.pid}
        found = _counted(inspector, since, {TIMED: 10, OTHER: 1})
        assert (found[TIMED].failed, found[OTHER].failed) == (0, 1)
        assert sum(found[TIMED].buckets[: bucket_of(50)]) == 0, found[TIMED]
        workers.terminate(first)
        workers.terminate(second)
        assert first.wait(30) == 0 and second.wait(30) == 0
        after = summed(inspector, since)
        assert after[TIMED].count == 10, "the counts did not survive the workers"


__all__ = ["TimingTests", "summed"]
