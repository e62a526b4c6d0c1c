"""Batches in this process's memory: `BatchedResults`, the `MemoryResults`
(`jobframe.queue_adapters.memory_results`) of the async, inline and test adapters, with batch
counting and callbacks filled into its ``_count``/``_count_enqueue`` hooks.

`MemoryBatches` is the book: it counts a job in its batch when it is enqueued (`join`), moves it
to a final counter when a final record of it is written (`finish`), seals (`seal`), and returns
the callbacks that became due so the caller enqueues them. It takes no lock: its host calls it
with the host's lock held, so a count and the record (or enqueue) that caused it are one step,
and each callback is handed out once (``fired`` is marked in that step).

Due callbacks are stored in the async adapter's job store in the very step that counted the job
that made them due (`MemoryStore.complete`). The inline and test adapters enqueue them *after*
the lock is released (`fire`): inline performs a job as it enqueues it, and that job's own
record takes the lock again. In memory nothing survives a crash, so that split loses no
guarantee; ``fired`` is marked under the lock, so each callback is handed out once.

A host writing a claim's outcome writes its retries (with `join`) before its records (with
`finish`): the next link of a chain, enqueued with its predecessor's outcome, must be counted in
the batch before the predecessor's count can bring ``pending`` to 0.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobframe.backend.results import FINAL, BatchCallback, BatchInfo, JobRecord
from jobframe.queue_adapters.memory_results import LiveState, MemoryResults

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job
    from jobframe.queue_adapters.memory_jobs import MemoryJobs

log = logging.getLogger("jobframe")
_COUNTERS = ("succeeded", "failed", "dead", "discarded", "cancelled")


@dataclass
class _Batch:
    info: BatchInfo
    callbacks: dict[str, BatchCallback]
    ttl: float
    #: job_id -> "pending" or the final counter it is in
    members: dict[str, str] = field(default_factory=dict)
    expires_at: float | None = None


class MemoryBatches:
    """Batches, their members and counts, in memory (see the module doc). Not thread-safe by
    itself: call every method with the host's lock held."""

    def __init__(self) -> None:
        self._batches: dict[str, _Batch] = {}

    def open(self, info: BatchInfo, callbacks: dict[str, BatchCallback], ttl: float) -> None:
        """`ResultStore.open_batch`: an unsealed, empty batch."""
        self._expire()
        empty = dataclasses.replace(info, total=0, pending=0, sealed=False, finished_at=None,
                                    fired=())  # fmt: skip
        self._batches[info.id] = _Batch(empty, dict(callbacks), ttl)

    def join(self, batch_id: str | None, job_id: str) -> None:
        """Count an enqueued job in its batch (nothing if it is counted already, or the batch is
        unknown)."""
        if batch_id is None:
            return
        found = self._batches.get(batch_id)
        if found is None or job_id in found.members:
            return
        found.members[job_id] = "pending"
        info = found.info
        found.info = dataclasses.replace(info, total=info.total + 1, pending=info.pending + 1)

    def finish(self, records: Iterable[JobRecord]) -> list[BatchCallback]:
        """Move the jobs of final records to their counters; the callbacks now due."""
        due: list[BatchCallback] = []
        for record in records:
            if record.batch_id is None or record.status not in FINAL:
                continue
            found = self._batches.get(record.batch_id)
            if found is None:
                continue
            old = found.members.get(record.job_id)
            if old is None or old == record.status:
                continue  # not counted in it, or counted there already
            found.members[record.job_id] = record.status
            counts = {name: getattr(found.info, name) for name in _COUNTERS}
            pending = found.info.pending
            if old == "pending":
                pending -= 1
            else:
                counts[old] -= 1
            counts[record.status] += 1
            found.info = dataclasses.replace(found.info, pending=pending, **counts)
            due += self._due(found)
        return due

    def seal(self, batch_id: str) -> list[BatchCallback]:
        """`ResultStore.seal_batch`: callbacks may fire from now on; those due now."""
        found = self._batches.get(batch_id)
        if found is None or found.info.sealed:
            return []
        found.info = dataclasses.replace(found.info, sealed=True)
        return self._due(found)

    def _due(self, found: _Batch) -> list[BatchCallback]:
        info = found.info
        if not info.sealed or info.pending:
            return []
        due: list[BatchCallback] = []
        fired = list(info.fired)
        now = time.time()
        for kind in ("on_complete", "on_success"):
            if kind in fired or kind not in found.callbacks:
                continue  # fired already, or the batch has no such callback
            if kind == "on_complete" or info.succeeded == info.total:
                fired.append(kind)
                due.append(found.callbacks[kind])
        found.info = dataclasses.replace(info, fired=tuple(fired),
                                         finished_at=info.finished_at or now)  # fmt: skip
        found.expires_at = now + found.ttl
        return due

    def get(self, batch_id: str) -> BatchInfo | None:
        """`ResultStore.batch`."""
        self._expire()
        found = self._batches.get(batch_id)
        return None if found is None else found.info

    def newest(self, offset: int = 0, limit: int = 50) -> list[BatchInfo]:
        """`ResultStore.batches`: newest first."""
        self._expire()
        infos = sorted((b.info for b in self._batches.values()), key=lambda i: -i.created_at)
        return infos[offset : offset + limit]

    def _expire(self) -> None:
        now = time.time()
        for batch_id in [
            k for k, b in self._batches.items() if b.expires_at and b.expires_at < now
        ]:
            del self._batches[batch_id]


