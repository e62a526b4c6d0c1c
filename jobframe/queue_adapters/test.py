"""The test adapter: records enqueued jobs and performs them only when a test asks.

Every job is round-tripped through the real JSON wire format when it is recorded, so a test fails
where production would (an argument that cannot be serialized, a payload that cannot be read back).
``@jobframe.unique`` is honoured too, so a test sees a duplicate skipped (or raised) as in
production: a recorded job holds its lock while it waits in ``enqueued_jobs`` (and while it is
performed, for ``until="finished"``), until the lock's ``for_`` lapses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobframe import registry
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.payload import check_raw
from jobframe.errors import DuplicateJobError
from jobframe.hookspecs import hookimpl
from jobframe.log_values import loggable_repr
from jobframe.queue_adapters.memory_batches import BatchedResults
from jobframe.queue_adapters.memory_results import MemoryResults, perform_recorded
from jobframe.recurrence.memory import MemoryRecurring, memory_recurring

if TYPE_CHECKING:
    from jobframe.backend.inspector import State
    from jobframe.job.base import Job


@dataclass
class EnqueuedJob:
    """One recorded job: its payload as a backend would store it, and readable fields."""

    payload: dict[str, Any]
    at: datetime | None
    _decoded: tuple[tuple[Any, ...], dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def job_class(self) -> type[Job]:
        return registry.lookup(self.payload["job_class"])

    @property
    def job_id(self) -> str:
        return str(self.payload["job_id"])

    @property
    def queue(self) -> str:
        return str(self.payload["queue_name"])

    @property
    def priority(self) -> int | None:
        priority: int | None = self.payload["priority"]
        return priority

    def _decode(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self._decoded is None:
            from jobframe import arguments

            args, kwargs = arguments.deserialize(self.payload["arguments"], self.payload["kwargs"])
            self._decoded = (tuple(args), kwargs)
        return self._decoded

    @property
    def args(self) -> tuple[Any, ...]:
        return self._decode()[0]

    @property
    def kwargs(self) -> dict[str, Any]:
        return self._decode()[1]

    @property
    def job(self) -> Job:
        """A fresh job object built from the payload."""
        from jobframe.job.base import Job

        job: Job = Job.deserialize(self.payload)
        return job

    @property
    def unique(self) -> dict[str, Any] | None:
        """The payload's ``flow.unique`` (key, until, expires_at), if the job is unique."""
        unique: dict[str, Any] | None = (self.payload.get("flow") or {}).get("unique")
        return unique

    def describe(self) -> str:
        try:
            args = ", ".join(
                [
                    *map(loggable_repr, self.args),
                    *(f"{k}={loggable_repr(v)}" for k, v in self.kwargs.items()),
                ]
            )
        except Exception as exc:  # a failing decode must not hide the listing
            args = f"<undecodable: {exc}>"
        when = f" at {self.at.isoformat()}" if self.at else ""
        name = self.payload["job_class"]
        return f"{name}({args}) queue={self.queue!r} priority={self.priority}{when}"


@dataclass(frozen=True)
class RawEnqueued:
    """One payload stored by ``enqueue_raw``: kept as given, never decoded or performed."""

    id: str
    queue: str
    payload: bytes


Filter = Callable[[EnqueuedJob], bool]


