"""`WorkerBackend`: what a backend gives the worker runtime (claims, outcomes, heartbeats, upkeep).

The runtime in `jobframe.worker` knows no Redis, no SQL and no broker: it drives any backend
through these methods. Every state change of a claimed job goes through one guarded step keyed by
its `Claim` (``token``), so a job whose claim was taken back by the reaper is never also finished.
"""

from __future__ import annotations

import abc
import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from jobframe.backend.results import JobRecord

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job

#: How a claimed job ended: finished, failed (a retry may follow), dead (no retry follows),
#: expired (not started before its ``expires_in``: dropped unrun) or cancelled (`jobframe.cancel`).
#: ``expired`` and ``cancelled`` settle the claim as ``done`` does; each is counted in the
#: history under its own name.
Status = Literal["done", "failed", "dead", "expired", "cancelled"]


@dataclass(frozen=True)
class Claim:
    """One fetched job: the backend's id for it, the claim token, its queue and raw payload.

    ``token`` is unique to this claim: a job given back by the reaper and claimed again gets a new
    one, so an outcome written with the old token is ignored. ``payload`` is the bytes as stored,
    undecoded (the runtime decodes them with `jobframe.backend.payload.load_payload`).
    """

    id: str
    token: str
    queue: str
    payload: bytes


@dataclass(frozen=True)
class Outcome:
    """How a claimed job ended, written by `WorkerBackend.complete`.

    ``error`` holds ``class``, ``message``, ``traceback`` (and ``reason`` for a job the worker
    could not load) for failed and dead jobs. ``attempts`` is the job's ``executions``.
    ``retries`` are backend entries from `WorkerBackend.retry_entry`, written in the same step
    (a retry, the next link of a chain, a continuation re-enqueued). ``records`` are the
    `jobframe.backend.results.JobRecord` s to write in the same step (the job's own, and, when a
    chain link ends for good, the ``cancelled`` records of the links after it), with their batch
    counting (see `jobframe.backend.results`); empty on a backend without
    ``capabilities.results``.
    """

    claim: Claim
    status: Status
    error: dict[str, Any] | None = None
    attempts: int = 0
    retries: tuple[Any, ...] = ()
    records: tuple[JobRecord, ...] = ()
    #: seconds ``perform`` ran, for a job that performed (None: it did not: expired, unloadable,
    #: deferred); counted per class by a backend with ``capabilities.timings``
    #: (`jobframe.backend.timings`)
    runtime: float | None = None
    #: the job's class name (`jobframe.job.registry.name_of`), when known
    job_class: str | None = None


def with_records(outcome: Outcome, *records: JobRecord, retries: tuple[Any, ...] = ()) -> Outcome:
    """``outcome`` with ``records`` and ``retries`` added (what the worker's middleware do on
    every job: `dataclasses.replace` costs 3 us more per call)."""
    return Outcome(
        outcome.claim,
        outcome.status,
        outcome.error,
        outcome.attempts,
        (*outcome.retries, *retries) if retries else outcome.retries,
        (*outcome.records, *records) if records else outcome.records,
        outcome.runtime,
        outcome.job_class,
    )


@dataclass
class ProcessInfo:
    """A worker process as the backend records it (the dashboard's Workers page shows this)."""

    id: str
    queues: list[str]
    concurrency: int
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: float = field(default_factory=time.time)


