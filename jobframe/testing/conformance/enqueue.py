"""Enqueue semantics every adapter shows: arguments, queue and priority, bulk, concurrent
coroutines, scheduling, unique job ids, ``async def perform``, a failing job, bad arguments and
raw payloads."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance.base import ConformanceBase, require
from jobframe.testing.conformance_jobs import AsyncRecordingJob, RecordingJob, read

SAMPLE_VALUES: tuple[Any, ...] = (
    1,
    2.5,
    "text",
    None,
    True,
    [1, [2]],
    (3, 4),
    {"a": 1},
    {1: "int key"},
    frozenset({1, 2}),
    Decimal("1.10"),
    UUID("12345678-1234-5678-1234-567812345678"),
    timedelta(seconds=90),
    b"\x00bytes",
)


class EnqueueTests(ConformanceBase):
    """What every adapter must do when a job is enqueued; the jobs run through ``drain``."""

    def test_job_runs_once_with_its_arguments(self, active: QueueAdapter, journal: str) -> None:
        job = RecordingJob.perform_later(journal, "args", *SAMPLE_VALUES)
        assert job.successfully_enqueued
        [entry] = self._wait_for(active, journal, 1)
        assert entry["values"] == repr(SAMPLE_VALUES)
        assert entry["job_id"] == job.job_id
        assert entry["executions"] == 1

    def test_queue_and_priority_reach_the_job(self, active: QueueAdapter, journal: str) -> None:
        priority = 7 if type(active).capabilities.priority else None
        job = RecordingJob.set(queue="conformance", priority=priority).perform_later(
            journal, "queue"
        )
        [entry] = self._wait_for(active, journal, 1)
        assert entry["queue"] == job.queue_name and job.queue_name.endswith("conformance")
        assert entry["priority"] == priority

    def test_bulk_enqueue_runs_every_job(self, active: QueueAdapter, journal: str) -> None:
        jobs = [RecordingJob(journal, f"bulk-{i}") for i in range(25)]
        assert jobframe.perform_all_later(jobs) == 25
        assert all(job.successfully_enqueued for job in jobs)
        entries = self._wait_for(active, journal, 25)
        assert sorted(e["tag"] for e in entries) == sorted(f"bulk-{i}" for i in range(25))
        assert len({e["job_id"] for e in entries}) == 25

    def test_scheduled_job_waits_until_due(self, active: QueueAdapter, journal: str) -> None:
        if not type(active).capabilities.delay:
            with pytest.raises(jobframe.UnsupportedError, match="cannot delay jobs"):
                RecordingJob.set(wait=1).perform_later(journal, "late")
            return
        enqueued = time.time()
        late = RecordingJob.set(wait=timedelta(seconds=1.5)).perform_later(journal, "late")
        at = datetime.now(UTC) + timedelta(seconds=2)
        RecordingJob.set(wait_until=at).perform_later(journal, "at")
        RecordingJob.perform_later(journal, "now")
        assert late.scheduled_at is not None
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "now")
        assert not [e for e in read(journal) if e["tag"] == "late" and e["ran_at"] < enqueued + 1.4]
        [entry] = self._wait_for(active, journal, 1, lambda e: e["tag"] == "late")
        assert entry["ran_at"] >= late.scheduled_at.timestamp() - 0.05
        [entry] = self._wait_for(active, journal, 1, lambda e: e["tag"] == "at")
        assert entry["ran_at"] >= at.timestamp() - 0.05, "a wait_until job ran early"

    def test_retry_on_runs_again_until_success(self, active: QueueAdapter, journal: str) -> None:
        RecordingJob.perform_later(journal, "flaky", fail_times=2)
        entries = self._wait_for(active, journal, 3)
        assert [e["executions"] for e in entries] == [1, 2, 3]
        assert len({e["job_id"] for e in entries}) == 1

    def test_a_failing_job_does_not_stop_the_adapter(
        self, active: QueueAdapter, journal: str
    ) -> None:
        if type(active).capabilities.performs_in_caller:
            with pytest.raises(RuntimeError, match="fails on purpose"):
                RecordingJob.perform_later(journal, "broken", raise_always=True)
        else:
            RecordingJob.perform_later(journal, "broken", raise_always=True)
        RecordingJob.perform_later(journal, "after")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "after")

    def test_unserializable_argument_enqueues_nothing(
        self, active: QueueAdapter, journal: str
    ) -> None:
        with pytest.raises(jobframe.SerializationError, match=r"args\[2\]"):
            RecordingJob.perform_later(journal, "bad", object())
        RecordingJob.perform_later(journal, "good")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "good")
        assert [e["tag"] for e in read(journal)] == ["good"]

    def test_raw_payloads_never_stop_good_jobs(self, active: QueueAdapter, journal: str) -> None:
        """``enqueue_raw`` stores any bytes; those that are no job never stop the good ones."""
        require(active, "raw_payloads")
        hostile = [b"[" * 1000 + b"]" * 1000, b"\xff\xfe{{", b"[1, 2]", b'{"job_class": 5}', b""]
        ids = [active.enqueue_raw("conformance", payload) for payload in hostile]
        assert all(isinstance(id, str) and id for id in ids) and len(set(ids)) == len(ids)
        with pytest.raises(jobframe.InvalidOptionError):
            active.enqueue_raw("", b"{}")
        with pytest.raises(TypeError, match="takes bytes"):
            active.enqueue_raw("conformance", "text")  # type: ignore[arg-type]
        RecordingJob.set(queue="conformance").perform_later(journal, "after-raw")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "after-raw")

    def test_every_enqueue_gets_its_own_job_id(self, active: QueueAdapter, journal: str) -> None:
        jobs = [RecordingJob.perform_later(journal, f"id-{i}") for i in range(5)]
        jobs += [RecordingJob(journal, f"bulk-id-{i}") for i in range(5)]
        jobframe.perform_all_later(jobs[5:])
        entries = self._wait_for(active, journal, 10)
        assert len({job.job_id for job in jobs}) == 10
        assert sorted(e["job_id"] for e in entries) == sorted(job.job_id for job in jobs)
        provider_ids = [job.provider_job_id for job in jobs if job.provider_job_id is not None]
        assert len(set(provider_ids)) == len(provider_ids), "two enqueues share a provider id"

    def test_coroutines_enqueueing_at_once_each_get_their_own_job(
        self, active: QueueAdapter, journal: str
    ) -> None:
        """Concurrent ``aperform_later`` callers share trips (`jobframe.job.gathering`), and
        with an adapter that overrides `QueueAdapter.enqueue_each`, round trips: each still
        gets its own job, written once."""

        async def produce() -> list[RecordingJob]:
            calls = (RecordingJob.aperform_later(journal, f"co-{i}") for i in range(20))
            return list(await asyncio.gather(*calls))

        jobs = asyncio.run(produce())
        assert all(job.successfully_enqueued for job in jobs)
        entries = self._wait_for(active, journal, 20)
        assert sorted(e["job_id"] for e in entries) == sorted(job.job_id for job in jobs)
        provider_ids = [job.provider_job_id for job in jobs if job.provider_job_id is not None]
        assert len(set(provider_ids)) == len(provider_ids), "two enqueues share a provider id"

    def test_enqueue_each_reports_each_outcome(self, quiet: QueueAdapter) -> None:
        """`QueueAdapter.enqueue_each`: every job written on its own, one outcome per job."""
        jobs = [RecordingJob("/dev/null", f"each-{i}") for i in range(3)]
        later = RecordingJob("/dev/null", "later")
        if type(quiet).capabilities.delay:
            later.scheduled_at = later.now() + timedelta(hours=1)
        assert quiet.enqueue_each([*jobs, later]) == [None] * 4
        provider_ids = [job.provider_job_id for job in [*jobs, later] if job.provider_job_id]
        assert len(set(provider_ids)) == len(provider_ids)

    def test_async_perform_is_awaited(self, active: QueueAdapter, journal: str) -> None:
        job = AsyncRecordingJob.perform_later(journal, "async")
        [entry] = self._wait_for(active, journal, 1)
        assert (entry["job_id"], entry["tag"], entry["in_loop"]) == (job.job_id, "async", True)

    def test_bulk_enqueue_is_declared_and_keeps_each_outcome(self, quiet: QueueAdapter) -> None:
        """``Capabilities.bulk``: one call for many jobs, each marked enqueued, with a delay too."""
        require(quiet, "bulk")
        jobs = [RecordingJob("/dev/null", f"b-{i}") for i in range(3)]
        later = RecordingJob("/dev/null", "later")
        if type(quiet).capabilities.delay:
            later.scheduled_at = later.now() + timedelta(hours=1)
        assert quiet.enqueue_all([*jobs, later]) == 4
        assert all(job.successfully_enqueued for job in [*jobs, later])
