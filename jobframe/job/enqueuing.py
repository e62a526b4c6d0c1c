"""Putting jobs on a queue: ``perform_later``, ``enqueue``, ``retry_job`` and bulk enqueue."""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from jobframe import arguments, notifications, transaction_scopes
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import unsupported
from jobframe.errors import Abort, DuplicateJobError, EnqueueError, JobframeError
from jobframe.job.callbacks import CallbackChain
from jobframe.job.configured import apply_options, validate_options
from jobframe.redact import mask_secrets
from jobframe.tracking import batches

if TYPE_CHECKING:
    from jobframe.job.base import Job


#: Set by a worker while it performs a claimed job. A retry of that job is handed over (the
#: callable returns True when it takes it) and written in the same guarded step that finishes the
#: claim, so a job is never both finished and retried, nor retried by a claim it no longer holds.
retry_handoff: ContextVar[Callable[[Job, QueueAdapter], bool] | None] = ContextVar(
    "jobframe_retry_handoff", default=None
)


def _check_supported(job: Job, adapter: QueueAdapter) -> None:
    """Refuse what this enqueue asks and ``adapter`` declares it cannot do.

    Only explicit requests are refused, as Active Job users expect: ``set(wait=)`` in the future
    and ``set(priority=)`` (not ``priority = 10`` on the class: switching an environment to
    ``inline`` must not break jobs). A retry is never refused (see `Enqueuing._enqueue`).

    Raises:
        UnsupportedError: the adapter cannot honour the request; nothing was enqueued.
    """
    capabilities = adapter.capabilities
    if job.batch_id is not None:
        batches.check(job, adapter)
    if job.chain_info is not None and not capabilities.chains:
        raise unsupported(adapter, "chains")
    if job.scheduled_at is not None and not capabilities.delay:
        if job.scheduled_at > job.now():
            raise unsupported(adapter, "delay")
        job.scheduled_at = None  # due already (wait=0): no delay is asked of the adapter
    if job._priority_requested and not capabilities.priority:
        raise unsupported(adapter, "priority")
    if not capabilities.results and job._stores_result():
        raise unsupported(adapter, "results")
    if capabilities.performs_in_caller:
        return  # inline: the job runs now, in the caller; nothing waits to be controlled
    cls = type(job)
    if cls._unique_spec is not None and not capabilities.unique:
        raise unsupported(adapter, "unique")
    worker_side = (cls._concurrency_spec is not None and not capabilities.concurrency_limits) or (
        cls._rate_spec is not None and not capabilities.rate_limits
    )
    if worker_side and (capabilities.durable or adapter.worker_backend() is not None):
        # Workers that cannot honour a limit refuse it. An adapter that runs no workers (the
        # test adapter performs jobs where a test asks) has nothing to limit: it takes the job.
        raise unsupported(
            adapter, "concurrency_limits" if cls._concurrency_spec is not None else "rate_limits"
        )
    if job._expires_in_option is not None and not capabilities.expiry:
        raise unsupported(adapter, "expiry")


def _prepare(job: Job) -> None:
    """Serialize the arguments now, so a bad one fails in the caller before anything is written;
    a job enqueued inside ``with jobframe.batch()`` joins that batch; plugins capture the
    caller's context (`jobframe.job.context`)."""
    job._check_concrete()
    batches.join(job)
    job._capture_context()  # here, not when a held job's transaction commits
    if job._serialized_arguments is None:
        job._serialized_arguments = arguments.serialize(job.args, job.kwargs)


def _freeze(job: Job) -> None:
    if job.flow is None:  # a new job; a retry keeps the flow its first enqueue computed
        job.flow = job.compute_flow()
    job.enqueued_at = job.now()
    job._payload_cache = None
    job._payload_cache = job.serialize()


def _wrap_failure(adapter: QueueAdapter, exc: Exception) -> Exception:
    """An adapter's own failure becomes an `EnqueueError`; a job's error (inline) stays itself."""
    if isinstance(exc, JobframeError) or adapter.capabilities.performs_in_caller:
        return exc
    return EnqueueError(
        f"{type(adapter).__name__} could not enqueue the job: {type(exc).__name__}: "
        f"{mask_secrets(str(exc))}"
    )


