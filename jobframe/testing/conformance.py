"""The adapter conformance suite: what every queue adapter, ours or a third party's, must do.

Use it by subclassing `AdapterConformance` in a test module of your adapter's distribution and
overriding the ``adapter`` fixture (and `drain` when jobs run in another process)::

    from jobframe.testing.conformance import AdapterConformance

    class TestMyAdapter(AdapterConformance):
        @pytest.fixture
        def adapter(self):
            adapter = MyAdapter(url="...")
            yield adapter
            adapter.shutdown()

        def drain(self, adapter, done, timeout):
            run_my_worker_until(done, timeout)   # or keep the default: wait for a running worker

The jobs it enqueues live in `jobframe.testing.conformance_jobs`; a worker in another process must
import that module (``jobframe work jobframe.testing.conformance_jobs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance_jobs import RecordingJob, read

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


class AdapterConformance:
    """Behaviour every adapter must show. Subclass it and override the ``adapter`` fixture."""

    #: seconds a test waits for jobs to be performed before failing
    wait_timeout: float = 20.0

    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        raise NotImplementedError("override the `adapter` fixture to return your adapter")

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        """Make enqueued jobs run until ``done()`` is true (default: wait for them to run)."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the journal a worker (maybe another process) writes

    @pytest.fixture
    def journal(self, tmp_path: Path) -> str:
        return str(tmp_path / "journal.jsonl")

    @pytest.fixture
    def active(self, adapter: QueueAdapter) -> Iterator[QueueAdapter]:
        with queue_adapters.override(adapter):
            yield adapter

    def _wait_for(
        self,
        adapter: QueueAdapter,
        journal: str,
        count: int,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
    ) -> list[dict[str, Any]]:
        def entries() -> list[dict[str, Any]]:
            return [e for e in read(journal) if where(e)]

        self.drain(adapter, lambda: len(entries()) >= count, self.wait_timeout)
        found = entries()
        assert len(found) >= count, (
            f"expected {count} performed job(s) within {self.wait_timeout}s, saw {found}"
        )
        return found

    def test_job_runs_once_with_its_arguments(self, active: QueueAdapter, journal: str) -> None:
        job = RecordingJob.perform_later(journal, "args", *SAMPLE_VALUES)
        assert job.successfully_enqueued
        [entry] = self._wait_for(active, journal, 1)
        assert entry["values"] == repr(SAMPLE_VALUES)
        assert entry["job_id"] == job.job_id
        assert entry["executions"] == 1

    def test_queue_and_priority_reach_the_job(self, active: QueueAdapter, journal: str) -> None:
        priority = 7 if active.capabilities.priority else None
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
        if not active.capabilities.delay:
            with pytest.raises(jobframe.UnsupportedError, match="cannot delay jobs"):
                RecordingJob.set(wait=1).perform_later(journal, "late")
            return
        enqueued = time.time()
        late = RecordingJob.set(wait=timedelta(seconds=1.5)).perform_later(journal, "late")
        RecordingJob.perform_later(journal, "now")
        assert late.scheduled_at is not None
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "now")
        assert not [e for e in read(journal) if e["tag"] == "late" and e["ran_at"] < enqueued + 1.4]
        [entry] = self._wait_for(active, journal, 1, lambda e: e["tag"] == "late")
        assert entry["ran_at"] >= late.scheduled_at.timestamp() - 0.05

    def test_retry_on_runs_again_until_success(self, active: QueueAdapter, journal: str) -> None:
        RecordingJob.perform_later(journal, "flaky", fail_times=2)
        entries = self._wait_for(active, journal, 3)
        assert [e["executions"] for e in entries] == [1, 2, 3]
        assert len({e["job_id"] for e in entries}) == 1

    def test_a_failing_job_does_not_stop_the_adapter(
        self, active: QueueAdapter, journal: str
    ) -> None:
        if active.capabilities.performs_in_caller:
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
        hostile = [b"[" * 1000 + b"]" * 1000, b"\xff\xfe{{", b"[1, 2]", b'{"job_class": 5}', b""]
        if not active.capabilities.raw_payloads:
            with pytest.raises(jobframe.UnsupportedError, match="cannot store raw payloads"):
                active.enqueue_raw("conformance", b"{}")
            return
        ids = [active.enqueue_raw("conformance", payload) for payload in hostile]
        assert all(isinstance(id, str) and id for id in ids) and len(set(ids)) == len(ids)
        with pytest.raises(jobframe.InvalidOptionError):
            active.enqueue_raw("", b"{}")
        with pytest.raises(TypeError, match="takes bytes"):
            active.enqueue_raw("conformance", "text")  # type: ignore[arg-type]
        RecordingJob.set(queue="conformance").perform_later(journal, "after-raw")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "after-raw")
