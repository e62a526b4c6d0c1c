"""`QueueAdapter`: the contract every queue adapter implements, in-process or not.

Two methods are required, as in Active Job: `enqueue` and `enqueue_at`. `enqueue_all` and
`enqueue_each` have defaults that loop; backends that can do better (one pipeline, one multi-row
insert) override them. The
optional parts have defaults that say "not here": `worker_backend` and `inspector` return None,
`check` (for ``jobframe doctor``) finds nothing. `capabilities` lets the job layer refuse a
request the backend cannot honour at enqueue time, with `jobframe.UnsupportedError`, instead of
silently ignoring it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from jobframe.backend.capabilities import Capabilities, unsupported
from jobframe.errors import DuplicateJobError

if TYPE_CHECKING:
    from jobframe.backend.inspector import Inspector
    from jobframe.backend.recurring import RecurringStore
    from jobframe.backend.results import ResultStore
    from jobframe.backend.worker import WorkerBackend
    from jobframe.doctor import Problem
    from jobframe.job.base import Job


class QueueAdapter(abc.ABC):
    """Base class of queue adapters.

    An adapter receives jobs that are already validated and serialized (``job.serialize()`` is
    safe to call and cheap to repeat), and only requests its `capabilities` allow: the job layer
    has refused the others. It MUST:

    - on success, have stored the job so that it runs at least once (or, inline, have run it),
      and set ``job.provider_job_id`` when the backend has its own id;
    - on failure, raise (the job layer wraps the error in `jobframe.EnqueueError`, unless
      ``capabilities.performs_in_caller``) and have written nothing: an enqueue is never silently
      dropped, and never half-written;
    - be safe to call from several threads at once.
    """

    #: The name the adapter is registered under (``queue_adapter = "redis"``); shown in errors.
    name: ClassVar[str] = ""
    #: What this backend can do; the job layer refuses the rest at enqueue.
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abc.abstractmethod
    def enqueue(self, job: Job) -> None:
        """Make ``job`` ready to run as soon as a worker is free, behind the jobs already ready
        on its queue at the same priority (FIFO within a priority when
        ``capabilities.priority``)."""

    @abc.abstractmethod
    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        """Make ``job`` run no earlier than ``timestamp`` (a timezone-aware UTC datetime).

        Called only when ``capabilities.delay``. A due job MUST become ready once, however many
        workers promote scheduled jobs (one atomic step moves it)."""

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        """Enqueue many jobs; return how many were accepted and mark each job's outcome.

        The default loops over `enqueue`/`enqueue_at`. With ``capabilities.bulk`` the adapter
        MUST write the whole batch in one round trip (a pipeline, a multi-row insert), all or
        nothing. With ``capabilities.unique``, a duplicate (`jobframe.backend.flow`) is left out,
        its ``enqueue_error`` a `jobframe.DuplicateJobError`, and the others written."""
        count = 0
        for job in jobs:
            try:
                if job.scheduled_at is not None:
                    self.enqueue_at(job, job.scheduled_at)
                else:
                    self.enqueue(job)
            except DuplicateJobError as exc:  # @jobframe.unique: that one is left out
                job.enqueue_error = exc
                continue
            job.successfully_enqueued = True
            count += 1
        return count

    def enqueue_each(self, jobs: Sequence[Job]) -> list[Exception | None]:
        """Enqueue every job on its own, as `enqueue` / `enqueue_at` would (by its
        ``scheduled_at``), and return each one's outcome: None when it was written, else the
        exception that refused that job alone. The job layer uses it for the jobs of
        concurrent callers (`Job.aenqueue` from many coroutines), each of whom gets its own
        outcome, not for a batch that stands or falls together (`enqueue_all`).

        The default calls them one by one (each in its caller's context variables); an adapter
        that can send several writes in one round trip, each acknowledged on its own (Redis: one
        pipeline of scripts), overrides it. An override is called once for all the jobs, outside
        their callers' contexts: an adapter whose writes read context variables keeps the
        default."""
        outcomes: list[Exception | None] = []
        for job in jobs:
            try:
                if job.scheduled_at is not None:
                    self.enqueue_at(job, job.scheduled_at)
                else:
                    self.enqueue(job)
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Store ``payload`` exactly as given, undecoded, as a ready job on ``queue``; return the
        backend's id for it.

        The tool for tests (what does a worker make of these bytes?), migrations (moving stored
        payloads between backends) and foreign producers (another language writing jobs). A
        worker decodes the bytes when it takes the job; bytes that cannot become a job go to the
        dead set with the reason, and the worker goes on. ``queue`` is taken as is (no
        ``queue_name_prefix``) and must be a valid queue name.

        Raises:
            InvalidOptionError: ``queue`` is not a valid queue name.
            TypeError: ``payload`` is not bytes.
            EnqueueError: the backend did not take it.
            UnsupportedError: the adapter keeps no store to write to (the inline adapter): its
                ``capabilities.raw_payloads`` is False and it keeps this default.
        """
        raise unsupported(self, "raw_payloads")

    def worker_backend(self) -> WorkerBackend | None:
        """The storage side `jobframe work` runs against, or None when this adapter keeps no
        queue that another process could work (inline, test: their jobs run where they are
        enqueued). An adapter that has one overrides this with its precise return type, so mypy
        checks that backend against `WorkerBackend`."""
        return None

    def inspector(self) -> Inspector | None:
        """What the CLI's ``queues|jobs|retry|discard`` and the dashboard read through, or None
        when the adapter keeps nothing to inspect. Overridden, like `worker_backend`, with the
        precise return type."""
        return None

    def recurring(self) -> RecurringStore | None:
        """Where the schedulers of recurring tasks claim ticks (`RecurringStore`), or None when
        this adapter cannot run recurring tasks; given exactly when ``capabilities.recurring``.
        Overridden, like `worker_backend`, with the precise return type."""
        return None

    def results(self) -> ResultStore | None:
        """Where job status, results, progress and batches are kept (`ResultStore`), or None;
        given exactly when ``capabilities.results``. One store per adapter instance (the same
        object on every call). Overridden with the precise return type."""
        return None

    def check(self) -> list[Problem]:
        """What is wrong with the backend this adapter writes to, for ``jobframe doctor`` and the
        WARNING ``jobframe work`` logs at start: settings that lose jobs, missing tables, an
        unreachable server. Each `jobframe.doctor.Problem` names the fix.

        Never raises for a backend fault (report it as a problem) and never puts a password
        in a problem. In-process adapters have nothing to check: the default finds nothing.
        """
        return []

    def shutdown(self, timeout: float | None = None) -> None:  # noqa: B027 - optional hook
        """Release resources (threads, connections). Called at interpreter exit and by tests."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or ''}>".replace(" >", ">")
