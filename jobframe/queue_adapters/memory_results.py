"""`MemoryResults`: the `ResultStore` of the in-process adapters (async, inline, test).

Records and progress live in this process's memory, under one lock (the async adapter's store
shares its own, so `MemoryStore.complete` writes a job's outcome and its records in one step).
`wait` sleeps on a condition that every write notifies: a waiter wakes as soon as the record is
written, with no polling. Records expire on access, and each write also drops the records whose
ttl passed (oldest deadline first), so memory holds about ``history_ttl`` worth of jobs.

Batch counting is not here: `_count` and `_count_enqueue` are hooks that do nothing until
`jobframe.queue_adapters.memory_batches` fills them in (called with the lock held).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobframe.backend.inspector import State
from jobframe.backend.results import FINAL, JobRecord, JobState, ResultStore

if TYPE_CHECKING:
    from jobframe.job.base import Job

#: where a job is now, by ``job_id`` (called with the lock held), or None when not stored
LiveState = Callable[[str], State | None]


class MemoryResults(ResultStore):
    """Records, progress and (with `memory_batches`) batches in memory.

    Parameters:
        lock: the lock to share with the job store whose `complete` writes records (a new one
            when None).
        live: the job store's answer to "where is this job now?" (None: jobs are never stored,
            only records are).
    """

    def __init__(self, lock: threading.Lock | None = None, live: LiveState | None = None) -> None:
        self.lock = lock if lock is not None else threading.Lock()
        self.live = live
        self._written = threading.Condition(self.lock)
        self._records: dict[str, tuple[JobRecord, float]] = {}  # job_id -> (record, expires)
        self._progress: dict[str, tuple[bytes, float]] = {}
        self._expiry: list[tuple[float, str]] = []  # (expires, job_id), a heap
        #: job ids performing now, for stores without `live` (inline, test)
        self.running: set[str] = set()

    # -- ResultStore ----------------------------------------------------------------------------

    def status(self, job_id: str) -> JobState:
        with self.lock:
            now = time.time()
            state: State | None = self.live(job_id) if self.live is not None else None
            if state is None and job_id in self.running:
                state = "running"
            progress = self._progress.get(job_id) if state == "running" else None
            return JobState(
                job_id,
                state,
                self._record(job_id, now),
                progress[0] if progress is not None and progress[1] > now else None,
            )

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                record = self._record(job_id, time.time())
                if record is not None and record.status in FINAL:
                    return record
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._written.wait(remaining)

    def progress(self, job_id: str, data: bytes, ttl: float) -> None:
        with self.lock:
            self._progress[job_id] = (data, time.time() + ttl)

    def write(self, records: list[JobRecord]) -> None:
        with self.lock:
            self.write_locked(records)

    def purge(self, limit: int = 1000) -> int:
        with self.lock:
            return self._purge(time.time(), limit)

    # -- for the job stores (lock held) --------------------------------------------------------

    def write_locked(self, records: list[JobRecord] | tuple[JobRecord, ...]) -> None:
        """`write` for a caller that holds `lock` (`MemoryStore.complete`, `cancel`)."""
        if not records:
            return
        now = time.time()
        self._purge(now, 100)
        for record in records:
            expires = now + record.ttl
            self._records[record.job_id] = (record, expires)
            heapq.heappush(self._expiry, (expires, record.job_id))
            if record.status in FINAL or record.status == "retrying":
                self._progress.pop(record.job_id, None)
            self._count(record)
        self._written.notify_all()

    def _count(self, record: JobRecord) -> None:
        """Batch counting of a written record (`memory_batches`); nothing here."""

    def _count_enqueue(self, job_id: str, batch_id: str | None) -> None:
        """Batch counting of an enqueued job (`memory_batches`); nothing here."""

    def written_since(self, job_id: str, moment: float) -> bool:
        """Whether a record of ``job_id`` was written after ``moment`` (epoch seconds) and is
        still kept: a nested inline retry that already ended the job."""
        with self.lock:
            found = self._records.get(job_id)
            return found is not None and found[1] - found[0].ttl > moment

    def _record(self, job_id: str, now: float) -> JobRecord | None:
        found = self._records.get(job_id)
        if found is None:
            return None
        if found[1] <= now:
            del self._records[job_id]
            return None
        return found[0]

    def _purge(self, now: float, limit: int) -> int:
        """Drop up to ``limit`` expired records (and expired progress of their jobs)."""
        purged = 0
        while self._expiry and self._expiry[0][0] <= now and purged < limit:
            _, job_id = heapq.heappop(self._expiry)
            found = self._records.get(job_id)
            if found is not None and found[1] <= now:
                del self._records[job_id]
                purged += 1
            progress = self._progress.get(job_id)
            if progress is not None and progress[1] <= now:
                del self._progress[job_id]
        return purged

    def clear(self) -> None:
        """Forget every record and progress write (the test adapter's ``clear``)."""
        with self.lock:
            self._records.clear()
            self._progress.clear()
            self._expiry.clear()

    def __len__(self) -> int:
        """Records held (expired ones not yet dropped included)."""
        return len(self._records)


def perform_recorded(results: MemoryResults, payload: dict[str, Any]) -> Job:
    """Perform a payload in this thread, as `Job.execute` does, and write the job's record to
    ``results`` (the inline and test adapters; the async adapter's worker records through its
    outcomes). Errors propagate to the caller, as with `Job.execute`.

    A retry that ``retry_on`` ran at once, nested in this attempt (the inline adapter), has
    written the job's newer record already: this attempt's older one is then not written.
    """
    from jobframe.errors import Cancelled, SerializationError
    from jobframe.job.base import Job
    from jobframe.queue_adapters.memory_batches import write_and_follow
    from jobframe.tracking.batches import performing
    from jobframe.worker.execution import error_info
    from jobframe.worker.recording import record_for, track

    job: Job = Job.deserialize(payload)
    record: JobRecord | None = None
    track(job)
    started = time.time()
    with results.lock:
        results.running.add(job.job_id)
    try:
        try:
            with performing(job):  # the jobs it enqueues join its batch
                job.perform_now()
        except Cancelled:
            record = record_for(job, "cancelled", None)
            raise
        except Exception as exc:
            record = record_for(job, "failed", error_info(exc))
            raise
        try:
            record = record_for(job, "done", None)
        except SerializationError as exc:
            record = record_for(job, "failed", error_info(exc, "result could not be serialized"))
            raise
    finally:
        with results.lock:
            results.running.discard(job.job_id)
        if record is not None and job._skips_record():
            record = None
        if record is not None and not results.written_since(job.job_id, started):
            write_and_follow(results, job, record)  # a chain link: its next one follows
    return job


__all__ = ["LiveState", "MemoryResults", "perform_recorded"]
