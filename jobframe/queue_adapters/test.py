"""The test adapter: records enqueued jobs and performs them only when a test asks.

Every job is round-tripped through the real JSON wire format when it is recorded, so a test fails
where production would (an argument that cannot be serialized, a payload that cannot be read back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe import registry
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.payload import check_raw
from jobframe.hookspecs import hookimpl
from jobframe.log_values import loggable_repr
from jobframe.recurrence.memory import MemoryRecurring, memory_recurring

if TYPE_CHECKING:
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
    capabilities = Capabilities(bulk=True, raw_payloads=True, recurring=True)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.enqueued_jobs: list[EnqueuedJob] = []
        self.performed_jobs: list[EnqueuedJob] = []
        self.raw_enqueued: list[RawEnqueued] = []  # what enqueue_raw was given, in order
        self.perform_immediately: Filter | None = (
            None  # set: matching jobs run as they are enqueued
        )

    def enqueue(self, job: Job) -> None:
        self._record(job, None)

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        self._record(job, timestamp)

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        for job in jobs:
            self._record(job, job.scheduled_at)
            job.successfully_enqueued = True
        return len(jobs)

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Record ``payload`` in ``raw_enqueued`` (see `QueueAdapter.enqueue_raw`); it is
        neither decoded nor performed, so a test can assert what a producer wrote."""
        name, data = check_raw(queue, payload)
        record = RawEnqueued(f"raw-{len(self.raw_enqueued)}-{new_id()}", name, data)
        self.raw_enqueued.append(record)
        return record.id

    def _record(self, job: Job, at: datetime | None) -> None:
        payload = json.loads(json.dumps(job.serialize(), allow_nan=False))
        record = EnqueuedJob(payload, at)
        if self.perform_immediately is not None and self.perform_immediately(record):
            self.perform(record)
        else:
            self.enqueued_jobs.append(record)

    def perform(self, record: EnqueuedJob) -> None:
        """Perform one recorded job (it counts as performed even if it raises)."""
        from jobframe.job.base import Job

        self.performed_jobs.append(record)
        Job.execute(record.payload)

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

    def recurring(self) -> MemoryRecurring:
        """Tick marks kept in this process: schedulers in it claim each tick once."""
        return memory_recurring(self)


def _due(record: EnqueuedJob, at: datetime | None) -> bool:
    return at is None or record.at is None or record.at <= at


@hookimpl
def register_adapters(register: Any) -> None:
    register("test", TestAdapter)