class TestAdapter(QueueAdapter):
    """Records jobs in ``enqueued_jobs``; performs them when asked (``perform_enqueued``)."""

    __test__ = False  # not a pytest test class
    name = "test"
    capabilities = Capabilities(
        bulk=True,
        raw_payloads=True,
        recurring=True,
        unique=True,
        results=True,
        batches=True,
        chains=True,
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.enqueued_jobs: list[EnqueuedJob] = []
        self.performed_jobs: list[EnqueuedJob] = []
        self._running: list[EnqueuedJob] = []  # being performed: holds an until="finished" lock
        self._recording = threading.Lock()  # a unique check and its record are one step
        self.raw_enqueued: list[RawEnqueued] = []  # what enqueue_raw was given, in order
        self.perform_immediately: Filter | None = (
            None  # set: matching jobs run as they are enqueued
        )
        #: records of the jobs performed here: ``job.status()`` and ``job.result()`` in tests
        self._results = BatchedResults(live=self._live, owner=self)

    def results(self) -> MemoryResults:
        """Status and records of the jobs recorded and performed here."""
        return self._results

    def _live(self, job_id: str) -> State | None:
        """A recorded job waits: ``scheduled`` when due later, else ``ready``."""
        now = datetime.now(UTC)
        for record in list(self.enqueued_jobs):
            if record.job_id == job_id:
                return "scheduled" if record.at is not None and record.at > now else "ready"
        return None

    def enqueue(self, job: Job) -> None:
        self._record(job, None)

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        self._record(job, timestamp)

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        count = 0
        for job in jobs:
            try:
                self._record(job, job.scheduled_at)
            except DuplicateJobError as exc:  # a duplicate is left out, as a backend does
                job.enqueue_error = exc
                continue
            job.successfully_enqueued = True
            count += 1
        return count

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Record ``payload`` in ``raw_enqueued`` (see `QueueAdapter.enqueue_raw`); it is
        neither decoded nor performed, so a test can assert what a producer wrote."""
        name, data = check_raw(queue, payload)
        record = RawEnqueued(f"raw-{len(self.raw_enqueued)}-{new_id()}", name, data)
        self.raw_enqueued.append(record)
        return record.id

    def _record(self, job: Job, at: datetime | None) -> None:
        """Record ``job`` (or perform it now, see `perform_immediately`).

        Raises:
            DuplicateJobError: another recorded job holds its unique lock; nothing recorded.
        """
        payload = json.loads(json.dumps(job.serialize(), allow_nan=False))
        record = EnqueuedJob(payload, at)
        immediately = self.perform_immediately is not None and self.perform_immediately(record)
        with self._recording:
            holder = self._holder(record)
            if holder is not None:
                key = (record.unique or {}).get("key", "")
                raise DuplicateJobError(
                    f"{record.payload['job_class']} (Job ID: {record.job_id}) was not enqueued: "
                    f"job {holder} holds its unique lock {key!r} (@jobframe.unique); perform or "
                    "clear that job first (jobs.perform_enqueued_jobs(), "
                    "jobs.clear_enqueued_jobs())",
                    key,
                )
            if not immediately:
                self.enqueued_jobs.append(record)
            batch_id = getattr(job, "batch_id", None)  # set by jobframe.tracking.batches
            if batch_id is not None:
                with self._results.lock:
                    self._results._count_enqueue(job.job_id, batch_id)
        if immediately:
            self.perform(record)

    def _holder(self, record: EnqueuedJob) -> str | None:
        """The ``job_id`` of another recorded job holding ``record``'s unique lock."""
        unique = record.unique
        if unique is None:
            return None
        now = time.time()
        for other in [*self.enqueued_jobs, *self._running]:
            lock = other.unique
            if lock is None or lock["key"] != unique["key"] or other.job_id == record.job_id:
                continue  # another key, or its own retry
            if lock["expires_at"] > now and _holds(other, lock["until"], other in self._running):
                return other.job_id
        return None

    def perform(self, record: EnqueuedJob) -> None:
        """Perform one recorded job (it counts as performed even if it raises)."""
        self.performed_jobs.append(record)
        self._running.append(record)
        try:
            perform_recorded(self._results, record.payload)
        finally:
            self._running.remove(record)

    def perform_enqueued(
        self, matches: Filter, at: datetime | None = None, limit: int = 10_000
    ) -> int:
        """Perform matching jobs, including those enqueued meanwhile, until none is left.

        Parameters:
            at: only jobs due by then (scheduled ones later than ``at`` stay enqueued).
            limit: a guard against a job that re-enqueues itself forever.
        Returns: how many jobs were performed.
        """
        count = 0
        while True:
            record = next((r for r in self.enqueued_jobs if matches(r) and _due(r, at)), None)
            if record is None:
                return count
            if count >= limit:
                raise RuntimeError(
                    f"performed {limit} jobs and more keep coming; is one re-enqueuing itself?"
                )
            self.enqueued_jobs.remove(record)
            count += 1
            self.perform(record)

    def clear(self) -> None:
        self.enqueued_jobs.clear()
        self.performed_jobs.clear()
        self.raw_enqueued.clear()
        self._results.clear()

    def recurring(self) -> MemoryRecurring:
        """Tick marks kept in this process: schedulers in it claim each tick once."""
        return memory_recurring(self)


def _holds(record: EnqueuedJob, until: str, running: bool) -> bool:
    """Whether ``record`` still holds its lock: until its ``until`` point, ``scheduled`` passed
    once it is due, ``started`` once it is performed, ``finished`` once that ended."""
    if running:
        return until == "finished"
    return until != "scheduled" or (record.at is not None and record.at > datetime.now(UTC))


def _due(record: EnqueuedJob, at: datetime | None) -> bool:
    return at is None or record.at is None or record.at <= at


@hookimpl
def register_adapters(register: Any) -> None:
    register("test", TestAdapter)
