"""Job status, stored results and progress (DESIGN.md 6.4, `jobframe.backend.results`): every
status a job passes through, ``result()`` woken as soon as the job ends (not by a 100 ms poll),
failures as `jobframe.JobFailed`, a result that cannot be serialized failing its job, records
expiring after their ttl (the same answers from another process than the worker's:
`jobframe.testing.conformance.results_processes`).

Gated by ``Capabilities.results``. A backend that cannot wake a waiter in another process
(SQLite, MariaDB: they poll with a backoff) overrides `ResultTests.wakes_across_processes` in
its suite class to say so; the wake-up is then asserted for waiters in the worker's own
process only, and across processes the lag must stay under ``polled_wake_median`` (1 s).

That a waiter is *woken* is shown without a tight time bound: while `ResultTests.polls_slowly`
holds the backend's fallback polling to `SLOW_POLL` (5 s), waiters must be back within
``wake_median`` (1 s) of the job's end, which only a wake-up can do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

import jobframe
from jobframe import config
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.results import FINAL
from jobframe.testing.conformance.base import (
    ConformanceBase,
    not_applicable,
    require,
    require_inspector,
    require_worker_backend,
)
from jobframe.testing.conformance_jobs import CancellableJob, ExpiringJob, read
from jobframe.testing.results_jobs import (
    DroppedJob,
    FailingJob,
    ProgressJob,
    RetriedJob,
    UnstorableJob,
    UnstoredJob,
    ValueJob,
)
from jobframe.testing.workers import wait_until, worker_thread

T = TypeVar("T")


def _woken(job: Any, timeout: float) -> tuple[Any, float]:
    return job.result(timeout=timeout), time.time()


def final(job_id: str) -> bool:
    """Whether the job has ended for good (its status is a final one)."""
    return jobframe.job_status(job_id) in FINAL


class ThreadResult:
    """``call()`` run in a thread; `get` its value (or its exception)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self._box: list[tuple[bool, Any]] = []
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._box.append((True, call()))
        except BaseException as exc:
            self._box.append((False, exc))

    def done(self) -> bool:
        return bool(self._box)

    def get(self, timeout: float) -> Any:
        self._thread.join(timeout)
        assert self._box, f"the thread did not end within {timeout}s"
        ok, value = self._box[0]
        if not ok:
            raise value
        return value


#: seconds between a waiter's fallback polls while `ResultTests.polls_slowly` holds them
SLOW_POLL = 5.0


