"""`Inspector`: what a backend shows about its jobs, the one interface the CLI and dashboard read.

Each adapter that keeps jobs returns an `Inspector` from ``adapter.inspector()``; the CLI commands
(``jobframe queues|jobs|retry|discard|pause|resume``) and the dashboard know nothing else about
the backend.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, TypedDict

from jobframe.backend.timings import ClassTiming

#: Where a job is: waiting to run, waiting for its time, claimed by a worker, or in the dead set.
#: ``blocked``: ready, but waiting for a slot of its concurrency limit
#: (`jobframe.limits_concurrency`); never on a backend without ``capabilities.concurrency_limits``
State = Literal["ready", "scheduled", "running", "dead", "blocked"]
STATES: tuple[State, ...] = ("ready", "scheduled", "running", "dead", "blocked")

#: What `Inspector.history` counts.
#: ``expired``, ``cancelled``: jobs settled so (`Status`); ``throttled``: starts the rate
#: limiter put back (`WorkerBackend.defer`)
HistoryKind = Literal["processed", "failed", "expired", "cancelled", "throttled"]
#: What `Inspector.cancel` did.
CancelResult = Literal["cancelled", "running", "unknown"]


@dataclass(frozen=True)
class QueueInfo:
    """One queue: its ready jobs, how long the oldest has waited, whether it is paused."""

    name: str
    size: int
    #: seconds since the oldest ready job was enqueued (0 when empty)
    latency: float
    paused: bool


@dataclass(frozen=True)
class JobInfo:
    """One stored job as the CLI and dashboard show it; every field but ``raw`` is decoded."""

    id: str
    state: State
    queue: str
    job_class: str | None
    job_id: str | None
    #: the serialized arguments (JSON), shown as text
    arguments: Any = None
    priority: int | None = None
    enqueued_at: datetime | None = None
    scheduled_at: datetime | None = None
    executions: int = 0
    #: ``class``, ``message``, ``traceback``, ``reason``
    error: dict[str, Any] | None = None
    #: the payload as stored (kept for undecodable ones)
    raw: bytes | None = None
    worker: str | None = None
    #: when a dead job failed (its last run); ``enqueued_at`` is when that run was enqueued
    failed_at: datetime | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """A live worker process and the ids of the jobs it holds."""

    id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    running: list[str] = field(default_factory=list)


class Stats(TypedDict, total=False):
    """`Inspector.stats`: jobs that ran on one UTC day.

    ``processed`` counts every finished run (done or failed), ``failed`` the runs that raised.
    A backend that counts nothing (the RabbitMQ plugin) leaves both out rather than claim 0;
    the dashboard then shows a dash.
    """

    processed: int
    failed: int


class Inspector(abc.ABC):
    """Reading and managing a backend's jobs.

    Every method reads or acts on the backend's current state, from any thread, and MUST NOT
    decode a payload more than `jobframe.backend.payload.load_payload` allows: an undecodable
    job is listed with its ``raw`` bytes and a ``None`` class, never an exception. In the
    managing methods ``ids=None`` with ``all=True`` acts on every match; ids that are not in the
    named state are skipped, and the count returned is what was changed.
    """

    #: whether `jobs`/`count` take ``search`` (text found in a job's stored arguments) and
    #: ``job_class`` (a substring of the class name); the dashboard filters itself otherwise
    supports_search: ClassVar[bool] = False

    # What the backend can tell. A backend that cannot know something declares it False rather
    # than answer 0 or nothing: the dashboard then shows "not recorded by this backend", and the
    # conformance suite leaves out exactly the assertions that need it.

    #: True: `stats` and `history` count every finished run (``processed``, done or failed) and
    #: every failed one, once each. False: `stats` returns ``{}`` and `history` ``{}``.
    counts_outcomes: ClassVar[bool] = True
    #: True: `pending` counts ready, scheduled and running jobs in one consistent read. False:
    #: `pending` raises (the backend cannot count the jobs its workers hold).
    counts_pending: ClassVar[bool] = True
    #: True: `workers` lists every live worker process with the ids it holds, and running jobs
    #: are listed, counted and found by `job` (state ``"running"``, with their ``worker``).
    #: False: `workers` is empty and running jobs are invisible (listed nowhere, counted 0).
    sees_workers: ClassVar[bool] = True
    #: True: `cancel` is implemented (exactly when the adapter declares ``capabilities.cancel``;
    #: the conformance suite checks), so the dashboard offers Cancel.
    cancels: ClassVar[bool] = False

    @abc.abstractmethod
    def queues(self) -> list[QueueInfo]:
        """Every queue that has jobs or is paused."""

    @abc.abstractmethod
    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        """One page of the jobs in ``state`` (on ``queue``, matching ``search``/``job_class``
        when `supports_search`), in a stable order so that pages do not overlap."""

    @abc.abstractmethod
    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        """How many jobs `jobs` would list without paging."""

    @abc.abstractmethod
    def pending(self) -> int:
        """Jobs not finished yet (ready, scheduled or running), counted in one consistent read.

        Summing ``count()`` per state is not the same: a job that moves from running to
        scheduled (a retry) between two counts is missed, and "0 left" would be wrong.
        """

    @abc.abstractmethod
    def job(self, id: str) -> JobInfo | None:
        """The job with the backend's ``id``, or None when there is none."""

    @abc.abstractmethod
    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make dead jobs ready to run again, each once; return how many."""

    @abc.abstractmethod
    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete jobs in ``state``; return how many. A waiting chain link deleted so stops
        its chain (``capabilities.chains``: `jobframe.tracking.chains.broken_records`)."""

    def cancel(self, job_id: str) -> CancelResult:
        """Cancel the job whose ``job_id`` (not the backend's id) is given.

        A ready, scheduled or blocked job is removed (its unique lock released) and counted as
        ``cancelled`` in the history: returns ``"cancelled"``. A running job is flagged, so the
        worker holding it sees `WorkerBackend.cancelled` name its claim: returns ``"running"``.
        Otherwise (finished, dead, unknown) returns ``"unknown"``. Required with
        ``capabilities.cancel``. A chain link removed so gets the ``cancelled`` records of the
        links after it (`jobframe.tracking.chains.broken_records`) in the same step.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot cancel jobs")

    @abc.abstractmethod
    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make scheduled jobs ready now; return how many."""

    @abc.abstractmethod
    def pause(self, queue: str) -> None:
        """Stop workers from fetching ``queue``'s jobs (running ones finish). Idempotent."""

    @abc.abstractmethod
    def resume(self, queue: str) -> None:
        """Let workers fetch ``queue`` again. Idempotent."""

    @abc.abstractmethod
    def clear(self, queue: str) -> int:
        """Delete ``queue``'s ready jobs; return how many (chain links stop their chains, as
        in `discard`)."""

    @abc.abstractmethod
    def workers(self) -> list[WorkerInfo]:
        """The worker processes whose heartbeat has not expired."""

    @abc.abstractmethod
    def stats(self, day: str | None = None) -> Stats:
        """Jobs that ran on ``day`` (``YYYY-MM-DD``, UTC; default today)."""

    @abc.abstractmethod
    def history(self, kind: HistoryKind, since_minute: int | None = None) -> dict[int, int]:
        """Per-minute counts (epoch minute -> jobs) of ``kind`` since ``since_minute`` (default:
        the last 24 hours). Minutes with no jobs may be left out. The dashboard's charts."""

    def timings(
        self, since_minute: int, until_minute: int | None = None, job_class: str | None = None
    ) -> list[ClassTiming]:
        """Run times per job class and minute (`jobframe.backend.timings`), for the minutes
        from ``since_minute`` to ``until_minute`` (default: now), of every class or of
        ``job_class``; minutes without runs are left out. Required with
        ``capabilities.timings``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no run times")


__all__ = [
    "STATES",
    "CancelResult",
    "HistoryKind",
    "Inspector",
    "JobInfo",
    "QueueInfo",
    "State",
    "Stats",
    "WorkerInfo",
]
