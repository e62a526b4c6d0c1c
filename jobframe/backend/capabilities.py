"""What a backend can do, declared once per adapter class and enforced by the core.

`Capabilities` replaces the old ``supports_*`` class flags. The job layer refuses, at enqueue,
what an adapter declares it cannot do (with `jobframe.UnsupportedError` naming the adapter, the
feature and an adapter that has it), and `jobframe.testing.BackendConformance` runs the tests of
every capability an adapter declares and reports the others as not applicable, by name.
A flag the core does not enforce or the suite does not check does not belong here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from jobframe.errors import UnsupportedError

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter


@dataclass(frozen=True)
class Capabilities:
    """The features of one backend. The defaults are what an adapter that declares nothing
    promises: its `QueueAdapter.enqueue_at` schedules and its queues honour priorities."""

    #: ``enqueue_at`` works: ``set(wait=)``/``wait_until=`` and delayed retries are honoured.
    delay: bool = True
    #: Ready jobs are started lowest ``priority`` first.
    priority: bool = True
    #: ``enqueue_all`` writes a whole batch in one round trip.
    bulk: bool = False
    #: An enqueue can join the application's own database transaction (``enqueue_in``).
    transactional_enqueue: bool = False
    #: ``enqueue`` performs the job in the caller (inline): its errors reach the caller as is.
    performs_in_caller: bool = False
    #: ``enqueue_raw`` stores bytes as a ready job.
    raw_payloads: bool = False
    #: Jobs outlive the process that enqueued or ran them: a worker killed with SIGKILL loses
    #: none (the reaper gives its claims back), and other processes can work the queues.
    durable: bool = False
    #: Queues can be paused and resumed.
    pause: bool = False
    #: Recurring tasks run here: `QueueAdapter.recurring` gives a `RecurringStore` that claims a
    #: tick and enqueues its job in one atomic step, so each tick is enqueued once however many
    #: schedulers run.
    recurring: bool = False
    #: ``@jobframe.unique``: the lock is taken with the enqueue, released at its ``until``
    #: point (`jobframe.backend.flow` has every duty of the flow-control capabilities).
    unique: bool = False
    #: ``@jobframe.limits_concurrency``: `WorkerBackend.fetch` blocks a job whose key is full.
    concurrency_limits: bool = False
    #: ``@jobframe.rate_limit``: `WorkerBackend.reserve` and `WorkerBackend.defer`.
    rate_limits: bool = False
    #: ``expires_in``: a job not started in time is dropped as expired (by the worker runtime).
    expiry: bool = False
    #: ``timeout``: the worker runtime stops a job that runs too long.
    timeouts: bool = False
    #: `jobframe.cancel`: `Inspector.cancel` and `WorkerBackend.cancelled`.
    cancel: bool = False
    #: ``job.status()``, ``store_result``/``job.result()``, ``self.progress()``:
    #: `QueueAdapter.results` gives a `jobframe.backend.results.ResultStore`, and
    #: `jobframe.backend.worker.Outcome.records` are written with each outcome.
    results: bool = False
    #: ``jobframe.batch(...)``: jobs counted per batch at enqueue, callbacks fired once
    #: (`jobframe.backend.results`). Requires ``results``.
    batches: bool = False
    #: ``jobframe.chain(...)``: the next link is enqueued in the same step as its predecessor's
    #: outcome, and the rest are recorded ``cancelled`` when a link ends for good, also when
    #: the backend ends it (`Inspector.cancel`, ``discard``, ``clear``, the reaper of
    #: `WorkerBackend.maintain`: records from `jobframe.tracking.chains.broken_records`, in
    #: the step that ends the link). Requires ``results``.
    chains: bool = False
    #: ``self.step(...)``: a job interrupted at a checkpoint (graceful shutdown, a time limit)
    #: is re-enqueued with its finished steps and cursor by the worker runtime, and resumes
    #: there. Requires a `WorkerBackend` (or, in process, a runtime that can stop a job).
    continuations: bool = False
    #: Run times per job class and minute (`jobframe.backend.timings`): counted by
    #: `WorkerBackend.complete` from `Outcome.runtime`, read by `Inspector.timings` (the
    #: dashboard's per-class table and chart).
    timings: bool = False

    def names(self) -> list[str]:
        """The capabilities this backend has, in declaration order."""
        return [name for name, value in asdict(self).items() if value]


#: What each refusable capability lets a user ask for, as `unsupported` words it.
FEATURES: dict[str, str] = {
    "delay": "delay jobs (set(wait=...) or set(wait_until=...))",
    "priority": "order jobs by priority (set(priority=...))",
    "raw_payloads": "store raw payloads (enqueue_raw)",
    "recurring": "run recurring tasks (@jobframe.recurring or [tool.jobframe.recurring])",
    "unique": "keep jobs unique (@jobframe.unique)",
    "concurrency_limits": "limit concurrency (@jobframe.limits_concurrency)",
    "rate_limits": "rate-limit jobs (@jobframe.rate_limit)",
    "expiry": "expire jobs (expires_in)",
    "cancel": "cancel jobs (jobframe.cancel)",
    "results": "keep job status and results (job.status(), store_result, job.result())",
    "batches": "group jobs in batches (jobframe.batch)",
    "chains": "chain jobs (jobframe.chain)",
}


#: How the message says to do without a feature, where "drop the option" does not fit.
DO_WITHOUT: dict[str, str] = {
    "recurring": "declare no recurring tasks for it",
    "unique": "remove @jobframe.unique from the job class",
    "concurrency_limits": "remove @jobframe.limits_concurrency from the job class",
    "rate_limits": "remove @jobframe.rate_limit from the job class",
    "cancel": "let the job run to its end",
    "results": "set store_result = False and track completion in your own store",
    "batches": "enqueue the jobs without jobframe.batch",
    "chains": "enqueue each job from the end of the previous one's perform",
}


def unsupported(adapter: QueueAdapter, feature: str) -> UnsupportedError:
    """The error for asking ``adapter`` for ``feature`` (a `Capabilities` field) it lacks.

    It names the adapter, what was asked, and the installed adapters that can do it (the
    ``test`` adapter aside: it only records), so the fix is in the message.
    """
    name = adapter.name or type(adapter).__name__
    able = ", ".join(f"{n!r}" for n in _adapters_with(feature))
    if able:
        head, _, last = able.rpartition(", ")
        able = f"{head} or {last}" if head else last
        fix = f"use {able}, which can, or {DO_WITHOUT.get(feature, 'drop the option')}"
    else:
        fix = f"{DO_WITHOUT.get(feature, 'drop the option')} (no installed adapter can)"
    return UnsupportedError(
        f"the {name!r} adapter cannot {FEATURES.get(feature, feature)}: {fix}.", name, feature
    )


def _adapters_with(feature: str) -> list[str]:
    """Names of the installed adapters whose class declares ``feature``. Plugin classes are
    imported to read it (only on this error path); one that cannot be imported is left out."""
    from jobframe import plugins
    from jobframe.adapter_registry import LazyFactory
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.errors import ConfigurationError

    found = []
    for name, factory in sorted(plugins.adapter_factories().items()):
        if name == "test":
            continue
        if isinstance(factory, LazyFactory):
            try:
                factory = factory.load()
            except ConfigurationError:
                continue
        if not (isinstance(factory, type) and issubclass(factory, QueueAdapter)):
            continue
        if asdict(factory.capabilities).get(feature, False):
            found.append(name)
    return found


__all__ = ["FEATURES", "Capabilities", "unsupported"]