class Enqueuing:
    """``perform_later`` on the class; ``enqueue`` on an instance."""

    # Declared by `Core`; repeated so the assignments below type-check against the same types.
    scheduled_at: datetime | None
    enqueue_error: BaseException | None
    _payload_cache: dict[str, Any] | None
    #: Set by ``set(priority=)``: an explicit request, refused where priorities order nothing.
    _priority_requested: bool = False

    @classmethod
    def perform_later(cls, *args: Any, **kwargs: Any) -> Self:
        """Build the job and enqueue it. Returns the job (``successfully_enqueued`` tells).

        Raises:
            TypeError: the arguments don't fit ``perform``'s signature.
            SerializationError: an argument cannot be serialized; nothing was enqueued.
            EnqueueError: the backend refused or is unreachable; nothing was enqueued.
        """
        return cls(*args, **kwargs).enqueue()

    def enqueue(self, **options: Any) -> Self:
        """Enqueue this job with optional ``wait``/``wait_until``/``queue``/``priority``.
        Returns the job (``successfully_enqueued`` tells)."""
        job: Any = self  # every mixin's attributes, once assembled into `Job`
        apply_options(job, validate_options(options))
        job._enqueue(retrying=False)
        return self

    @classmethod
    async def aperform_later(cls, *args: Any, **kwargs: Any) -> Self:
        """`perform_later` for coroutines: ``await SendEmailJob.aperform_later(user)``.

        The job is built and its arguments serialized here, so a ``TypeError`` or
        `SerializationError` raises in the caller before anything is written; the adapter call
        then runs in a worker thread and the event loop goes on while the backend answers.
        """
        return await cls(*args, **kwargs).aenqueue()

    async def aenqueue(self, **options: Any) -> Self:
        """`enqueue` for coroutines (see `aperform_later`). The enqueue steps run in a producer
        thread in the caller's context (its context variables: `jobframe.after_commit` and
        ``jobframe_sql.enqueue_in`` apply as they do to `enqueue`), together with those of the
        other coroutines enqueueing meanwhile, whose writes share one round trip where the
        adapter can (`jobframe.job.gathering`); each caller gets its own outcome."""
        from jobframe.job import gathering

        job: Any = self
        apply_options(job, validate_options(options))
        _prepare(job)
        await gathering.enqueue(job)
        return self

    def retry_job(self: Any, wait: float = 0, queue: str | None = None, priority: int | None = None,
                  error: BaseException | None = None) -> Any:  # fmt: skip
        """Enqueue this job again after ``wait`` seconds (used by ``retry_on``)."""
        options: dict[str, Any] = {"wait": wait}
        if queue is not None:
            options["queue"] = queue
        if priority is not None:
            options["priority"] = priority
        apply_options(self, validate_options(options))
        with self._instrument("enqueue_retry", adapter=self.adapter(), wait=wait, error=error):
            return self._enqueue(retrying=True)

    def _enqueue(self: Any, retrying: bool) -> Any:
        steps = self._enqueue_steps(retrying)
        try:
            adapter = next(steps)
        except StopIteration:
            return self  # nothing to write: held for a commit, or handed to the worker
        outcome: Exception | None = None
        try:
            if self.scheduled_at is not None:
                adapter.enqueue_at(self, self.scheduled_at)
            else:
                adapter.enqueue(self)
        except Exception as exc:
            outcome = exc
        finish_steps(steps, outcome)
        return self

    def _enqueue_steps(self: Any, retrying: bool) -> Generator[QueueAdapter, None, None]:
        """`_enqueue` as steps around the adapter's write: everything before it, then one
        ``yield`` of the adapter when a write is due, then everything after it. The driver
        writes the job and resumes the steps with `finish_steps`. `enqueue` drives them one job
        at a time; `aenqueue` drives those of many coroutines' jobs at once, with one
        `QueueAdapter.enqueue_each` for all their writes: both run the same checks, callbacks,
        instrumentation and error handling."""
        _prepare(self)
        adapter = self.adapter()
        if retrying:
            # A retry is the job's own policy, not a request: on an adapter without delay (inline)
            # it runs at once, and a retry_on(priority=) is kept but not refused.
            if not adapter.capabilities.delay:
                self.scheduled_at = None
        else:
            _check_supported(self, adapter)
        self.successfully_enqueued = False
        self.enqueue_error = None
        if not retrying and not transaction_scopes.hold([self], bulk=False):
            return  # held until the application's transaction commits
        event = "enqueue_at" if self.scheduled_at is not None else "enqueue"
        try:
            try:
                with CallbackChain(self, "enqueue"), self._instrument(event, adapter=adapter):
                    _freeze(self)
                    handoff = retry_handoff.get() if retrying else None
                    try:
                        if handoff is not None and handoff(self, adapter):
                            pass  # the worker writes it with the claim's outcome, in one step
                        else:
                            yield adapter
                    except Exception as exc:
                        self.enqueue_error = _wrap_failure(adapter, exc)
                        if self.enqueue_error is exc:
                            raise
                        raise self.enqueue_error from exc
                    self.successfully_enqueued = True
            except Abort:
                return
            finally:
                self._payload_cache = None
        except DuplicateJobError as exc:
            self.enqueue_error = exc
            if self.on_duplicate() == "raise":
                raise