class ResultTests(ConformanceBase):
    #: the median time from a job's return to its waiter's wake-up must stay under this (s),
    #: while `polls_slowly` holds any fallback polling to `SLOW_POLL`: a waiter back this soon
    #: was woken, not polling (a bound in seconds, not milliseconds, so that a loaded machine
    #: does not fail it; the wake-up's speed itself is for benchmarks)
    wake_median: ClassVar[float] = 1.0
    #: the median wake-up lag allowed across processes where `wakes_across_processes` is False
    #: (a waiter that polls with a backoff, which must stay bounded)
    polled_wake_median: ClassVar[float] = 1.0

    @contextlib.contextmanager
    def polls_slowly(self, adapter: QueueAdapter) -> Iterator[None]:
        """Hold the backend's fallback polling of `ResultStore.wait` (if it has any) to at
        least `SLOW_POLL` seconds between checks for the block. A backend whose waiters poll
        behind their wake-ups overrides this (the SQL adapter does)."""
        yield

    def wakes_across_processes(self, adapter: QueueAdapter) -> bool:
        """Whether a waiter in another process than the worker's is woken by the backend
        (Redis, PostgreSQL) rather than polling with a backoff (SQLite, MariaDB: override this
        to say False for them; their lag is then held to `polled_wake_median` only)."""
        return True

    def _finish(self, adapter: QueueAdapter, *job_ids: str) -> None:
        """Run the enqueued jobs until every one of ``job_ids`` ended for good."""
        self.drain(adapter, lambda: all(map(final, job_ids)), self.wait_timeout)
        statuses = {id: jobframe.job_status(id) for id in job_ids}
        assert all(s in FINAL for s in statuses.values()), f"not finished: {statuses}"

    def _in_thread(self, adapter: QueueAdapter, call: Callable[[], T]) -> T:
        """``call()`` in a thread while the enqueued jobs run (the test adapter performs them
        in this one); its result once it returned."""
        thread = ThreadResult(call)
        if not type(adapter).capabilities.performs_in_caller:
            self.drain(adapter, thread.done, self.wait_timeout)
        value: T = thread.get(self.wait_timeout)
        return value

    def test_the_records_flag_matches_the_declared_capability(self, adapter: QueueAdapter) -> None:
        """The runtime builds records only for a backend whose ``complete`` writes them."""
        declared = type(adapter).capabilities
        backend = adapter.worker_backend()
        if backend is not None:
            assert backend.records == declared.results
        store = adapter.results()
        assert (store is not None) == declared.results
        if store is not None:
            assert adapter.results() is store, "results() gives one store per adapter"

    def test_a_job_without_results_support_is_refused(self, adapter: QueueAdapter) -> None:
        if type(adapter).capabilities.results:
            not_applicable(adapter, "declares Capabilities.results")
        with jobframe.queue_adapters.override(adapter), pytest.raises(jobframe.UnsupportedError):
            ValueJob.perform_later("/dev/null", 1)

    def test_status_of_waiting_jobs_and_unknown_ones(self, quiet: QueueAdapter) -> None:
        require(quiet, "results")
        assert jobframe.job_status(str(uuid.uuid4())) == "unknown"
        report = jobframe.job_report(str(uuid.uuid4()))
        assert (report.status, report.has_result, report.error) == ("unknown", False, None)
        if type(quiet).capabilities.performs_in_caller:
            return  # its jobs never wait
        ready = ValueJob.perform_later("/dev/null", 1)
        assert ready.status() == "ready"
        with pytest.raises(jobframe.ResultTimeout):
            ready.result()  # timeout None: no waiting
        with pytest.raises(jobframe.ResultTimeout):
            ready.result(timeout=0.1)
        if type(quiet).capabilities.delay:
            later = ValueJob.set(wait=3600).perform_later("/dev/null", 1)
            assert later.status() == "scheduled"

    def test_a_stored_result_comes_back_with_its_record(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "results")
        value = {"pages": [1, 2], "name": "é", "big": 2**70}
        job = ValueJob.perform_later(journal, value)
        plain = UnstoredJob.perform_later()
        self._finish(active, job.job_id, plain.job_id)
        assert job.status() == "succeeded" and job.result() == value
        assert jobframe.job_result(job.job_id, timeout=1) == value
        report = jobframe.job_report(job.job_id)
        assert report.has_result and report.result == value
        assert report.job_class == ValueJob.job_name and report.attempts == 1
        assert report.finished_at is not None and report.started_at is not None
        assert report.started_at <= report.finished_at
        assert plain.status() == "succeeded"
        with pytest.raises(jobframe.NoResultError, match="store_result = True"):
            plain.result()
        with pytest.raises(jobframe.NoResultError, match="store_result = True"):
            jobframe.job_result(plain.job_id)

    def test_a_waiter_is_woken_as_soon_as_the_job_ends(
        self, active: QueueAdapter, journal: str
    ) -> None:
        """Median time from ``perform``'s return to ``result()``'s return, over 5 jobs after a
        first one (which may open the backend's listening connection)."""
        require(active, "results")
        lags = []
        with self.polls_slowly(active):
            lags = self._wake_lags(active, journal)
        assert statistics.median(lags[1:]) < self.wake_median, f"waiters woke late: {lags}"

    def _wake_lags(self, active: QueueAdapter, journal: str) -> list[float]:
        lags = []
        for i in range(6):
            job = ValueJob.perform_later(journal, i, 0.2)
            value, woken = self._in_thread(
                active, functools.partial(_woken, job, self.wait_timeout)
            )
            assert value == i, "the waiter did not get the result"
            (entry,) = [e for e in read(journal) if e["job_id"] == job.job_id]
            lags.append(woken - entry["returned_at"])
        return lags

    def test_aresult_waits_without_blocking_the_loop(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "results")
        job = ValueJob.perform_later(journal, "async", 0.2)

        async def both() -> tuple[Any, int]:
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            try:
                return await job.aresult(timeout=self.wait_timeout), ticks
            finally:
                ticker.cancel()

        value, ticks = self._in_thread(active, lambda: asyncio.run(both()))
        assert value == "async"
        if not type(active).capabilities.performs_in_caller:
            assert ticks > 0, "the event loop was blocked while waiting"

    def test_failures_and_their_statuses(self, active: QueueAdapter) -> None:
        require(active, "results")
        failing, dropped, unstorable = FailingJob(), DroppedJob(), UnstorableJob()
        for job in (failing, dropped, unstorable):
            try:
                job.enqueue()
            except (RuntimeError, jobframe.SerializationError):
                # performed in the caller (inline), whose errors surface there
                assert type(active).capabilities.performs_in_caller
        self._finish(active, failing.job_id, dropped.job_id, unstorable.job_id)
        assert failing.status() == "failed"
        with pytest.raises(jobframe.JobFailed) as caught:
            failing.result(timeout=1)
        error = caught.value
        assert (error.job_id, error.status) == (failing.job_id, "failed")
        assert error.error_class and "RuntimeError" in error.error_class
        assert error.message == "the results job fails on purpose"
        assert error.traceback and "Traceback" in error.traceback
        assert dropped.status() == "discarded"
        with pytest.raises(jobframe.JobFailed) as caught:
            dropped.result()
        assert caught.value.status == "discarded" and caught.value.message == "dropped on purpose"
        assert unstorable.status() == "failed"
        with pytest.raises(jobframe.JobFailed) as caught:
            unstorable.result()
        assert "object" in (caught.value.message or "") and "store_result" in (
            caught.value.message or ""
        )

    def test_a_job_waiting_for_its_retry_is_retrying(self, active: QueueAdapter) -> None:
        require(active, "results")
        require(active, "delay")
        job = RetriedJob.perform_later()
        self.drain(active, lambda: job.status() == "retrying", self.wait_timeout)
        assert job.status() == "retrying"
        report = jobframe.job_report(job.job_id)
        assert report.error is not None and report.error["message"] == "retried on purpose"
        with pytest.raises(jobframe.ResultTimeout):
            job.result(timeout=0.05)

    def test_a_cancelled_waiting_job_is_cancelled(self, quiet: QueueAdapter) -> None:
        require(quiet, "results")
        require(quiet, "cancel")
        inspector = require_inspector(quiet)
        job = ValueJob.set(wait=3600).perform_later("/dev/null", 1)
        assert inspector.cancel(job.job_id) == "cancelled"
        assert job.status() == "cancelled"
        with pytest.raises(jobframe.JobFailed) as caught:
            job.result()
        assert caught.value.status == "cancelled"

    def test_a_running_job_shows_its_progress(
        self, active: QueueAdapter, journal: str, tmp_path: Path
    ) -> None:
        """Watched from another thread while it runs (in this one, on the inline and test
        adapters), then from its record (the last report kept)."""
        require(active, "results")
        gate = tmp_path / "gate"
        job = ProgressJob(journal, str(gate))

        def running() -> Any:
            report = jobframe.job_report(job.job_id)
            return report.progress is not None and (report, job.status())

        def watch() -> Any:
            try:
                return wait_until(running, self.wait_timeout, "its progress")
            finally:
                gate.touch()  # let it end whatever was seen

        watcher = ThreadResult(watch)
        job.enqueue()
        self._finish(active, job.job_id)
        report, status = watcher.get(self.wait_timeout)
        assert status == "running" and report.status == "running"
        assert report.progress == (0.5, "half way")
        assert report.started_at is not None and report.finished_at is None
        assert job.result() == "through"
        report = jobframe.job_report(job.job_id)
        assert report.status == "succeeded" and report.progress == (0.9, "almost")

    def test_jobs_ended_unrun_have_records(self, adapter: QueueAdapter, journal: str) -> None:
        """A job that expired before a worker took it is ``discarded`` (reason ``expired``); a
        payload naming a ``job_id`` that cannot become a job is ``dead`` with its reason."""
        require(adapter, "results")
        require(adapter, "expiry")
        backend = require_worker_backend(adapter)
        with jobframe.queue_adapters.override(adapter):
            late = ExpiringJob.perform_later(journal, "late")
            lost = str(uuid.uuid4())
            raw = {**UnstoredJob().serialize(), "job_class": "nowhere.Missing", "job_id": lost}
            if type(adapter).capabilities.raw_payloads:
                adapter.enqueue_raw("default", json.dumps(raw).encode())
            time.sleep(0.4)  # past ExpiringJob.expires_in (0.3 s), before any worker runs
            with worker_thread(backend, self.worker_options()):
                wait_until(lambda: late.status() == "discarded", self.wait_timeout, "expired")
                if type(adapter).capabilities.raw_payloads:
                    wait_until(lambda: jobframe.job_status(lost) == "dead", 10, "a dead record")
            assert (jobframe.job_report(late.job_id).error or {}).get("reason") == "expired"
            if type(adapter).capabilities.raw_payloads:
                report = jobframe.job_report(lost)
                assert (report.error or {}).get("reason") == "unknown job class"
                assert report.job_class == "nowhere.Missing"

    def test_a_running_job_cancelled_is_cancelled(self, active: QueueAdapter, journal: str) -> None:
        require(active, "results")
        require(active, "cancel")
        require_worker_backend(active)
        job = CancellableJob.perform_later(journal, "running")
        wait_until(lambda: job.status() == "running", self.wait_timeout, "the job to run")
        assert jobframe.cancel(job.job_id) == "running"
        wait_until(lambda: job.status() == "cancelled", self.wait_timeout, "it to be cancelled")
        assert jobframe.job_report(job.job_id).job_class == CancellableJob.job_name

    def test_records_expire_after_their_ttl(self, active: QueueAdapter, journal: str) -> None:
        """``result_ttl`` for a stored result, ``history_ttl`` for the rest (1 s here)."""
        require(active, "results")
        config.configure(history_ttl=1)
        try:
            kept = ValueJob.set(result_ttl=1).perform_later(journal, 1)
            plain = UnstoredJob.perform_later()
            self._finish(active, kept.job_id, plain.job_id)
            assert kept.result() == 1
            wait_until(
                lambda: kept.status() == plain.status() == "unknown", 10, "the records to expire"
            )
            with pytest.raises(jobframe.ResultTimeout):
                kept.result()
        finally:
            config.configure(history_ttl=86400)