class WorkerBackend(abc.ABC):
    """The storage side of a worker. Every method may be called from several threads at once.

    A backend MUST guarantee, as the conformance suite checks:

    - **At-least-once.** A fetched job stays in the store, claimed, until `complete` or `release`
      settles it; a process that dies holding claims has them given back by `maintain` (the
      reaper) once its heartbeat expired, and never while it is alive, however slow its job.
    - **One guarded transition.** `complete` and `release` act only on claims still held with
      the same token: a job is never both finished and retried, nor finished by a process whose
      claim was reaped.
    - **Poison pills end.** A job whose process crashed ``max_crashes`` times goes to the dead
      set instead of back to its queue.
    - **Paused queues are skipped** by `fetch`; their jobs stay where they are.
    """

    @abc.abstractmethod
    def register(self, process: ProcessInfo) -> None:
        """Record a live process and its first heartbeat."""

    @abc.abstractmethod
    def heartbeat(self, process_id: str) -> None:
        """Prove the process is alive. Raises if the backend is unreachable (the runtime then
        backs off and retries; it never stops on an outage)."""

    @abc.abstractmethod
    def deregister(self, process_id: str) -> None:
        """Forget a process that stopped cleanly (after its claims were completed or released)."""

    @abc.abstractmethod
    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        """Claim up to ``limit`` ready jobs, waiting up to ``timeout`` s for one to arrive.

        ``queues`` is in priority order (an earlier queue's ready jobs are taken first);
        ``["*"]`` means every queue. Paused queues are skipped. Within a queue, lower
        ``priority`` first (when the adapter declares ``capabilities.priority``), then oldest
        first. Two fetches never claim the same job. Returns early when `wake` is called.
        """

    @abc.abstractmethod
    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """Apply outcomes, each as one atomic step: the claim is settled (done: removed; failed
        or dead: recorded with its error), its retries written and its records written (with
        their batch counts and callbacks, `jobframe.backend.results`). An outcome whose claim is
        no longer held (reaped, released) is ignored, retries and records included."""

    @abc.abstractmethod
    def release(self, process_id: str, claims: list[Claim]) -> None:
        """Give claimed jobs back to their queues (shutdown), each where it was: ahead of the
        jobs enqueued after it. Not a failure: no attempt or crash is counted. A claim no longer
        held is ignored."""

    @abc.abstractmethod
    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        """Promote due scheduled jobs and reap processes whose heartbeat is older than
        ``heartbeat_timeout`` s; a reaped job that has crashed ``max_crashes`` times goes dead.

        Safe to run from every worker at once: each due job is promoted, and each dead process
        reaped, once. A job sent dead here gets a ``dead`` record (with ``capabilities.results``),
        and a chain link the ``cancelled`` records of the links after it, in the same step.
        A backend whose records need deleting also purges expired ones here, in bounded
        batches (`jobframe.backend.results.ResultStore.purge`). Returns counts, e.g.
        ``{"promoted": 3, "reaped": 1, "dead": 0}``.
        """

    @abc.abstractmethod
    def retry_entry(self, job: Job, adapter: QueueAdapter) -> object | None:
        """A retry of ``job`` that `complete` writes in the same step as its claim's outcome, or
        None when ``adapter`` does not write to this very store (the retry then goes through the
        adapter as usual)."""

    @abc.abstractmethod
    def wake(self) -> None:
        """Make fetches blocked in this process return now (used at shutdown)."""

    # -- flow control (see jobframe.backend.flow); the defaults say "not here" ----------------

    #: True: `reserve` and `defer` are implemented (exactly when the adapter declares
    #: ``capabilities.rate_limits``), so the runtime throttles rate-limited jobs.
    throttles: ClassVar[bool] = False
    #: True: `cancelled` is implemented (exactly when the adapter declares
    #: ``capabilities.cancel``), so the runtime asks it about its running jobs.
    cancels: ClassVar[bool] = False
    #: True: `complete` writes `Outcome.records` (exactly when the adapter declares
    #: ``capabilities.results``), so the runtime builds each job's record
    #: (`jobframe.worker.recording`); False: the runtime leaves ``records`` empty.
    records: ClassVar[bool] = False

    def reserve(self, key: str, interval: float) -> float:
        """Reserve the next start of rate limit ``key``, whose starts are ``interval`` seconds
        apart, and return it (epoch seconds): ``max(now, next free start)``; the next free
        start becomes that plus ``interval``. One atomic step, shared by every worker.
        Required with ``capabilities.rate_limits``."""
        raise NotImplementedError(f"{type(self).__name__} has no rate limiter")

    def defer(self, process_id: str, claim: Claim, at: float, payload: bytes) -> None:
        """Give a claimed job back as scheduled at ``at`` (epoch seconds) with ``payload`` as its
        new payload, counting no attempt and no crash, and count one ``throttled`` in the
        history; a claim no longer held is ignored. Required with ``capabilities.rate_limits``."""
        raise NotImplementedError(f"{type(self).__name__} cannot defer a claim")

    def cancelled(self, process_id: str, tokens: list[str]) -> set[str]:
        """Which of these claims (by ``token``) hold a job that `Inspector.cancel` asked to stop.
        The runtime asks about its running jobs about once a second. Required with
        ``capabilities.cancel``."""
        raise NotImplementedError(f"{type(self).__name__} cannot cancel running jobs")


__all__ = ["Claim", "Outcome", "ProcessInfo", "Status", "WorkerBackend", "with_records"]