def finish_steps(steps: Generator[QueueAdapter, None, None], outcome: BaseException | None) -> None:
    """Resume `Enqueuing._enqueue_steps` after the write: ``outcome`` None when the adapter
    took the job, else the exception it raised (thrown in where the write was)."""
    try:
        if outcome is None:
            steps.send(None)
        else:
            steps.throw(outcome)
    except StopIteration:
        return
    raise RuntimeError("enqueue steps asked for a second write")


def enqueue_claimed(job: Job, adapter: QueueAdapter, claim: Callable[[Job], bool]) -> bool:
    """Enqueue ``job`` through ``claim`` (a `RecurringStore.claim` bound to a task and tick),
    which writes it only if its tick is not claimed yet. Arguments are serialized, enqueue
    callbacks run and the ``enqueue_recurring`` event is instrumented as for any enqueue.
    Returns whether this call enqueued the job (``successfully_enqueued`` says it too).

    Raises:
        SerializationError: an argument cannot be serialized; nothing was written.
        EnqueueError: the backend failed; nothing was written.
    """
    _prepare(job)
    job.successfully_enqueued = False
    job.enqueue_error = None
    try:
        with CallbackChain(job, "enqueue"), job._instrument("enqueue_recurring", adapter=adapter):
            _freeze(job)
            try:
                job.successfully_enqueued = claim(job)
            except Exception as exc:
                job.enqueue_error = _wrap_failure(adapter, exc)
                if job.enqueue_error is exc:
                    raise
                raise job.enqueue_error from exc
    except Abort:
        return False
    finally:
        job._payload_cache = None
    return job.successfully_enqueued


#: Batches at least this large run with the cyclic garbage collector paused (see `_gc_paused`).
GC_PAUSE_AT = 256


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large batch is built and written.

    A batch allocates a few container objects per job (payload dicts, rows), which sets off
    collections that scan the whole heap: with SQLAlchemy loaded, a 5,000-job batch triggered a
    full collection of 27 ms and 80 young ones. The objects of a batch are freed by reference
    counting when it is done, so nothing is left for the collector to find afterwards. Only a
    collector this call turned off is turned back on. Not for adapters that perform in the
    caller (inline): the jobs' own garbage must still be collected.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def perform_all_later(jobs: Iterable[Job]) -> int:
    """Enqueue many jobs with one adapter call per adapter. Returns how many were enqueued.

    Every job's arguments are serialized before anything is written. Enqueue callbacks run for
    each job; a job whose callback halts is left out (``successfully_enqueued`` stays False).
    Jobs held for a commit (`jobframe.after_commit`) are not counted.
    """
    jobs = list(jobs)
    if len(jobs) < GC_PAUSE_AT or any(
        cls.adapter().capabilities.performs_in_caller for cls in {type(job) for job in jobs}
    ):
        return _perform_all_later(jobs)
    with _gc_paused():
        return _perform_all_later(jobs)


async def aperform_all_later(jobs: Iterable[Job]) -> int:
    """`perform_all_later` for coroutines: every job's arguments are serialized here, in the
    caller, then the batch is written from a worker thread while the event loop goes on."""
    import asyncio

    jobs = list(jobs)
    for job in jobs:
        _prepare(job)
    return await asyncio.to_thread(perform_all_later, jobs)


def _perform_all_later(jobs: list[Job]) -> int:
    for job in jobs:
        _prepare(job)
    by_adapter: dict[int, tuple[QueueAdapter, list[Job]]] = {}
    for job in jobs:
        adapter = job.adapter()
        _check_supported(job, adapter)
        job.successfully_enqueued = False
        by_adapter.setdefault(id(adapter), (adapter, []))[1].append(job)
    total = 0
    for adapter, group in by_adapter.values():
        group = transaction_scopes.hold(group, bulk=True)  # those that wait for a commit are held
        if group:
            total += _enqueue_group(adapter, group)
    return total


def _enqueue_group(adapter: QueueAdapter, group: list[Job]) -> int:
    chains: list[CallbackChain] = []
    ready: list[Job] = []
    try:
        for job in group:
            chain = CallbackChain(job, "enqueue")
            try:
                chain.__enter__()
            except Abort:
                continue
            chains.append(chain)
            ready.append(job)
            _freeze(job)
        with notifications.instrument("enqueue_all", adapter=adapter, jobs=ready):
            try:
                count = adapter.enqueue_all(ready) if ready else 0
            except Exception as exc:
                raise _wrap_failure(adapter, exc) from exc
    except BaseException as exc:
        for chain in chains:
            chain.__exit__(type(exc), exc, exc.__traceback__)
        raise
    finally:
        for job in group:
            job._payload_cache = None
    for chain in chains:
        chain.__exit__(None, None, None)
    return count
