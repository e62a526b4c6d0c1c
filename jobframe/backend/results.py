"""`ResultStore`: what a backend keeps about jobs by ``job_id`` (DESIGN.md 6.4): status, stored
results, progress, and batches with their callbacks.

The core (`jobframe.results`) decides *what* a record says and encodes it (``JobRecord.data``,
JSON written and read only by the core); a backend stores records, counts batches and wakes
waiters. Records reach the backend two ways:

- in `jobframe.backend.worker.Outcome.records`, which `WorkerBackend.complete` writes **in the same
  atomic step** as the claim's outcome (so a SIGKILL never leaves a job finished without its
  record, nor a batch counted twice);
- through `ResultStore.write`, for what ends outside a claim (the in-process adapters).

A backend that declares ``capabilities.results`` returns a `ResultStore` from
``adapter.results()`` and MUST, as the conformance suite checks:

- **Status from any process.** `ResultStore.status` finds a job by its ``job_id`` while it
  waits (``scheduled``, ``ready``, ``blocked``), runs (``running``, with its progress), sits in
  the dead set (``dead``), and after it ended (its last `JobRecord`), in O(1) round trips,
  whatever the number of jobs stored. A retry or a continuation re-enqueued under the same
  ``job_id`` is the same job: the live state wins, the last record stays readable beside it.
- **Records expire.** A record is kept ``ttl`` seconds after it was written, then removed by the
  backend itself (Redis ``EXPIRE``; SQL: `purge`, which `WorkerBackend.maintain` calls in
  bounded batches; memory: on access). No separate cron.
- **Waiting is woken.** `wait` returns as soon as a final record of the job is written, woken by
  the backend (Redis ``BLPOP``/``BLMOVE``, PostgreSQL ``LISTEN``, a local condition in process),
  not by polling every 100 ms. Where a backend has no cross-process wake-up (SQLite, MariaDB) it
  says so in its docstring and polls with a backoff, woken at once for writes made in its own
  process.
- **Reaped and cancelled jobs get records.** A job the reaper sends to the dead set (a poison
  pill) gets a ``dead`` record, and a waiting job `Inspector.cancel` removes a ``cancelled``
  one, in the same step, counted in its batch like any other.

With ``capabilities.batches`` it MUST also:

- **Count each job once.** Enqueueing a job whose payload names a batch (``job.batch_id``; the
  adapter reads it from the job) adds it to the batch *in the same atomic step as the enqueue*
  (``total`` and ``pending`` + 1) unless its ``job_id`` is already in the batch (a retry, a
  continuation, a job retried from the dead set: the same job).
- **Move counters on final records.** A final record (`FINAL`) with ``batch_id`` moves its job
  from ``pending`` to the counter named by its status (``succeeded``, ``failed``, ``dead``,
  ``discarded``, ``cancelled``), or, for a job already counted final (retried from the dead set
  and ended again), from its old counter to its new one. ``retrying`` moves nothing.
- **Fire callbacks exactly once.** When a sealed batch has ``pending == 0``: its ``on_complete``
  callback is enqueued once, and its ``on_success`` callback once when ``succeeded == total``
  (which a job retried from the dead set can make true later: it fires then). Enqueued in the
  same atomic step as the count that triggered it (or the seal), so a crash neither loses nor
  repeats a callback. A batch is sealed by `seal_batch` when the ``with`` block that opened it
  ends; before that, no callback fires, however many of its jobs finished.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal

from jobframe.backend.inspector import State

#: What `jobframe.job_status` answers (DESIGN.md 6.4).
#: ``retrying``: an attempt failed and a retry waits; ``failed``: it raised and no retry follows
#: (it sits in the dead set); ``dead``: it could not run (a poison pill, or it could not be
#: loaded); ``discarded``: ``discard_on`` (or ``expires_in``) dropped it; ``unknown``: never
#: seen, or its record expired.
JobStatus = Literal[
    "scheduled",
    "ready",
    "running",
    "succeeded",
    "failed",
    "retrying",
    "discarded",
    "dead",
    "cancelled",
    "unknown",
]
#: What a `JobRecord` says: how an attempt ended.
RecordStatus = Literal["succeeded", "failed", "retrying", "discarded", "dead", "cancelled"]
#: The record statuses after which the job does not run again by itself.
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "discarded", "dead", "cancelled"})
#: The counters of a batch a final record moves a job into.
BatchCounter = Literal["succeeded", "failed", "dead", "discarded", "cancelled"]


@dataclass(frozen=True)
class JobRecord:
    """What is kept about a job, by ``job_id``, once an attempt of it ended.

    ``data`` is a JSON object (bytes) that only the core reads and writes (class, queue, times,
    error, result, progress, steps); a backend stores it as it is. A backend that must write a
    record itself (a reaped poison pill, a cancelled waiting job) writes ``data`` as ``{}`` or
    with an ``error`` object (``class``, ``message``, ``reason``); the core fills in the rest.
    """

    job_id: str
    status: RecordStatus
    data: bytes
    #: seconds to keep the record from when it is written (the job's ``result_ttl`` when it
    #: stores its result, else the ``history_ttl`` setting)
    ttl: float
    #: the batch the job counts in, or None
    batch_id: str | None = None
    #: wake `ResultStore.wait` callers of this job (set for final records of jobs that store
    #: their result; a backend may wake on every final record)
    notify: bool = False


@dataclass(frozen=True)
class JobState:
    """`ResultStore.status`: where a job is, and what was kept about it."""

    job_id: str
    #: where the job is now, when it is still stored as a job (None: it is not)
    state: State | None
    #: its last record (None: none written, or expired)
    record: JobRecord | None = None
    #: the running attempt's progress (`ResultStore.progress`'s ``data``), while it runs
    progress: bytes | None = None


@dataclass(frozen=True)
class BatchCallback:
    """A callback job of a batch, serialized when the batch opens and enqueued by the backend
    (as a ready job with this provider ``id``) when the batch finishes."""

    id: str
    queue: str
    priority: int
    payload: bytes
    job_id: str


@dataclass(frozen=True)
class BatchInfo:
    """One batch and its counts. ``pending = total - (succeeded + failed + dead + discarded +
    cancelled)``."""

    id: str
    description: str | None
    created_at: float
    total: int = 0
    pending: int = 0
    succeeded: int = 0
    failed: int = 0
    dead: int = 0
    discarded: int = 0
    cancelled: int = 0
    #: the ``with`` block that opened it ended: callbacks may fire
    sealed: bool = False
    #: when ``pending`` reached 0 with the batch sealed (epoch seconds), else None
    finished_at: float | None = None
    #: the callbacks fired so far: ``"on_complete"``, ``"on_success"``
    fired: tuple[str, ...] = ()
    #: the callbacks' ``job_id`` by kind (``on_success``, ``on_complete``), for the dashboard
    callbacks: dict[str, str] = field(default_factory=dict)


class ResultStore(abc.ABC):
    """Status, results, progress and batches of one backend. Safe to call from any thread."""

    @abc.abstractmethod
    def status(self, job_id: str) -> JobState:
        """Where ``job_id`` is and its last record, in O(1) round trips (see the module doc)."""

    @abc.abstractmethod
    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """The job's final record (`FINAL`): at once if there is one, else as soon as one is
        written, woken by the backend; None if none came within ``timeout`` seconds."""

    @abc.abstractmethod
    def progress(self, job_id: str, data: bytes, ttl: float) -> None:
        """Record a running job's progress (JSON from the core), returned by `status` while the
        job runs and kept at most ``ttl`` seconds. Last write wins; cheap (one round trip)."""

    @abc.abstractmethod
    def write(self, records: list[JobRecord]) -> None:
        """Write records outside a claim, each with its batch counting and callbacks as
        `WorkerBackend.complete` does for `Outcome.records`, atomically per record."""

    # -- batches (required with capabilities.batches) ----------------------------------------

    def open_batch(self, batch: BatchInfo, callbacks: dict[str, BatchCallback], ttl: float) -> None:
        """Create an unsealed, empty batch with its serialized callbacks (keys ``on_success``,
        ``on_complete``). ``ttl``: how long the batch is kept once finished."""
        raise NotImplementedError(f"{type(self).__name__} has no batches")

    def seal_batch(self, batch_id: str) -> None:
        """The opening ``with`` block ended: from now on callbacks fire; if every job already
        finished, fire them now (atomically with the seal, once)."""
        raise NotImplementedError(f"{type(self).__name__} has no batches")

    def batch(self, batch_id: str) -> BatchInfo | None:
        """One batch's counts, or None when unknown or expired."""
        raise NotImplementedError(f"{type(self).__name__} has no batches")

    def batches(self, offset: int = 0, limit: int = 50) -> list[BatchInfo]:
        """Batches, newest first (the dashboard's and ``jobframe batches``'s list)."""
        raise NotImplementedError(f"{type(self).__name__} has no batches")

    def purge(self, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired records and finished batches past their ttl; return
        how many. The backend's `WorkerBackend.maintain` calls it; a backend whose store expires
        keys itself returns 0."""
        return 0


__all__ = [
    "FINAL",
    "BatchCallback",
    "BatchCounter",
    "BatchInfo",
    "JobRecord",
    "JobState",
    "JobStatus",
    "RecordStatus",
    "ResultStore",
]