class BatchedResults(MemoryResults):
    """`MemoryResults` with batches: its ``_count``/``_count_enqueue`` hooks count in a
    `MemoryBatches`, and due callbacks are enqueued through the adapter that owns the store.

    Parameters:
        owner: the adapter whose jobs these are (callbacks are enqueued through it).
        jobs: the async adapter's job store, sharing ``lock``: callbacks are then stored in it
            in the same step as the count that made them due.
    """

    def __init__(
        self,
        lock: threading.Lock | None = None,
        live: LiveState | None = None,
        owner: QueueAdapter | None = None,
        jobs: MemoryJobs | None = None,
    ) -> None:
        super().__init__(lock, live)
        self.book = MemoryBatches()
        self.owner = owner
        self.jobs = jobs
        self._due: list[BatchCallback] = []

    # -- the hooks of MemoryResults (lock held) ----------------------------------------------

    def _count(self, record: JobRecord) -> None:
        self._fire_locked(self.book.finish([record]))

    def _count_enqueue(self, job_id: str, batch_id: str | None) -> None:
        self.book.join(batch_id, job_id)

    def _fire_locked(self, callbacks: list[BatchCallback], later: bool = False) -> None:
        """Store due callbacks in the job store now (in the step that counted), or keep them
        for `_fire_due` (no job store; or ``later``: the seal, which enqueues through the
        adapter so an async adapter that ran no job yet starts its worker)."""
        jobs = self.jobs
        if jobs is None or (later and self.owner is not None):
            self._due += callbacks
            return
        for callback in callbacks:
            entry = jobs.new_entry(callback.id, callback.queue, callback.priority,
                                   callback.payload, None)  # fmt: skip
            jobs._add([entry], retries=True)  # a callback is written even if a lock is held

    def _fire_due(self) -> None:
        """Enqueue the callbacks kept by `_fire_locked` (lock not held: an inline adapter
        performs them now)."""
        with self.lock:
            due, self._due = self._due, []
        if due and self.owner is not None:
            fire(self.owner, due)

    # -- ResultStore ----------------------------------------------------------------------------

    def write(self, records: list[JobRecord]) -> None:
        super().write(records)
        self._fire_due()

    def open_batch(self, batch: BatchInfo, callbacks: dict[str, BatchCallback], ttl: float) -> None:
        with self.lock:
            self.book.open(batch, callbacks, ttl)

    def seal_batch(self, batch_id: str) -> None:
        with self.lock:
            self._fire_locked(self.book.seal(batch_id), later=True)
        self._fire_due()

    def batch(self, batch_id: str) -> BatchInfo | None:
        with self.lock:
            return self.book.get(batch_id)

    def batches(self, offset: int = 0, limit: int = 50) -> list[BatchInfo]:
        with self.lock:
            return self.book.newest(offset, limit)


def write_and_follow(results: MemoryResults, job: Job, record: JobRecord) -> None:
    """Write the record of ``job`` performed in process (inline, test adapters), and if it is a
    chain link enqueue the next link when it succeeded, or record the rest ``cancelled`` when
    it ended for good (a worker does this in `jobframe.worker.chaining`).

    The next link is counted in the batch before the record is written (as a worker writes
    it with the outcome): the predecessor's count must not finish the batch before it."""
    from jobframe.tracking.chains import cancelled_records, next_link

    link = next_link(job) if job.chain and record.status == "succeeded" else None
    if link is not None and link.batch_id is not None:
        with results.lock:
            results._count_enqueue(link.job_id, link.batch_id)
    results.write([record])
    if link is not None:
        link._enqueue(retrying=True)  # its predecessor succeeded: no refusal, no commit hold
    elif job.chain and record.status in FINAL:
        results.write(cancelled_records(job, record.status))


def fire(adapter: QueueAdapter, callbacks: list[BatchCallback]) -> None:
    """Enqueue due callbacks through ``adapter`` (call without holding the store's lock)."""
    from jobframe.job.base import Job

    for callback in callbacks:
        try:
            job: Job = Job.deserialize(json.loads(callback.payload))
            adapter.enqueue(job)
        except Exception:  # one bad callback must not stop the count that fired it
            log.exception("enqueueing batch callback %s failed", callback.job_id)


__all__ = ["BatchedResults", "MemoryBatches", "fire", "write_and_follow"]
